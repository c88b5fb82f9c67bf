package geo

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// ErrInvalidLayout is wrapped by every *ValidationError.
var ErrInvalidLayout = errors.New("invalid layout")

// makkah is the Kaaba; every coordinate of a layout must lie within
// maxDistanceFromMakkahM of it (Arafat is ~20 km away).
var makkah = Point{Lat: 21.4225, Lon: 39.8262}

const (
	maxDistanceFromMakkahM = 50_000
	gateToleranceM         = 3   // a gate must lie this close to its camp's fence
	maxFaults              = 200 // stop collecting after this many
)

// Fault is one problem in a layout.
type Fault struct {
	// Feature is the index of the feature in the GeoJSON FeatureCollection.
	// For a Layout that did not come from a file it is the index WriteGeoJSON
	// would give: areas first, then camps, then tents.
	Feature int    `json:"feature"`
	ID      string `json:"id,omitempty"`
	Problem string `json:"problem"`
}

func (f Fault) String() string {
	if f.ID != "" {
		return fmt.Sprintf("feature %d (%s): %s", f.Feature, f.ID, f.Problem)
	}
	return fmt.Sprintf("feature %d: %s", f.Feature, f.Problem)
}

// ValidationError lists every fault found (up to a bound). A loader that
// returns it returns no layout at all.
type ValidationError struct {
	Faults    []Fault
	Truncated bool // more faults exist than are listed
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid layout: %d fault", len(e.Faults))
	if len(e.Faults) != 1 {
		b.WriteString("s")
	}
	if e.Truncated {
		b.WriteString(" (list truncated)")
	}
	const show = 10
	for i, f := range e.Faults {
		if i == show {
			fmt.Fprintf(&b, "; … and %d more", len(e.Faults)-show)
			break
		}
		b.WriteString("; ")
		b.WriteString(f.String())
	}
	return b.String()
}

func (e *ValidationError) Unwrap() error { return ErrInvalidLayout }

// faults collects faults up to maxFaults.
type faults struct {
	list      []Fault
	truncated bool
}

func (fs *faults) add(feature int, id, format string, args ...any) {
	if len(fs.list) >= maxFaults {
		fs.truncated = true
		return
	}
	fs.list = append(fs.list, Fault{Feature: feature, ID: id, Problem: fmt.Sprintf(format, args...)})
}

func (fs *faults) err() error {
	if len(fs.list) == 0 {
		return nil
	}
	sort.SliceStable(fs.list, func(i, j int) bool { return fs.list[i].Feature < fs.list[j].Feature })
	return &ValidationError{Faults: fs.list, Truncated: fs.truncated}
}

// Validate checks a whole layout: every ring closed, simple, counter-clockwise
// and near Makkah; ids present and unique; camps with a site, number and at
// least one gate on the fence; tents inside their (known) camp and not
// overlapping each other; camps not overlapping each other.
func Validate(l *Layout) error {
	fs := &faults{}
	validate(l, defaultFeatureNumbers(l), fs)
	return fs.err()
}

// featureNumbers maps layout elements to feature indexes.
type featureNumbers struct{ areas, camps, tents []int }

func defaultFeatureNumbers(l *Layout) featureNumbers {
	var fn featureNumbers
	n := 0
	for range l.Areas {
		fn.areas = append(fn.areas, n)
		n++
	}
	for range l.Camps {
		fn.camps = append(fn.camps, n)
		n++
	}
	for range l.Tents {
		fn.tents = append(fn.tents, n)
		n++
	}
	return fn
}

func validate(l *Layout, fn featureNumbers, fs *faults) {
	f := newFrame(makkah)
	seen := map[string]int{}
	checkID := func(feature int, id string) {
		if id == "" {
			fs.add(feature, "", "missing id")
			return
		}
		if prev, dup := seen[id]; dup {
			fs.add(feature, id, "duplicate id %q (also feature %d)", id, prev)
			return
		}
		seen[id] = feature
	}

	for i := range l.Areas {
		a := &l.Areas[i]
		n := fn.areas[i]
		checkID(n, a.ID)
		if a.Site != SiteMina && a.Site != SiteArafat && a.Site != SiteMuzdalifah {
			fs.add(n, a.ID, "site %q: want mina, arafat or muzdalifah", a.Site)
		}
		checkRing(f, a.Polygon, n, a.ID, fs)
	}

	camps := make(map[string]int, len(l.Camps)) // id → index, only for well-formed camps
	campXY := make([]ringXY, len(l.Camps))
	for i := range l.Camps {
		c := &l.Camps[i]
		n := fn.camps[i]
		checkID(n, c.ID)
		switch c.Site {
		case SiteMina:
			if c.Zone < 1 || c.Zone > 9 {
				fs.add(n, c.ID, "zone %d: Mina zones are 1–7 (8–9 Muzdalifah)", c.Zone)
			}
		case SiteArafat:
			if c.Zone < 0 {
				fs.add(n, c.ID, "zone %d is negative", c.Zone)
			}
		default:
			fs.add(n, c.ID, "camp site %q: want mina or arafat", c.Site)
		}
		if c.Number < 1 {
			fs.add(n, c.ID, "camp number %d: want a positive number", c.Number)
		}
		if c.Category != "" && (len(c.Category) != 1 || c.Category[0] < 'A' || c.Category[0] > 'D') {
			fs.add(n, c.ID, "category %q: want A, B, C or D", c.Category)
		}
		if c.Capacity < 0 {
			fs.add(n, c.ID, "capacity %d is negative", c.Capacity)
		}
		r, ok := checkRing(f, c.Polygon, n, c.ID, fs)
		if len(c.Gates) == 0 {
			fs.add(n, c.ID, "camp has no gate: a fenced camp needs at least one")
			ok = false
		}
		for j, g := range c.Gates {
			if !finite(g) {
				fs.add(n, c.ID, "gate %d is not a finite coordinate", j+1)
				ok = false
				continue
			}
			if r != nil {
				if d := r.edgeDist(f.xy(g)); d > gateToleranceM {
					fs.add(n, c.ID, "gate %d (%.7f, %.7f) is %.1f m from the fence (max %d m)", j+1, g.Lat, g.Lon, d, gateToleranceM)
					ok = false
				}
			}
		}
		if ok && c.ID != "" {
			camps[c.ID] = i
			campXY[i] = r
		}
	}
	overlaps(campXY, fn.camps, func(i int) string { return l.Camps[i].ID }, "camp", fs)

	allCamps := make(map[string]bool, len(l.Camps))
	for i := range l.Camps {
		allCamps[l.Camps[i].ID] = true
	}
	tentXY := make([]ringXY, len(l.Tents))
	byCamp := map[string][]int{}
	for i := range l.Tents {
		t := &l.Tents[i]
		n := fn.tents[i]
		checkID(n, t.ID)
		if t.Capacity < 0 {
			fs.add(n, t.ID, "capacity %d is negative", t.Capacity)
		}
		if t.Number < 0 {
			fs.add(n, t.ID, "tent number %d is negative", t.Number)
		}
		r, ok := checkRing(f, t.Polygon, n, t.ID, fs)
		if t.Camp == "" {
			fs.add(n, t.ID, "tent names no camp")
			continue
		}
		ci, usable := camps[t.Camp]
		if !usable {
			if !allCamps[t.Camp] {
				fs.add(n, t.ID, "unknown camp %q", t.Camp)
			} // else the camp has its own faults; its tents are not checked against it
			continue
		}
		if !ok {
			continue
		}
		if !ringInside(r, campXY[ci]) {
			fs.add(n, t.ID, "tent lies outside its camp %s", t.Camp)
			continue
		}
		tentXY[i] = r
		byCamp[t.Camp] = append(byCamp[t.Camp], i)
	}
	for _, idx := range byCamp {
		rs := make([]ringXY, len(idx))
		ns := make([]int, len(idx))
		for k, i := range idx {
			rs[k], ns[k] = tentXY[i], fn.tents[i]
		}
		overlaps(rs, ns, func(k int) string { return l.Tents[idx[k]].ID }, "tent", fs)
	}
}

func finite(p Point) bool {
	return !math.IsNaN(p.Lat) && !math.IsNaN(p.Lon) && !math.IsInf(p.Lat, 0) && !math.IsInf(p.Lon, 0)
}

// checkRing reports the ring's faults and returns it in metres when it is
// usable for geometric tests.
func checkRing(f frame, r Ring, feature int, id string, fs *faults) (ringXY, bool) {
	if len(r) < 4 {
		fs.add(feature, id, "ring has %d points; a closed ring needs at least 4", len(r))
		return nil, false
	}
	for j, p := range r {
		if !finite(p) {
			fs.add(feature, id, "coordinate %d is not a finite number", j)
			return nil, false
		}
		if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 {
			fs.add(feature, id, "coordinate %d (lat %g, lon %g) is outside WGS84 range (are lon and lat swapped?)", j, p.Lat, p.Lon)
			return nil, false
		}
		if d := DistanceM(makkah, p); d > maxDistanceFromMakkahM {
			fs.add(feature, id, "coordinate %d (lat %g, lon %g) is %.0f km from Makkah (max %d km; are lon and lat swapped?)",
				j, p.Lat, p.Lon, d/1000, maxDistanceFromMakkahM/1000)
			return nil, false
		}
	}
	if r[0] != r[len(r)-1] {
		fs.add(feature, id, "ring is not closed: the last point must repeat the first")
		return nil, false
	}
	xy := make(ringXY, len(r))
	for j, p := range r {
		xy[j] = f.xy(p)
	}
	for j := 0; j+1 < len(xy); j++ {
		if xy[j] == xy[j+1] {
			fs.add(feature, id, "ring repeats point %d", j+1)
			return nil, false
		}
	}
	if a, b := xy.selfIntersection(); a >= 0 {
		fs.add(feature, id, "ring intersects itself (edges %d and %d)", a, b)
		return nil, false
	}
	switch area := r.signedArea2(); {
	case area == 0:
		fs.add(feature, id, "ring has no area")
		return nil, false
	case area < 0:
		fs.add(feature, id, "ring winds clockwise; RFC 7946 outer rings run counter-clockwise")
		return nil, false
	}
	return xy, true
}

// ringInside reports whether inner lies within outer (touching allowed).
func ringInside(inner, outer ringXY) bool {
	for _, p := range inner[:len(inner)-1] {
		if !outer.contains(p) && outer.edgeDist(p) > 1e-3 {
			return false
		}
	}
	for i := 0; i+1 < len(inner); i++ {
		if outer.crossesSegment(inner[i], inner[i+1]) {
			return false
		}
	}
	return true
}

// overlaps reports every pair of rings whose interiors overlap, sweeping
// along x so that only rings with overlapping boxes are compared.
func overlaps(rs []ringXY, features []int, id func(int) string, kind string, fs *faults) {
	type item struct {
		i int
		b boxXY
	}
	var items []item
	for i, r := range rs {
		if r != nil {
			items = append(items, item{i, r.box()})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].b.min.X < items[b].b.min.X })
	for a := range items {
		for b := a + 1; b < len(items) && items[b].b.min.X <= items[a].b.max.X; b++ {
			if !items[a].b.intersects(items[b].b) {
				continue
			}
			i, j := items[a].i, items[b].i
			if interiorsOverlap(rs[i], rs[j]) {
				if features[i] > features[j] {
					i, j = j, i
				}
				fs.add(features[j], id(j), "%s overlaps %s %s (feature %d)", kind, kind, id(i), features[i])
			}
		}
	}
}
