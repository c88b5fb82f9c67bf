package registry

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"dalil"
)

// Demo device ids are unique, look like real ids, and cannot be enumerated:
// knowing some ids says nothing about the others.
func TestGenerateRegistryDeviceIDs(t *testing.T) {
	ps, _ := GenerateRegistry(nil, 20_000, 11)
	imeiRE := regexp.MustCompile(`^(35|86)\d{13}$`)
	bandRE := regexp.MustCompile(`^WB[0-9A-HJKMNP-TV-Z]{10}$`)
	seen := make(map[string]string)
	var phones, bands []uint64
	for i := range ps {
		p := &ps[i]
		for j, id := range p.Devices {
			if other, dup := seen[id]; dup {
				t.Fatalf("device %s given to %s and %s", id, other, p.PID)
			}
			seen[id] = p.PID
			switch p.DeviceKinds[j] {
			case dalil.DevicePhone:
				if !imeiRE.MatchString(id) {
					t.Fatalf("%s phone id %q is not a 15-digit IMEI-like number", p.PID, id)
				}
				if !luhnValid(id) {
					t.Fatalf("%s phone id %q fails the IMEI (Luhn) check", p.PID, id)
				}
				n, _ := strconv.ParseUint(id[:14], 10, 64)
				phones = append(phones, n)
			case dalil.DeviceWristband:
				if !bandRE.MatchString(id) {
					t.Fatalf("%s wristband id %q", p.PID, id)
				}
				var n uint64
				for _, c := range id[2:] {
					n = n*32 + uint64(strings.IndexRune(wristbandAlphabet, c))
				}
				bands = append(bands, n)
			default:
				t.Fatalf("%s has a device of kind %q", p.PID, p.DeviceKinds[j])
			}
		}
	}
	if len(phones) < 10_000 || len(bands) < 5_000 {
		t.Fatalf("%d phones and %d wristbands among %d pilgrims", len(phones), len(bands), len(ps))
	}
	// Ids made by any arithmetic rule (a counter, i*k+c mod m) have only a
	// handful of distinct gaps between neighbours once sorted (the three-gap
	// theorem); random ids have nearly all gaps different.
	for _, c := range []struct {
		kind string
		ids  []uint64
	}{{"phone", phones}, {"wristband", bands}} {
		if d := distinctGaps(c.ids); d < len(c.ids)*9/10 {
			t.Errorf("%s ids: only %d distinct gaps among %d sorted ids: they follow a pattern", c.kind, d, len(c.ids))
		}
	}

	// Another seed gives other ids.
	other, _ := GenerateRegistry(nil, 2_000, 12)
	shared := 0
	for i := range other {
		for _, id := range other[i].Devices {
			if _, ok := seen[id]; ok {
				shared++
			}
		}
	}
	if shared > 0 {
		t.Errorf("seeds 11 and 12 share %d device ids", shared)
	}
}

// The pattern check above must catch the ids the generator used to make.
func TestDistinctGapsCatchesSequences(t *testing.T) {
	var ids []uint64
	for i := range uint64(5000) {
		ids = append(ids, (i*999_983+4_242_424)%10_000_000_000_000)
	}
	if d := distinctGaps(ids); d > 3 {
		t.Fatalf("%d distinct gaps in a modular sequence, want ≤ 3", d)
	}
}

func distinctGaps(ids []uint64) int {
	s := slices.Clone(ids)
	slices.Sort(s)
	gaps := make(map[uint64]bool)
	for i := 1; i < len(s); i++ {
		gaps[s[i]-s[i-1]] = true
	}
	return len(gaps)
}

func luhnValid(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestLuhnCheckDigit(t *testing.T) {
	// Published valid IMEIs.
	for _, imei := range []string{"490154203237518", "356938035643809", "352099001761481"} {
		if got := luhnCheckDigit([]byte(imei[:14])); got != imei[14] {
			t.Errorf("check digit of %s: %c, want %c", imei[:14], got, imei[14])
		}
		if !luhnValid(imei) {
			t.Errorf("luhnValid(%s) = false", imei)
		}
	}
}

// A drawn id that is already taken is drawn again.
func TestUniqueDeviceIDRedraws(t *testing.T) {
	g := &registryGen{deviceIDs: map[string]struct{}{}}
	draws := []string{"A", "A", "A", "B"}
	next := func() string { id := draws[0]; draws = draws[1:]; return id }
	if id := g.uniqueDeviceID(next); id != "A" {
		t.Fatalf("first id %q", id)
	}
	if id := g.uniqueDeviceID(next); id != "B" {
		t.Fatalf("second id %q, want the redrawn B", id)
	}
}
