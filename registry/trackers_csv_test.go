package registry

import (
	"context"
	"errors"
	"strings"
	"testing"

	"dalil"
	"dalil/store/memstore"
)

// imei makes a valid 15-digit IMEI from a 14-digit body.
func imei(body string) string { return body + string(luhnCheckDigit([]byte(body))) }

func TestReadTrackersCSV(t *testing.T) {
	a, b := imei("35620910000001"), imei("35620910000002")
	rows, err := ReadTrackersCSV(strings.NewReader("kind,imei,pilgrim,bag\n," + a + ",P1,\nluggage-tag," + b + ",,bg 7\n\n0123456789,P2,,\n"))
	if err == nil {
		t.Fatalf("want an error for the misplaced row, got %+v", rows)
	}
	rows, err = ReadTrackersCSV(strings.NewReader("imei,pilgrim,bag,kind\n" + a + ",P1,,\n" + b + ",,bg 7,\n0123456789,P2,,wristband\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []TrackerRow{
		{Line: 2, IMEI: a, Pilgrim: "P1", Kind: dalil.DeviceWristband},
		{Line: 3, IMEI: b, Bag: "BG7", Kind: dalil.DeviceLuggageTag},
		{Line: 4, IMEI: "0123456789", Pilgrim: "P2", Kind: dalil.DeviceWristband},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}

// Every bad row is reported with its line and column, and nothing is
// returned to import.
func TestReadTrackersCSVErrors(t *testing.T) {
	good := imei("86112203000017")
	bad := good[:14] + string('0'+(good[14]-'0'+1)%10) // wrong check digit
	in := "imei,pilgrim,bag,kind\n" +
		good + ",P1,,\n" + // 2: fine
		bad + ",P2,,\n" + // 3: check digit
		good + ",P3,,\n" + // 4: duplicate of line 2
		"12AB,P4,,\n" + // 5: not digits
		imei("86112203000025") + ",,,\n" + // 6: neither pilgrim nor bag
		imei("86112203000033") + ",P5,B1,\n" + // 7: both
		imei("86112203000041") + ",P6,,satellite\n" + // 8: kind
		imei("86112203000058") + ",,B2,\n" + // 9: fine
		imei("86112203000066") + ",,b-2,\n" // 10: second tracker for bag B2
	rows, err := ReadTrackersCSV(strings.NewReader(in))
	if err == nil || rows != nil {
		t.Fatalf("rows %v err %v", rows, err)
	}
	for _, want := range []string{
		"line 3, column imei: IMEI " + bad + ": the check digit is wrong",
		"line 4, column imei: IMEI " + good + " is also on line 2",
		"line 5, column imei: IMEI \"12AB\": digits only",
		"line 6, column pilgrim: give exactly one of pilgrim and bag",
		"line 7, column pilgrim: give exactly one",
		"line 8, column kind: kind \"satellite\": a hardware tracker is a wristband or a luggage-tag",
		"line 10, column bag: bag B2 already gets a tracker on line 9",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "line 1: empty file"},
		{"imei,owner\n", "line 1, column owner: unknown column"},
		{"pilgrim,bag\n", "line 1, column imei: missing column"},
		{"imei,kind\n", "line 1, column pilgrim: missing column"},
		{"imei,pilgrim\n", "line 2: no trackers"},
		{"imei,pilgrim\n\"unterminated\n", "line 2"},
	} {
		if _, err := ReadTrackersCSV(strings.NewReader(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

// PutDevices binds many devices in two store batches and rebinds a device
// that moves from one pilgrim to another; a missing pilgrim writes nothing.
func TestRegistryPutDevices(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	r := NewRegistry()
	ps := []Pilgrim{{PID: "P1", NameEN: "A"}, {PID: "P2", NameEN: "B", Devices: []string{"W1"}, DeviceKinds: []dalil.DeviceKind{dalil.DeviceWristband}}}
	if err := r.Import(ctx, st, ps, nil); err != nil {
		t.Fatal(err)
	}
	err := r.PutDevices(ctx, st, []dalil.Device{{ID: "W2", Kind: dalil.DeviceWristband, Pilgrim: "P1"}, {ID: "W3", Kind: dalil.DeviceWristband, Pilgrim: "nobody"}})
	if !errors.Is(err, dalil.ErrNotFound) {
		t.Fatalf("missing pilgrim: %v", err)
	}
	if _, ok := r.Device("W2"); ok {
		t.Fatal("W2 registered although the import failed")
	}
	err = r.PutDevices(ctx, st, []dalil.Device{
		{ID: "W1", Kind: dalil.DeviceWristband, Pilgrim: "P1"}, // moves from P2
		{ID: "W2", Kind: dalil.DeviceWristband, Pilgrim: "P1"},
		{ID: "T1", Kind: dalil.DeviceLuggageTag, Luggage: "BG1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(r *Registry) {
		t.Helper()
		if d, ok := r.Device("W1"); !ok || d.Pilgrim != "P1" {
			t.Errorf("W1 = %+v", d)
		}
		if d, ok := r.Device("T1"); !ok || d.Luggage != "BG1" {
			t.Errorf("T1 = %+v", d)
		}
		if p, _ := r.Pilgrim("P1"); strings.Join(p.Devices, ",") != "W1,W2" {
			t.Errorf("P1 devices %v", p.Devices)
		}
		if p, _ := r.Pilgrim("P2"); len(p.Devices) != 0 {
			t.Errorf("P2 devices %v", p.Devices)
		}
	}
	check(r)
	r2, err := LoadRegistry(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	check(r2)
}

// FuzzReadTrackersCSV: any input either yields rows that each bind a valid
// IMEI to exactly one of a pilgrim and a bag with a known kind, or an error
// — never a panic, never a half-checked row.
func FuzzReadTrackersCSV(f *testing.F) {
	f.Add("imei,pilgrim,bag,kind\n" + imei("35620910000001") + ",P1,,\n" + imei("35620910000002") + ",,bg 7,luggage-tag\n")
	f.Add("kind,bag,imei\nwristband,B1,0123456789\n")
	f.Add("imei,pilgrim\n\"1234567890\",\"P,1\"\n\n")
	f.Add("\ufeffIMEI,Pilgrim\n356209100000014,a1\n356209100000014,a2\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadTrackersCSV(strings.NewReader(in))
		if err != nil {
			if rows != nil {
				t.Fatal("rows with an error")
			}
			return
		}
		seen := map[string]bool{}
		for _, r := range rows {
			if CheckIMEI(r.IMEI) != nil || seen[r.IMEI] || (r.Pilgrim == "") == (r.Bag == "") || (r.Kind != dalil.DeviceWristband && r.Kind != dalil.DeviceLuggageTag) || r.Line < 2 {
				t.Fatalf("bad row %+v", r)
			}
			seen[r.IMEI] = true
		}
	})
}
