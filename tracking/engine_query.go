package tracking

import (
	"math"
	"slices"

	"github.com/uber/h3-go/v4"

	"dalil/geo"
)

// Nearby is a live state with its distance from the query point.
type Nearby struct {
	LiveState
	DistanceM float64 `json:"distance_m"`
}

// Queries answer per subject: a pilgrim appears once, at their best
// position; a luggage tag or unregistered device appears on its own. Bulk
// answers carry a Location without tent candidates (Device and Pilgrim
// recompute them). They include stale positions; IsStale tells them apart.

// Device returns a device's newest live state, with full tent candidates.
func (e *Engine) Device(id string) (LiveState, bool) {
	e.maybeReconcile()
	d, sh := e.readLocked(id)
	ok := d != nil
	var s LiveState
	var f fix
	var tr geo.Track
	var pr geo.Prior
	var use bool
	if ok {
		d.liveState(&s)
		f, tr, pr, use = d.fix, d.track, d.subj.prior, d.usesPosterior()
		sh.mu.RUnlock()
	}
	if ok && e.loc != nil {
		s.Location = e.loc.Locate(f.lat, f.lon, float64(f.acc))
		e.estimate(&s.Location, &tr, pr, f.acc, use)
	}
	return s, ok
}

// Pilgrim returns a pilgrim's best live position over their phones and
// wristbands (see subject.pickBest for the rule), with full tent candidates.
func (e *Engine) Pilgrim(pid string) (LiveState, bool) {
	e.maybeReconcile()
	key := subjectKey{id: pid}
	sh := e.shardOf(key)
	sh.mu.RLock()
	sub, ok := sh.subjects[key]
	var s LiveState
	var f fix
	var tr geo.Track
	var pr geo.Prior
	var use bool
	if ok && sub.best != nil {
		sub.best.liveState(&s)
		f, tr, pr, use = sub.best.fix, sub.best.track, sub.prior, sub.best.usesPosterior()
	} else {
		ok = false
	}
	sh.mu.RUnlock()
	if ok && e.loc != nil {
		s.Location = e.loc.Locate(f.lat, f.lon, float64(f.acc))
		e.estimate(&s.Location, &tr, pr, f.acc, use)
	}
	return s, ok
}

const (
	earthRadiusM = 6371008.8
	degToRad     = math.Pi / 180
	mPerDegLat   = earthRadiusM * degToRad
)

// nearHeap keeps the k nearest candidates: a max-heap on squared distance
// over indexes into a state store, so that replacing the farthest costs one
// LiveState copy and no allocation.
type nearHeap struct {
	k     int
	d2    []float64
	idx   []int
	store []LiveState
}

func (h *nearHeap) full() bool { return h.k > 0 && len(h.idx) == h.k }

// worst is the largest kept squared distance (only meaningful when full).
func (h *nearHeap) worst() float64 { return h.d2[0] }

func (h *nearHeap) push(d2 float64, fill func(*LiveState)) {
	if !h.full() {
		h.store = append(h.store, LiveState{})
		fill(&h.store[len(h.store)-1])
		h.d2 = append(h.d2, d2)
		h.idx = append(h.idx, len(h.store)-1)
		h.up(len(h.d2) - 1)
		return
	}
	fill(&h.store[h.idx[0]])
	h.d2[0] = d2
	h.down(0)
}

func (h *nearHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h.d2[p] >= h.d2[i] {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *nearHeap) down(i int) {
	n := len(h.d2)
	for {
		l, m := 2*i+1, i
		if l < n && h.d2[l] > h.d2[m] {
			m = l
		}
		if r := l + 1; r < n && h.d2[r] > h.d2[m] {
			m = r
		}
		if m == i {
			return
		}
		h.swap(i, m)
		i = m
	}
}

func (h *nearHeap) swap(i, j int) {
	h.d2[i], h.d2[j] = h.d2[j], h.d2[i]
	h.idx[i], h.idx[j] = h.idx[j], h.idx[i]
}

// Nearby returns who is within radiusM metres of a point, nearest first, at
// most limit (0 = all). Distances use an equirectangular approximation,
// exact to well under a metre at these ranges.
func (e *Engine) Nearby(lat, lon, radiusM float64, limit int) []Nearby {
	if !(radiusM > 0) || math.IsNaN(lat) || math.IsNaN(lon) {
		return nil
	}
	e.maybeReconcile()
	cosLat := math.Cos(lat * degToRad)
	dLat := radiusM / mPerDegLat
	dLon := radiusM / (mPerDegLat * math.Max(cosLat, 1e-6))
	r2 := radiusM * radiusM
	h := nearHeap{k: limit}
	for _, sh := range e.shards {
		sh.mu.RLock()
		e.eachInBox(sh, lat-dLat, lon-dLon, lat+dLat, lon+dLon, func(s *subject) {
			f := &s.best.fix
			dy := (f.lat - lat) * mPerDegLat
			dx := (f.lon - lon) * mPerDegLat * cosLat
			d2 := dx*dx + dy*dy
			if d2 > r2 || (h.full() && d2 >= h.worst()) {
				return
			}
			h.push(d2, s.best.liveState)
		})
		sh.mu.RUnlock()
	}
	out := make([]Nearby, len(h.idx))
	order := make([]int, len(h.idx))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmpFloat(h.d2[a], h.d2[b]); c != 0 {
			return c
		}
		return cmpString(h.store[h.idx[a]].Device, h.store[h.idx[b]].Device)
	})
	for i, o := range order {
		out[i] = Nearby{LiveState: h.store[h.idx[o]], DistanceM: math.Sqrt(h.d2[o])}
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// eachInBox calls fn for every subject of a locked shard whose grid cell
// overlaps the box; fn must check the exact position. A box covering more
// cells than the shard has occupied ones walks the occupied cells instead.
func (e *Engine) eachInBox(sh *engineShard, minLat, minLon, maxLat, maxLon float64, fn func(*subject)) {
	r0, r1 := int32(math.Floor(minLat*e.invDeg)), int32(math.Floor(maxLat*e.invDeg))
	c0, c1 := int32(math.Floor(minLon*e.invDeg)), int32(math.Floor(maxLon*e.invDeg))
	cells := (int64(r1) - int64(r0) + 1) * (int64(c1) - int64(c0) + 1)
	if cells > int64(len(sh.grid)) {
		for k, b := range sh.grid {
			row, col := int32(uint32(k>>32)), int32(uint32(k))
			if row < r0 || row > r1 || col < c0 || col > c1 {
				continue
			}
			for _, s := range b.items {
				fn(s)
			}
		}
		return
	}
	for row := r0; row <= r1; row++ {
		for col := c0; col <= c1; col++ {
			if b := sh.grid[packCell(row, col)]; b != nil {
				for _, s := range b.items {
					fn(s)
				}
			}
		}
	}
}

// InBBox returns who is inside a box, at most limit (0 = all), in no
// particular order.
func (e *Engine) InBBox(minLon, minLat, maxLon, maxLat float64, limit int) []LiveState {
	if !(minLat <= maxLat && minLon <= maxLon) {
		return nil
	}
	e.maybeReconcile()
	var out []LiveState
	for _, sh := range e.shards {
		sh.mu.RLock()
		e.eachInBox(sh, minLat, minLon, maxLat, maxLon, func(s *subject) {
			if limit > 0 && len(out) >= limit {
				return
			}
			f := &s.best.fix
			if f.lat < minLat || f.lat > maxLat || f.lon < minLon || f.lon > maxLon {
				return
			}
			out = append(out, LiveState{})
			s.best.liveState(&out[len(out)-1])
		})
		sh.mu.RUnlock()
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}

// InCamp returns who is in a camp now (their best fix lies in it), sorted
// by pilgrim then device.
func (e *Engine) InCamp(campID string) []LiveState {
	return e.inCamp(campID, "")
}

// InTent returns who is in a tent now (the tent most likely to contain their
// best fix), sorted by pilgrim then device.
func (e *Engine) InTent(tentID string) []LiveState {
	if tentID == "" {
		return nil
	}
	return e.inCamp(e.rules.campOf(tentID), tentID)
}

// CampCount returns how many are in a camp now (len(InCamp) without
// copying their states), for occupancy figures over many camps.
func (e *Engine) CampCount(campID string) int {
	e.maybeReconcile()
	n := 0
	for _, sh := range e.shards {
		sh.mu.RLock()
		if b := sh.camps[campID]; b != nil {
			n += len(b.items)
		}
		sh.mu.RUnlock()
	}
	return n
}

func (e *Engine) inCamp(campID, tentID string) []LiveState {
	if campID == "" {
		return nil
	}
	e.maybeReconcile()
	var out []LiveState
	for _, sh := range e.shards {
		sh.mu.RLock()
		if b := sh.camps[campID]; b != nil {
			for _, s := range b.items {
				if tentID != "" && s.best.place.tent != tentID {
					continue
				}
				out = append(out, LiveState{})
				s.best.liveState(&out[len(out)-1])
			}
		}
		sh.mu.RUnlock()
	}
	sortStates(out)
	return out
}

func sortStates(ss []LiveState) {
	slices.SortFunc(ss, func(a, b LiveState) int {
		if c := cmpString(a.Pilgrim, b.Pilgrim); c != 0 {
			return c
		}
		return cmpString(a.Device, b.Device)
	})
}

// InCell returns who is in an H3 cell of any resolution now, sorted by
// pilgrim then device. Membership is exact: the cell's bounding box narrows
// the candidates, and each is tested against the cell itself.
func (e *Engine) InCell(cell uint64) []LiveState {
	c := h3.Cell(cell)
	if !c.IsValid() {
		return nil
	}
	res := c.Resolution()
	bnd, err := c.Boundary()
	if err != nil || len(bnd) == 0 {
		return nil
	}
	minLat, minLon, maxLat, maxLon := 90.0, 180.0, -90.0, -180.0
	for _, v := range bnd {
		minLat, maxLat = math.Min(minLat, v.Lat), math.Max(maxLat, v.Lat)
		minLon, maxLon = math.Min(minLon, v.Lng), math.Max(maxLon, v.Lng)
	}
	if maxLon-minLon > 180 {
		return nil // the cell crosses the antimeridian: nowhere near Makkah
	}
	e.maybeReconcile()
	var out []LiveState
	for _, sh := range e.shards {
		sh.mu.RLock()
		e.eachInBox(sh, minLat, minLon, maxLat, maxLon, func(s *subject) {
			f := &s.best.fix
			if f.lat < minLat || f.lat > maxLat || f.lon < minLon || f.lon > maxLon {
				return
			}
			if !inH3Cell(s.best, cell, res) {
				return
			}
			out = append(out, LiveState{})
			s.best.liveState(&out[len(out)-1])
		})
		sh.mu.RUnlock()
	}
	sortStates(out)
	return out
}

// inH3Cell tests a device's fix against a cell: from the H3 cell Locate
// stored when it is fine enough (pure bit arithmetic), else with h3.
func inH3Cell(d *devState, cell uint64, res int) bool {
	if c := d.place.cell; c != 0 && h3Res(c) >= res {
		return h3Parent(c, res) == cell
	}
	got, err := h3.LatLngToCell(h3.NewLatLng(d.fix.lat, d.fix.lon), res)
	return err == nil && uint64(got) == cell
}

// h3Res reads the resolution field of an H3 index (bits 52–55).
func h3Res(c uint64) int { return int(c>>52) & 0xf }

// h3Parent returns the ancestor of an H3 cell at a coarser resolution: set
// the resolution field and mark the finer digits unused (7), per the H3
// index layout.
func h3Parent(c uint64, res int) uint64 {
	r := h3Res(c)
	if res > r {
		return 0
	}
	c = c&^(uint64(0xf)<<52) | uint64(res)<<52
	for d := res + 1; d <= 15; d++ {
		c |= uint64(7) << (uint(15-d) * 3)
	}
	return c
}
