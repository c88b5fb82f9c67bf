package sim

import (
	"time"

	"dalil/geo"
)

// gstate is what a group is doing.
type gstate uint8

const (
	gHome   gstate = iota // resting in the tent
	gOut                  // walking from the tent to the destination
	gAway                 // at the destination (stoning at the Jamarat, on the hill)
	gBack                 // walking back to the tent
	gArrive               // walking from the bus to the Arafat tent
)

// maxLag is how far the last member walks behind the guide, in metres.
const maxLag = 30

// group is a guide and the pilgrims who walk with them.
type group struct {
	id         string
	guidePID   string
	members    []int32 // the guide first when guideLeads
	guideLeads bool
	home       *geo.Tent // tent of the day: the guide's Mina tent, or the Arafat tent
	camp       string
	dropoff    geo.Point // where the Arafat bus stops

	state     gstate
	until     time.Duration // end of the current rest or stay
	walk      *path
	s         float64 // metres walked along walk by the guide
	pace      float64 // m/s when nothing slows the group
	speed     float64 // m/s now
	stopUntil time.Duration
}

// placeGroups decides each group's tent of the day and each pilgrim's spot.
func (s *Simulator) placeGroups() {
	var arafat []*geo.Tent
	var arafatLeft []int
	if s.cfg.Phase == PhaseArafat {
		for _, c := range s.campsOf(geo.SiteArafat) {
			for _, t := range s.layout.TentsOf(c.ID) {
				arafat = append(arafat, t)
				arafatLeft = append(arafatLeft, max(t.Capacity, 1))
			}
		}
	}
	next := 0 // Arafat tents fill in layout order, one group per tent at least
	for gi := range s.groups {
		g := &s.groups[gi]
		// The guide leads the column.
		for i, m := range g.members {
			if s.pilgrims[m].pid == g.guidePID {
				g.members[0], g.members[i] = g.members[i], g.members[0]
				g.guideLeads = true
				break
			}
		}
		if s.cfg.Phase == PhaseArafat && len(arafat) > 0 {
			for arafatLeft[next%len(arafat)] < len(g.members) && arafatLeft[next%len(arafat)] < arafat[next%len(arafat)].Capacity {
				next++ // partly full: move on rather than split the group
			}
			i := next % len(arafat)
			arafatLeft[i] -= len(g.members)
			g.home = arafat[i]
			if arafatLeft[i] <= 0 {
				next++
			}
		} else {
			for _, m := range g.members {
				if t, ok := s.layout.Tent(s.pilgrims[m].minaTent); ok {
					g.home = t
					break
				}
			}
			if g.home == nil { // no tent: the first tent of a member's camp
				for _, m := range g.members {
					if ts := s.layout.TentsOf(s.pilgrims[m].minaCamp); len(ts) > 0 {
						g.home = ts[0]
						break
					}
				}
			}
		}
		if g.home == nil {
			s.stats.Unplaced += len(g.members)
			continue
		}
		g.camp = g.home.Camp
		for _, m := range g.members {
			p := &s.pilgrims[m]
			t := g.home
			if s.cfg.Phase != PhaseArafat {
				if own, ok := s.layout.Tent(p.minaTent); ok {
					t = own
				}
			}
			p.homeTent, p.homeCamp = t.ID, t.Camp
			p.home = s.spotIn(t)
			if m == g.members[0] && g.guideLeads {
				continue // lag and side 0: the guide is the head of the column
			}
			p.lag = s.uniform(2, maxLag)
			p.side = s.uniform(-2.5, 2.5)
		}
		if s.cfg.Phase == PhaseArafat {
			g.dropoff = s.dropoffFor(g.camp)
		}
	}
}

// dropoffFor picks where the group's bus stops: the gate of another Arafat
// camp 400–1,500 m away (the buses park along the main roads), or the
// farthest gate when no camp is that far.
func (s *Simulator) dropoffFor(camp string) geo.Point {
	home, ok := s.layout.Camp(camp)
	if !ok || len(home.Gates) == 0 {
		return s.dest
	}
	best, bestD := home.Gates[0], 0.0
	camps := s.campsOf(geo.SiteArafat)
	start := s.rng.IntN(len(camps))
	for k := range camps {
		c := camps[(start+k)%len(camps)]
		if c.ID == camp || len(c.Gates) == 0 {
			continue
		}
		d := flatDistanceM(home.Gates[0], c.Gates[0])
		if d >= 400 && d <= 1500 {
			return c.Gates[0]
		}
		if d < 1500 && d > bestD {
			best, bestD = c.Gates[0], d
		}
	}
	return best
}

// restFor is how long a group stays in its tent before setting off.
func (s *Simulator) restFor() time.Duration {
	switch s.cfg.Phase {
	case PhaseJamarat:
		return s.uniformDur(10*time.Minute, 90*time.Minute)
	case PhaseArafat:
		return s.uniformDur(time.Hour, 4*time.Hour)
	}
	return s.uniformDur(30*time.Minute, 4*time.Hour)
}

// stayFor is how long a group stays at the destination.
func (s *Simulator) stayFor() time.Duration {
	if s.cfg.Phase == PhaseArafat {
		return s.uniformDur(15*time.Minute, 40*time.Minute)
	}
	return s.uniformDur(10*time.Minute, 30*time.Minute)
}

// initGroup puts a group somewhere in its day, so that a run starts with
// groups already walking rather than everyone leaving at once.
func (s *Simulator) initGroup(gi int32) {
	g := &s.groups[gi]
	g.pace = s.uniform(0.5, 1.4)
	if g.home == nil {
		return
	}
	r := s.rng.Float64()
	var out, home, away float64 // probabilities of walking out, resting, staying away; the rest walk back
	switch s.cfg.Phase {
	case PhaseJamarat:
		out, home, away = 0.40, 0.20, 0.15
	case PhaseArafat:
		if r < 0.4 {
			s.setOff(g, gArrive, s.rng.Float64())
			return
		}
		r = (r - 0.4) / 0.6
		out, home, away = 0.05, 0.85, 0.05
	default:
		out, home, away = 0.25, 0.60, 0.05
	}
	switch {
	case r < home:
		g.state, g.until = gHome, time.Duration(s.rng.Float64()*float64(s.restFor()))
	case r < home+out:
		s.setOff(g, gOut, s.rng.Float64())
	case r < home+out+away:
		s.setOff(g, gOut, 1)
		g.state, g.until = gAway, time.Duration(s.rng.Float64()*float64(s.stayFor()))
	default:
		s.setOff(g, gBack, s.rng.Float64())
	}
}

// setOff starts a walk of kind st, frac of the way along it already.
// Without a route the group stays home.
func (s *Simulator) setOff(g *group, st gstate, frac float64) {
	from := s.dest
	if st == gArrive {
		from = g.dropoff
	}
	p, ok := s.route(from, g.home.ID)
	if !ok {
		g.state, g.until = gHome, s.elapsed+s.restFor()
		return
	}
	if st == gOut {
		p = s.reversedRoute(from, g.home.ID, p)
	}
	g.state, g.walk, g.s = st, p, frac*p.length()
	g.pace = s.uniform(0.5, 1.4)
	g.stopUntil = 0
}

// reversedRoute caches the way out, which is the way home walked backwards.
func (s *Simulator) reversedRoute(from geo.Point, tent string, back *path) *path {
	k := routeKey{from: from, tent: "out:" + tent}
	if p, ok := s.routes[k]; ok && p != nil {
		return p
	}
	p := back.reversed()
	s.routes[k] = p
	return p
}

// crowd is the factor by which the crowd near the Jamarat slows walkers.
func (s *Simulator) crowd(p geo.Point) float64 {
	if s.cfg.Phase == PhaseArafat {
		return 1
	}
	const reach = 800.0
	d := flatDistanceM(p, s.dest)
	if d >= reach {
		return 1
	}
	floor := 0.4
	if s.cfg.Phase == PhaseJamarat {
		floor = 0.2
	}
	return floor + (1-floor)*d/reach
}

// advanceGroup moves a group by dt of simulated time.
func (s *Simulator) advanceGroup(g *group, dt time.Duration) {
	if g.home == nil {
		return
	}
	now := s.elapsed
	switch g.state {
	case gHome:
		g.speed = 0
		if now < g.until {
			return
		}
		if s.cfg.Phase == PhaseArafat && s.rng.Float64() >= 0.35 {
			g.until = now + s.restFor() // most stay in the tent at Arafat
			return
		}
		s.setOff(g, gOut, 0)
	case gAway:
		g.speed = 0
		if now >= g.until {
			s.setOff(g, gBack, 0)
		}
	case gOut, gBack, gArrive:
		if now < g.stopUntil {
			g.speed = 0
			return
		}
		// Groups pause now and then: to wait for someone, to drink, to pray.
		if s.rng.Float64() < dt.Seconds()/(8*60) {
			g.stopUntil = now + s.uniformDur(30*time.Second, 4*time.Minute)
			g.speed = 0
			return
		}
		head, _ := g.walk.at(g.s)
		g.speed = g.pace * s.crowd(head)
		g.s += g.speed * dt.Seconds()
		switch {
		case g.state == gOut && g.s >= g.walk.length():
			// The guide has arrived; the column stands behind them.
			g.state, g.until, g.s = gAway, now+s.stayFor(), g.walk.length()
		case g.state != gOut && g.s >= g.walk.length()+maxLag:
			// The last member is home too.
			g.state, g.until, g.walk = gHome, now+s.restFor(), nil
		}
	}
}
