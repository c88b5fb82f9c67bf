package tracking

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"dalil/geo"
)

// trkStore is a small in-memory Store for the tracking core's tests.
type trkStore struct {
	mu        sync.Mutex
	positions map[string][]Position // by device, in arrival order
	records   map[string]map[string][]byte
	appends   int

	failAppend  error           // AppendPositions fails with this when set
	failPutKind map[string]bool // PutRecords of these kinds fails
	deleted     []time.Time     // DeletePositionsBefore calls
}

func newTrkStore() *trkStore {
	return &trkStore{positions: make(map[string][]Position), records: make(map[string]map[string][]byte)}
}

func (s *trkStore) AppendPositions(ctx context.Context, ps []Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAppend != nil {
		return s.failAppend
	}
	s.appends++
	for _, p := range ps {
		s.positions[p.Device] = append(s.positions[p.Device], p)
	}
	return nil
}

func (s *trkStore) Trail(ctx context.Context, device string, since, until time.Time, limit int) ([]Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Position
	for _, p := range s.positions[device] {
		if !p.Time.Before(since) && p.Time.Before(until) {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *trkStore) Latest(ctx context.Context, fn func(Position) error) error {
	s.mu.Lock()
	var latest []Position
	for _, ps := range s.positions {
		best := ps[0]
		for _, p := range ps[1:] {
			if p.Time.After(best.Time) {
				best = p
			}
		}
		latest = append(latest, best)
	}
	s.mu.Unlock()
	slices.SortFunc(latest, func(a, b Position) int { return cmpString(a.Device, b.Device) })
	for _, p := range latest {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *trkStore) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, t)
	var n int64
	for dev, ps := range s.positions {
		kept := ps[:0]
		for _, p := range ps {
			if p.Time.Before(t) {
				n++
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) == 0 {
			delete(s.positions, dev)
		} else {
			s.positions[dev] = kept
		}
	}
	return n, nil
}

func (s *trkStore) PutRecords(ctx context.Context, kind string, recs []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPutKind[kind] {
		return fmt.Errorf("put %s: %w", kind, ErrUnavailable)
	}
	m := s.records[kind]
	if m == nil {
		m = make(map[string][]byte)
		s.records[kind] = m
	}
	for _, r := range recs {
		m[r.ID] = slices.Clone(r.Data)
	}
	return nil
}

func (s *trkStore) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.records[kind][id]
	if !ok {
		return nil, ErrNotFound
	}
	return d, nil
}

func (s *trkStore) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	return s.ScanRecordsFrom(ctx, kind, "", fn)
}

// ScanRecordsFrom copies the matching records under the lock and calls fn
// without it, so that fn may call the store (as it may with the real ones).
func (s *trkStore) ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.records[kind]))
	for id := range s.records[kind] {
		if id >= from {
			ids = append(ids, id)
		}
	}
	data := make(map[string][]byte, len(ids))
	for _, id := range ids {
		data[id] = s.records[kind][id]
	}
	s.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := fn(id, data[id]); err != nil {
			if errors.Is(err, ErrStopScan) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *trkStore) DeleteRecord(ctx context.Context, kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[kind][id]; !ok {
		return ErrNotFound
	}
	delete(s.records[kind], id)
	return nil
}

func (s *trkStore) Ping(ctx context.Context) error { return nil }
func (s *trkStore) Close() error                   { return nil }

func (s *trkStore) count(device string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.positions[device])
}

// boxLocator is a hand-made layout for engine tests: site "mina" covers
// everything; camps are lat/lon boxes, each split into two tents along its
// longitude midline ("<camp>/1" west, "<camp>/2" east).
type boxLocator struct {
	camps []boxCamp
}

type boxCamp struct {
	id                             string
	minLat, minLon, maxLat, maxLon float64
}

func (b *boxLocator) Locate(lat, lon, acc float64) geo.Location {
	loc := geo.Location{Site: geo.SiteMina, Cell: 0}
	best := math.Inf(1)
	for _, c := range b.camps {
		// Distance to the box edge in metres (positive inside, negative outside).
		dn := (c.maxLat - lat) * mPerDegLat
		ds := (lat - c.minLat) * mPerDegLat
		k := mPerDegLat * math.Cos(lat*degToRad)
		de := (c.maxLon - lon) * k
		dw := (lon - c.minLon) * k
		inside := min(dn, ds, de, dw)
		if inside >= 0 {
			mid := (c.minLon + c.maxLon) / 2
			tent := c.id + "/1"
			if lon >= mid {
				tent = c.id + "/2"
			}
			loc.Camp, loc.Tent = c.id, tent
			loc.EdgeDistanceM = min(inside, math.Abs(lon-mid)*k)
			return loc
		}
		outside := math.Hypot(math.Max(0, -min(dn, ds)), math.Max(0, -min(de, dw)))
		if outside < best {
			best = outside
			loc.NearCamps[0] = c.id
		}
	}
	loc.EdgeDistanceM = best
	return loc
}

// trkRecorder records published updates.
type trkRecorder struct {
	mu      sync.Mutex
	states  []LiveState
	events  []Event
	dropped int
}

func (r *trkRecorder) Publish(u Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if u.State != nil {
		r.states = append(r.states, *u.State)
	}
	if u.Event != nil {
		r.events = append(r.events, *u.Event)
	}
}

func (r *trkRecorder) takeEvents() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// offset returns the point dNorth, dEast metres from (lat, lon).
func offset(lat, lon, dNorth, dEast float64) (float64, float64) {
	return lat + dNorth/mPerDegLat, lon + dEast/(mPerDegLat*math.Cos(lat*degToRad))
}
