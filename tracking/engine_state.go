package tracking

import (
	"math"
	"time"

	"dalil/geo"
)

// The engine keeps its live state in compact structs of its own rather than
// in LiveState values: a LiveState carries a full geo.Location with its
// candidate array (~0.5 KB), and at two million devices that difference is
// gigabytes. LiveState values are built on the way out.

// fix is the newest position of a device without the device id (the
// devState holds it) and with the time as Unix nanoseconds.
type fix struct {
	t        int64 // Unix ns
	lat, lon float64
	acc      float32
	speed    float32
	heading  float32
	alt      float32
	batt     float32
	src      Source
}

func fixOf(p *Position) fix {
	return fix{t: p.Time.UnixNano(), lat: p.Lat, lon: p.Lon, acc: p.Accuracy, speed: p.Speed,
		heading: p.Heading, alt: p.Altitude, batt: p.Battery, src: p.Source}
}

func (f *fix) position(device string) Position {
	return Position{Device: device, Time: time.Unix(0, f.t).UTC(), Lat: f.lat, Lon: f.lon, Accuracy: f.acc,
		Speed: f.speed, Heading: f.heading, Altitude: f.alt, Battery: f.batt, Source: f.src}
}

// place is a geo.Location without its tent candidates (Engine.Device and
// Engine.Pilgrim recompute them; bulk queries leave them out).
type place struct {
	site       geo.Site
	camp       string
	tent       string
	near       [2]string
	cell       uint64
	edge       float32
	street     float32
	campP      float32 // the posterior's probability of camp (0: Locate's answer)
	tentP      float32
	campNumber int32
	zone       int16
}

func placeOf(l *geo.Location) place {
	return place{site: l.Site, camp: l.Camp, tent: l.Tent, near: l.NearCamps, cell: l.Cell,
		edge: float32(l.EdgeDistanceM), street: float32(l.StreetProbability),
		campP: float32(l.CampProbability), tentP: float32(l.TentProbability), campNumber: int32(l.CampNumber), zone: int16(l.Zone)}
}

func (p *place) location() geo.Location {
	return geo.Location{Site: p.site, Zone: int(p.zone), Camp: p.camp, CampNumber: int(p.campNumber), Tent: p.tent,
		NearCamps: p.near, EdgeDistanceM: float64(p.edge), Cell: p.cell, StreetProbability: float64(p.street),
		CampProbability: round4(p.campP), TentProbability: round4(p.tentP), Posterior: p.campP > 0}
}

// subjectKey names what moves on the map: a pilgrim (all their phones and
// wristbands together) or a lone device (a luggage tag, an unregistered id).
type subjectKey struct {
	device bool
	id     string
}

// devState is one device's live state.
type devState struct {
	id    string
	kind  DeviceKind
	subj  *subject
	shard *engineShard // the shard of its subject, fixed for the state's life
	gone  bool         // removed (retention, moved to another owner): look it up again
	fix   fix
	track geo.Track // the posterior's fused position
	place place
	recv  int64 // Unix ns the newest fix was received
	trail trailRing
}

// subject is one pilgrim (or lone device) with its devices, its best
// position and where it stands in the live indexes.
type subject struct {
	key     subjectKey
	pilgrim string
	group   string
	luggage string
	devs    []*devState
	best    *devState

	inGrid  bool
	gridKey uint64
	gridIdx int32
	campIdx int32
	camp    string // camp bucket the subject is in, "" for none

	hy    hysteresis
	prior geo.Prior // the registry's camp and tent for a pilgrim
}

func (d *devState) liveState(s *LiveState) {
	s.Device = d.id
	s.Kind = d.kind
	s.Pilgrim = d.subj.pilgrim
	s.Luggage = d.subj.luggage
	s.Group = d.subj.group
	s.Position = d.fix.position(d.id)
	s.Location = d.place.location()
	s.Received = time.Unix(0, d.recv).UTC()
}

func effAcc(acc float32, unknown float64) float64 {
	if acc <= 0 || math.IsNaN(float64(acc)) {
		return unknown
	}
	return float64(acc)
}

// pickBest chooses the subject's best device. The rule: the newest fix wins,
// unless an older fix from another device, at most window older than the
// newest, is at least ratio times more accurate (a wristband's 4 m GPS fix
// from 10 s ago beats a phone's 60 m cell-tower fix from now). Unknown
// accuracy counts as unknownAcc metres.
func (s *subject) pickBest(window int64, ratio, unknownAcc float64) *devState {
	if len(s.devs) == 1 {
		return s.devs[0]
	}
	var newest *devState
	for _, d := range s.devs {
		if d.fix.t == 0 {
			continue
		}
		if newest == nil || d.fix.t > newest.fix.t {
			newest = d
		}
	}
	if newest == nil {
		return nil
	}
	best := newest
	bestAcc := effAcc(newest.fix.acc, unknownAcc)
	newAcc := bestAcc
	for _, d := range s.devs {
		if d == newest || d.fix.t == 0 || newest.fix.t-d.fix.t > window {
			continue
		}
		a := effAcc(d.fix.acc, unknownAcc)
		if newAcc >= ratio*a && a < bestAcc {
			best, bestAcc = d, a
		}
	}
	return best
}
