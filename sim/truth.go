package sim

import (
	"time"

	"dalil/geo"
)

// GroundTruth is what really happened, for tests and for checking that Dalil
// raised the right alerts and found the right pilgrims.
type GroundTruth struct {
	Time     time.Time      `json:"ts"` // simulated time of the snapshot
	Lost     []LostPilgrim  `json:"lost"`
	LeftBags []LeftBag      `json:"left_bags"`
	Silent   []SilentDevice `json:"silent"` // phones offline now, holding a backlog
	Dead     []string       `json:"dead"`   // devices whose battery ran out
}

// LostPilgrim is a pilgrim who lost their group.
type LostPilgrim struct {
	PID      string    `json:"pid"`
	Group    string    `json:"group"`
	Camp     string    `json:"camp"` // the camp they belong in today
	Tent     string    `json:"tent"`
	Devices  []string  `json:"devices"`
	Since    time.Time `json:"since"`
	LostAt   geo.Point `json:"lost_at"` // where they lost the group
	Where    geo.Point `json:"where"`   // where they are now
	Moving   bool      `json:"moving"`  // still wandering; false once they sit down
	FromCamp float64   `json:"from_camp_m"`
}

// LeftBag is a luggage tag left behind by its owner.
type LeftBag struct {
	Device string    `json:"device"`
	Owner  string    `json:"owner"`
	Since  time.Time `json:"since"`
	Where  geo.Point `json:"where"`
}

// SilentDevice is a phone that is offline and buffering.
type SilentDevice struct {
	Device  string    `json:"device"`
	Since   time.Time `json:"since"`
	Backlog int       `json:"backlog"`
}

// GroundTruth returns a snapshot of who is lost, which bags are left behind,
// which phones are silent and which devices are dead.
func (s *Simulator) GroundTruth() GroundTruth {
	s.mu.Lock()
	defer s.mu.Unlock()
	gt := GroundTruth{Time: s.start.Add(s.elapsed)}
	for _, pi := range s.lost {
		p := &s.pilgrims[pi]
		l := p.lost
		where, _, _ := s.position(pi)
		lp := LostPilgrim{
			PID: p.pid, Group: s.groups[p.group].id, Camp: p.homeCamp, Tent: p.homeTent,
			Since: l.since, LostAt: l.at, Where: where, Moving: l.walk != nil,
		}
		for _, di := range p.devices {
			lp.Devices = append(lp.Devices, s.devices[di].id)
		}
		if c, ok := s.layout.Camp(p.homeCamp); ok && len(c.Polygon) > 2 {
			lp.FromCamp = flatDistanceM(where, c.Polygon.Centroid())
		}
		gt.Lost = append(gt.Lost, lp)
	}
	for di := range s.devices {
		d := &s.devices[di]
		switch {
		case d.left:
			gt.LeftBags = append(gt.LeftBags, LeftBag{Device: d.id, Owner: s.pilgrims[d.owner].pid, Since: d.leftSince, Where: d.leftPos})
		case d.dead:
			gt.Dead = append(gt.Dead, d.id)
		case d.silentUntil > 0 && s.elapsed >= d.silentFrom:
			gt.Silent = append(gt.Silent, SilentDevice{Device: d.id, Since: s.start.Add(d.silentFrom), Backlog: len(d.backlog)})
		}
	}
	return gt
}

// Stats returns the counters so far.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// TruePosition is where a pilgrim really is now, before GPS noise.
func (s *Simulator) TruePosition(pid string) (geo.Point, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.byPID[pid]
	if !ok || s.groups[s.pilgrims[pi].group].home == nil {
		return geo.Point{}, false
	}
	p, _, _ := s.position(pi)
	return p, true
}

// Home returns the camp and tent a pilgrim lives in today (at Arafat, the
// group's Arafat tent).
func (s *Simulator) Home(pid string) (camp, tent string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, ok := s.byPID[pid]
	if !ok {
		return "", "", false
	}
	p := &s.pilgrims[pi]
	return p.homeCamp, p.homeTent, p.homeTent != ""
}

// Start returns the simulated time of the first step (zero before Run when
// Config.Start was zero).
func (s *Simulator) Start() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start
}
