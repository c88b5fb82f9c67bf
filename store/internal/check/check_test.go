package check

import (
	"strings"
	"testing"
	"time"

	"dalil"
)

func TestName(t *testing.T) {
	for _, ok := range []string{"a", "BD-000123-phone", "মিনা", strings.Repeat("x", MaxNameLen)} {
		if err := Name("device", ok); err != nil {
			t.Errorf("Name(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a\x00b", "\xff", strings.Repeat("x", MaxNameLen+1)} {
		err := Name("device", bad)
		if err == nil {
			t.Errorf("Name(%q) accepted", bad)
		} else if !strings.Contains(err.Error(), "device") {
			t.Errorf("Name(%q) error %q does not name the field", bad, err)
		}
	}
}

func TestPositionsNamesTheIndex(t *testing.T) {
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	ps := []dalil.Position{{Device: "a", Time: at}, {Device: "b", Time: at}, {Device: "", Time: at}}
	err := Positions(ps)
	if err == nil || !strings.Contains(err.Error(), "position 2") {
		t.Fatalf("Positions: %v, want an error naming position 2", err)
	}
	ps[2] = dalil.Position{Device: "c"} // zero time
	if err := Positions(ps); err == nil || !strings.Contains(err.Error(), "position 2") {
		t.Fatalf("zero time: %v, want an error naming position 2", err)
	}
	ps[2].Time = at
	if err := Positions(ps); err != nil {
		t.Fatal(err)
	}
}

func TestTimeTruncatesToMicroseconds(t *testing.T) {
	at := time.Date(2026, 5, 26, 8, 0, 0, 1999, time.FixedZone("AST", 3*3600))
	got := Time(at)
	if !got.Equal(time.Date(2026, 5, 26, 5, 0, 0, 1000, time.UTC)) || got.Location() != time.UTC {
		t.Fatalf("Time(%v) = %v", at, got)
	}
}

func TestClamp(t *testing.T) {
	if got := Clamp(time.Time{}); got.Year() != MinYear {
		t.Errorf("Clamp(zero) = %v", got)
	}
	if got := Clamp(time.Date(200000, 1, 1, 0, 0, 0, 0, time.UTC)); got.Year() != MaxYear+1 {
		t.Errorf("Clamp(year 200000) = %v", got)
	}
	at := time.Date(2026, 5, 26, 8, 0, 0, 1500, time.UTC)
	if got := Clamp(at); !got.Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("Clamp(%v) = %v", at, got)
	}
}

func TestScanFrom(t *testing.T) {
	for _, from := range []string{"", "a", "00000000000000000001-000000"} {
		if err := ScanFrom("audit", from); err != nil {
			t.Errorf("ScanFrom(audit, %q): %v", from, err)
		}
	}
	for _, bad := range [][2]string{{"", ""}, {"audit", "a\x00"}, {"audit", "\xff"}, {"audit", strings.Repeat("x", MaxNameLen+1)}} {
		if err := ScanFrom(bad[0], bad[1]); err == nil {
			t.Errorf("ScanFrom(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
