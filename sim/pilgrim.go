package sim

import (
	"time"

	"dalil/geo"
)

// pilgrim is one simulated pilgrim.
type pilgrim struct {
	pid                string
	group              int32
	minaCamp, minaTent string // assigned in the registry
	homeCamp, homeTent string // where they live today
	home               geo.Point
	lag, side          float64 // place in the column: metres behind the guide, metres to its right
	devices            []int32

	lostAt time.Duration // when they get lost, -1 for never
	lost   *lostState
}

// lostState is a pilgrim who lost their group: they wander off along the
// streets to somewhere far from their camp and sit down.
type lostState struct {
	since time.Time
	at    geo.Point // where they lost the group
	walk  *path     // nil once they sit
	s     float64
	pace  float64
	pos   geo.Point
}

// position is where a pilgrim truly is, with their speed (m/s) and heading.
func (s *Simulator) position(pi int32) (pt geo.Point, speed, head float64) {
	p := &s.pilgrims[pi]
	if l := p.lost; l != nil {
		if l.walk == nil {
			return l.pos, 0, 0
		}
		pt, head = l.walk.at(l.s)
		return pt, l.pace, head
	}
	g := &s.groups[p.group]
	if g.walk == nil || g.state == gHome {
		return p.home, 0, 0
	}
	d := g.s - p.lag
	switch {
	case g.state == gAway:
		d = g.walk.length() - p.lag
	case d < 0 && g.state == gOut:
		return p.home, 0, 0 // not left the tent yet
	case d > g.walk.length() && g.state != gOut:
		return p.home, 0, 0 // back in the tent
	}
	pt, head = g.walk.at(d)
	return sideways(pt, head, p.side), g.speed, head
}

// away reports whether a pilgrim is out of their tent, where they can get
// lost or leave a bag behind.
func (s *Simulator) away(pi int32) bool {
	p := &s.pilgrims[pi]
	if p.lost != nil {
		return true
	}
	g := &s.groups[p.group]
	if g.walk == nil || g.state == gHome {
		return false
	}
	if g.state == gOut {
		return g.s-p.lag > 0
	}
	return true
}

// loseSomeone turns the pilgrims whose time has come, and who are out of
// their tent, into lost pilgrims.
func (s *Simulator) loseSomeone(now time.Time) {
	kept := s.lostQ[:0]
	for i, pi := range s.lostQ {
		p := &s.pilgrims[pi]
		if p.lostAt > s.elapsed {
			kept = append(kept, s.lostQ[i:]...)
			break
		}
		if !s.away(pi) {
			kept = append(kept, pi) // waits for the next walk
			continue
		}
		pos, _, _ := s.position(pi)
		l := &lostState{since: now, at: pos, pos: pos, pace: s.uniform(0.4, 0.9)}
		if to, ok := s.strayTarget(p, pos); ok {
			if r, err := s.ix.RouteBetween(pos, to); err == nil && len(r.Path) > 1 {
				l.walk = newPath(r.Path)
			} else {
				s.stats.RouteErrors++
			}
		}
		p.lost = l
		s.lost = append(s.lost, pi)
		s.stats.Lost++
	}
	s.lostQ = kept
}

// strayTarget picks where a lost pilgrim ends up: the gate of some other camp
// on the same site, a few hundred metres to two kilometres away.
func (s *Simulator) strayTarget(p *pilgrim, from geo.Point) (geo.Point, bool) {
	home, ok := s.layout.Camp(p.homeCamp)
	if !ok {
		return geo.Point{}, false
	}
	camps := s.campsOf(home.Site)
	var fallback geo.Point
	found := false
	for range 30 {
		c := camps[s.rng.IntN(len(camps))]
		if c.ID == home.ID || len(c.Gates) == 0 {
			continue
		}
		gate := c.Gates[s.rng.IntN(len(c.Gates))]
		if d := flatDistanceM(from, gate); d >= 300 && d <= 2000 {
			return gate, true
		}
		fallback, found = gate, true
	}
	return fallback, found
}

// wander moves the lost pilgrims along their way.
func (s *Simulator) wander(dt time.Duration) {
	for _, pi := range s.lost {
		l := s.pilgrims[pi].lost
		if l.walk == nil {
			continue
		}
		l.s += l.pace * dt.Seconds()
		if l.s >= l.walk.length() {
			l.pos, _ = l.walk.at(l.walk.length())
			l.walk = nil // sits down, far from their camp
		}
	}
}
