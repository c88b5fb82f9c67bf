package sim

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
)

// Landmarks the groups walk to. The Jamarat comes from the layout's "jamarat"
// area when it has one.
var (
	jamaratBridge = geo.Point{Lat: 21.4216, Lon: 39.8722}
	jabalRahmah   = geo.Point{Lat: 21.3547, Lon: 39.9839}
)

// Simulator moves pilgrims and produces their devices' pings. Create it with
// New and drive it with Run; GroundTruth, Stats and TruePosition may be called
// from other goroutines while it runs.
type Simulator struct {
	cfg    Config
	ix     *geo.Index
	layout *geo.Layout
	rng    *rand.Rand
	dest   geo.Point // where groups walk to: the Jamarat, or Jabal al-Rahmah at Arafat

	mu       sync.Mutex
	running  bool
	start    time.Time
	elapsed  time.Duration // simulated time since start at the last step
	groups   []group
	pilgrims []pilgrim
	byPID    map[string]int32
	devices  []device
	routes   map[routeKey]*path
	lostQ    []int32 // pilgrims scheduled to get lost, by lostAt
	lost     []int32 // pilgrims who are lost, in the order they got lost
	bagQ     []int32 // luggage tags scheduled to be left behind, by leftAt
	stats    Stats
	buf      []dalil.Position
	retry    []dalil.Position
}

type routeKey struct {
	from geo.Point
	tent string
}

// Stats counts what the simulator did.
type Stats struct {
	Pilgrims int `json:"pilgrims"`
	Groups   int `json:"groups"`
	Devices  int `json:"devices"`
	// Unplaced pilgrims have no tent in the layout to live in and never move.
	Unplaced int `json:"unplaced"`

	Steps      int64 `json:"steps"`
	Pings      int64 `json:"pings"`        // handed to emit
	Flushes    int64 `json:"flushes"`      // silent phones that came back and sent their backlog
	Flushed    int64 `json:"flushed"`      // pings sent in those backlogs
	OutOfOrder int64 `json:"out_of_order"` // pings older than one the same device sent before
	Lost       int   `json:"lost"`
	LeftBags   int   `json:"left_bags"`
	Dead       int   `json:"dead"` // devices whose battery ran out

	RouteErrors int64 `json:"route_errors"` // walks skipped because geo found no route
	EmitErrors  int64 `json:"emit_errors"`  // transient emit failures (retried)
	Dropped     int64 `json:"dropped"`      // pings dropped because the retry buffer was full
}

// New builds a simulator for the pilgrims and groups on the layout indexed by
// ix. Pilgrims whose group is not listed walk as a group of their own; pilgrims
// without a usable tent live in their group's tent. New computes no routes:
// they are found lazily as groups set off.
func New(cfg Config, ix *geo.Index, pilgrims []registry.Pilgrim, groups []registry.Group) *Simulator {
	cfg = cfg.withDefaults()
	s := &Simulator{
		cfg:    cfg,
		ix:     ix,
		layout: ix.Layout(),
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		start:  cfg.Start,
		byPID:  make(map[string]int32, len(pilgrims)),
		routes: map[routeKey]*path{},
	}
	s.dest = jamaratBridge
	if a, ok := s.layout.Area("jamarat"); ok && len(a.Polygon) > 2 {
		s.dest = a.Polygon.Centroid()
	}
	if cfg.Phase == PhaseArafat {
		if len(s.campsOf(geo.SiteArafat)) == 0 {
			cfg.Log.Warn("sim: the layout has no Arafat camps; simulating Mina instead")
			s.cfg.Phase = PhaseMina
		} else {
			s.dest = jabalRahmah
			if a, ok := s.layout.Area("rahmah"); ok && len(a.Polygon) > 2 {
				s.dest = a.Polygon.Centroid()
			}
		}
	}
	s.build(pilgrims, groups)
	s.schedule()
	return s
}

// build creates groups, pilgrims and devices in input order, so that the
// random draws happen in a fixed order.
func (s *Simulator) build(ps []registry.Pilgrim, gs []registry.Group) {
	gidx := make(map[string]int32, len(gs))
	for _, g := range gs {
		if _, dup := gidx[g.ID]; dup {
			continue
		}
		gidx[g.ID] = int32(len(s.groups))
		s.groups = append(s.groups, group{id: g.ID, guidePID: g.GuidePID})
	}
	for _, p := range ps {
		if _, dup := s.byPID[p.PID]; dup || p.PID == "" {
			continue
		}
		gi, ok := gidx[p.Group]
		if !ok || p.Group == "" {
			gi = int32(len(s.groups))
			s.groups = append(s.groups, group{id: "solo:" + p.PID, guidePID: p.PID})
			if p.Group != "" {
				gidx[p.Group] = gi
				s.groups[gi].id = p.Group
			}
		}
		pi := int32(len(s.pilgrims))
		s.byPID[p.PID] = pi
		s.pilgrims = append(s.pilgrims, pilgrim{pid: p.PID, group: gi, minaCamp: p.Camp, minaTent: p.Tent, lostAt: -1})
		s.groups[gi].members = append(s.groups[gi].members, pi)
		for k, id := range p.Devices {
			if id == "" {
				continue
			}
			kind := s.cfg.Kind(id)
			if k < len(p.DeviceKinds) && p.DeviceKinds[k] != "" {
				kind = p.DeviceKinds[k]
			}
			s.pilgrims[pi].devices = append(s.pilgrims[pi].devices, int32(len(s.devices)))
			s.devices = append(s.devices, device{id: id, kind: kind, owner: pi, leftAt: -1})
		}
	}
	s.placeGroups()
	for gi := range s.groups {
		s.initGroup(int32(gi))
	}
	for di := range s.devices {
		s.initDevice(&s.devices[di])
	}
	s.stats.Pilgrims, s.stats.Groups, s.stats.Devices = len(s.pilgrims), len(s.groups), len(s.devices)
}

// schedule picks who gets lost, which phones go silent and which bags are
// left behind.
func (s *Simulator) schedule() {
	win := float64(s.cfg.EventWindow)
	for pi := range s.pilgrims {
		p := &s.pilgrims[pi]
		g := &s.groups[p.group]
		if g.home == nil || s.isGuide(int32(pi)) || len(g.members) < 2 {
			continue
		}
		if s.rng.Float64() < s.cfg.LostFraction {
			p.lostAt = time.Duration(s.rng.Float64() * win)
			s.lostQ = append(s.lostQ, int32(pi))
		}
	}
	for di := range s.devices {
		d := &s.devices[di]
		switch d.kind {
		case dalil.DevicePhone:
			if s.rng.Float64() < s.cfg.SilentFraction {
				d.silentFrom = time.Duration(s.rng.Float64() * win)
				d.silentUntil = d.silentFrom + 5*time.Minute + time.Duration(s.rng.Float64()*float64(40*time.Minute))
			}
		case dalil.DeviceLuggageTag:
			if s.rng.Float64() < s.cfg.LeftBagFraction {
				d.leftAt = time.Duration(s.rng.Float64() * win)
				s.bagQ = append(s.bagQ, int32(di))
			}
		}
	}
	slices.SortStableFunc(s.lostQ, func(a, b int32) int { return cmp.Compare(s.pilgrims[a].lostAt, s.pilgrims[b].lostAt) })
	slices.SortStableFunc(s.bagQ, func(a, b int32) int { return cmp.Compare(s.devices[a].leftAt, s.devices[b].leftAt) })
}

func (s *Simulator) isGuide(pi int32) bool {
	g := &s.groups[s.pilgrims[pi].group]
	return len(g.members) > 0 && g.members[0] == pi && g.guideLeads
}

// campsOf lists the layout's camps on a site, in layout order.
func (s *Simulator) campsOf(site geo.Site) []*geo.Camp {
	var out []*geo.Camp
	for i := range s.layout.Camps {
		if s.layout.Camps[i].Site == site {
			out = append(out, &s.layout.Camps[i])
		}
	}
	return out
}

// uniform returns a random value in [lo, hi).
func (s *Simulator) uniform(lo, hi float64) float64 { return lo + s.rng.Float64()*(hi-lo) }

func (s *Simulator) uniformDur(lo, hi time.Duration) time.Duration {
	return time.Duration(s.uniform(float64(lo), float64(hi)))
}

// spotIn returns a random point well inside a tent: where a pilgrim sits.
func (s *Simulator) spotIn(t *geo.Tent) geo.Point {
	c := t.Polygon.Centroid()
	lo, hi := bounds(t.Polygon)
	for range 8 {
		q := geo.Point{Lat: s.uniform(lo.Lat, hi.Lat), Lon: s.uniform(lo.Lon, hi.Lon)}
		// Pull towards the middle so nobody sits on the canvas.
		q = geo.Point{Lat: c.Lat + 0.7*(q.Lat-c.Lat), Lon: c.Lon + 0.7*(q.Lon-c.Lon)}
		if inRing(t.Polygon, q) {
			return q
		}
	}
	return c
}

// route returns the walk from a point to a tent, cached: many groups share a
// tent's route to the Jamarat.
func (s *Simulator) route(from geo.Point, tent string) (*path, bool) {
	k := routeKey{from, tent}
	if p, ok := s.routes[k]; ok {
		return p, p != nil
	}
	r, err := s.ix.Route(from, tent)
	if err != nil || len(r.Path) < 2 {
		s.stats.RouteErrors++
		s.cfg.Log.Debug("sim: no route", "tent", tent, "err", err)
		s.routes[k] = nil
		return nil, false
	}
	p := newPath(r.Path)
	s.routes[k] = p
	return p, true
}
