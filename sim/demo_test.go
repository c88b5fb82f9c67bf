package sim

import (
	"slices"
	"testing"

	"dalil/geo"
	"dalil/tracking"
)

// A demo registry of 5,000 fills only the first camps by the Jamarat; spread,
// its groups cover Mina, each group in one camp, men and women in separate
// tents of that camp, and the same seed gives the same spread.
func TestSpreadOverMinaCoversMina(t *testing.T) {
	l := geo.Default()
	ps, gs := tracking.GenerateRegistry(l, 5000, 7)
	campsOf := func(ps []tracking.Pilgrim) map[string]int {
		m := map[string]int{}
		for _, p := range ps {
			if p.Camp != "" {
				m[p.Camp]++
			}
		}
		return m
	}
	before := campsOf(ps)
	if len(before) > 5 {
		t.Logf("the generator already spreads: %d camps", len(before))
	}
	spread := slices.Clone(ps)
	SpreadOverMina(l, spread, 1)

	var mina []string
	zones := map[int]bool{}
	for _, c := range l.Camps {
		if c.Site == geo.SiteMina {
			mina = append(mina, c.ID)
		}
	}
	after := campsOf(spread)
	groups := map[string]bool{}
	for _, p := range spread {
		if p.Group != "" {
			groups[p.Group] = true
		}
	}
	want := min(len(groups), len(mina)) * 9 / 10
	if len(after) < want {
		t.Fatalf("spread over %d camps (before %d), want at least %d of Mina's %d", len(after), len(before), want, len(mina))
	}
	for id := range after {
		c, ok := l.Camp(id)
		if !ok || c.Site != geo.SiteMina {
			t.Fatalf("pilgrims put in %q, not a Mina camp", id)
		}
		zones[c.Zone] = true
	}
	if len(zones) < 3 {
		t.Errorf("camps in %d zones of Mina, want the whole of it", len(zones))
	}

	campOfGroup := map[string]string{}
	genderOfTent := map[string]string{}
	for i, p := range spread {
		if p.Group == "" {
			if p.Tent != ps[i].Tent {
				t.Errorf("%s has no group but moved", p.PID)
			}
			continue
		}
		if c, ok := campOfGroup[p.Group]; ok && c != p.Camp {
			t.Errorf("group %s split over camps %s and %s", p.Group, c, p.Camp)
		}
		campOfGroup[p.Group] = p.Camp
		tent, ok := l.Tent(p.Tent)
		if !ok || tent.Camp != p.Camp {
			t.Fatalf("%s: tent %q not in camp %q", p.PID, p.Tent, p.Camp)
		}
		if g, ok := genderOfTent[p.Tent]; ok && g != p.Gender {
			t.Errorf("tent %s holds men and women", p.Tent)
		}
		genderOfTent[p.Tent] = p.Gender
	}
	if len(gs) == 0 {
		t.Fatal("no groups")
	}

	again := slices.Clone(ps)
	SpreadOverMina(l, again, 1)
	for i := range again {
		if again[i].Tent != spread[i].Tent {
			t.Fatalf("same seed, different tent for %s: %s vs %s", again[i].PID, again[i].Tent, spread[i].Tent)
		}
	}
}
