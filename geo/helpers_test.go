package geo

import (
	"sync"
	"testing"
)

// The default layout and its index are built once per test binary: they are
// read-only, and building the index takes a moment under the race detector.
var (
	fixtureOnce sync.Once
	fixtureIx   *Index
	fixtureErr  error
)

func testIndex(t testing.TB) *Index {
	t.Helper()
	fixtureOnce.Do(func() { fixtureIx, fixtureErr = NewIndex(Default()) })
	if fixtureErr != nil {
		t.Fatalf("NewIndex(Default()): %v", fixtureErr)
	}
	return fixtureIx
}

// smallLayout is two neighbouring Mina camps with their tents and the areas
// of the default layout: small enough to mutate feature by feature.
func smallLayout(t testing.TB) *Layout {
	t.Helper()
	d := Default()
	var camps []Camp
	var tents []Tent
	for _, id := range []string{"mina-001", "mina-002"} {
		c, ok := d.Camp(id)
		if !ok {
			t.Fatalf("default layout has no %s", id)
		}
		camps = append(camps, *c)
		for _, tt := range d.TentsOf(id)[:6] {
			tents = append(tents, *tt)
		}
	}
	l, err := NewLayout(append([]Area(nil), d.Areas...), camps, tents)
	if err != nil {
		t.Fatalf("NewLayout: %v", err)
	}
	return l
}

// mid is the point halfway between a and b.
func mid(a, b Point) Point { return Point{Lat: (a.Lat + b.Lat) / 2, Lon: (a.Lon + b.Lon) / 2} }

var (
	boundsOnce sync.Once
	boundsOf   *Layout
	boundsAll  []bound
)

// tentBounds returns the degree boxes of l's tents (cached for the fixture).
func tentBounds(l *Layout) []bound {
	compute := func() []bound {
		bs := make([]bound, len(l.Tents))
		for i := range l.Tents {
			bs[i] = l.Tents[i].Polygon.bound()
		}
		return bs
	}
	boundsOnce.Do(func() { boundsOf, boundsAll = l, compute() })
	if boundsOf == l {
		return boundsAll
	}
	return compute()
}

var (
	campBoundsOnce sync.Once
	campBoundsOf   *Layout
	campBoundsAll  map[string]bound
)

// campBounds returns the degree boxes of l's camps by id (cached for the fixture).
func campBounds(l *Layout) map[string]bound {
	compute := func() map[string]bound {
		m := make(map[string]bound, len(l.Camps))
		for _, c := range l.Camps {
			m[c.ID] = c.Polygon.bound()
		}
		return m
	}
	campBoundsOnce.Do(func() { campBoundsOf, campBoundsAll = l, compute() })
	if campBoundsOf == l {
		return campBoundsAll
	}
	return compute()
}

// locateByScan is Locate by the exhaustive path (every camp, then the tents
// of the camps in reach), bypassing the grid.
func (ix *Index) locateByScan(p Point, accM float64) Location {
	var loc Location
	loc.AccuracyM = accM
	var s locState
	s.init(ix.f.xy(p), accM)
	ix.scanAll(&s)
	ix.fill(&loc, &s)
	return loc
}
