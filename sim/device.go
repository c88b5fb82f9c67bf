package sim

import (
	"math"
	"time"

	"dalil"
	"dalil/geo"
)

// device is one simulated phone, wristband or luggage tag.
type device struct {
	id       string
	kind     dalil.DeviceKind
	owner    int32
	interval time.Duration
	next     time.Duration // when the next fix is due
	last     time.Duration // newest fix sent, to count out-of-order ones
	sent     bool
	acc      float64 // typical accuracy in metres
	batt0    float64 // percent at the start
	drain    float64 // percent per second
	dead     bool

	// A phone that goes silent keeps its fixes (as Traccar Client does in
	// SQLite) and flushes them after the newest one when it is back.
	silentFrom, silentUntil time.Duration
	backlog                 []dalil.Position

	// A bag left behind stays where its owner put it down.
	leftAt    time.Duration // -1 for never
	left      bool
	leftPos   geo.Point
	leftSince time.Time
}

// maxBacklog bounds the fixes a silent phone keeps.
const maxBacklog = 2000

func (s *Simulator) initDevice(d *device) {
	switch d.kind {
	case dalil.DeviceWristband:
		d.interval = s.cfg.WristbandInterval
		d.acc = s.uniform(5, 9)
		d.batt0 = s.uniform(50, 100)
		d.drain = s.uniform(0.5, 1.5) / 3600
	case dalil.DeviceLuggageTag:
		d.interval = s.cfg.TagInterval
		d.acc = s.uniform(6, 13)
		d.batt0 = s.uniform(60, 100)
		d.drain = s.uniform(0.1, 0.4) / 3600
	default:
		d.interval = s.cfg.PhoneInterval
		d.acc = s.uniform(7, 13)
		d.batt0 = s.uniform(20, 100)
		d.drain = s.uniform(4, 9) / 3600
	}
	// Devices report out of step with each other, as real ones do.
	d.next = time.Duration(s.rng.Float64() * float64(d.interval))
}

// battery is the device's charge at elapsed, in percent.
func (d *device) battery(elapsed time.Duration) float64 {
	return d.batt0 - d.drain*elapsed.Seconds()
}

// leaveBags puts down the bags whose time has come, where their owner is.
func (s *Simulator) leaveBags(now time.Time) {
	kept := s.bagQ[:0]
	for i, di := range s.bagQ {
		d := &s.devices[di]
		if d.leftAt > s.elapsed {
			kept = append(kept, s.bagQ[i:]...)
			break
		}
		if !s.away(d.owner) {
			kept = append(kept, di)
			continue
		}
		d.left, d.leftSince = true, now
		d.leftPos, _, _ = s.position(d.owner)
		s.stats.LeftBags++
	}
	s.bagQ = kept
}

// fixes appends the pings due at this step to out.
func (s *Simulator) fixes(now time.Time, out []dalil.Position) []dalil.Position {
	el := s.elapsed
	for di := range s.devices {
		d := &s.devices[di]
		if d.dead || d.next > el {
			continue
		}
		d.next += d.interval
		if d.next <= el {
			d.next = el + d.interval
		}
		if s.groups[s.pilgrims[d.owner].group].home == nil {
			continue // unplaced: nowhere to be
		}
		batt := d.battery(el)
		if batt <= 0 {
			d.dead = true
			s.stats.Dead++
			continue
		}
		p := s.fix(d, now, batt)
		if d.silentUntil > 0 && el >= d.silentFrom {
			if el < d.silentUntil {
				if len(d.backlog) < maxBacklog {
					d.backlog = append(d.backlog, p)
				}
				continue
			}
			// Back online: the newest fix first, then the backlog, oldest first.
			out = s.send(d, out, p)
			for _, q := range d.backlog {
				out = s.send(d, out, q)
			}
			s.stats.Flushes++
			s.stats.Flushed += int64(len(d.backlog))
			d.backlog, d.silentUntil = nil, 0
			continue
		}
		out = s.send(d, out, p)
	}
	return out
}

func (s *Simulator) send(d *device, out []dalil.Position, p dalil.Position) []dalil.Position {
	t := p.Time.Sub(s.start)
	if d.sent && t < d.last {
		s.stats.OutOfOrder++
	} else {
		d.last, d.sent = t, true
	}
	s.stats.Pings++
	return append(out, p)
}

// fix is a GPS fix of the device now: its true position plus noise matching
// the accuracy it reports.
func (s *Simulator) fix(d *device, now time.Time, batt float64) dalil.Position {
	var pt geo.Point
	var speed, head float64
	if d.left {
		pt = d.leftPos
	} else {
		pt, speed, head = s.position(d.owner)
	}
	acc := d.acc * s.uniform(0.85, 1.2)
	if s.cfg.Phase != PhaseArafat && flatDistanceM(pt, s.dest) < 300 {
		acc *= 1.6 // the bridge's levels and the crowd spoil the fix
	}
	// Reported accuracy is about the 68% radius: sigma per axis of acc/1.5.
	sigma := acc / 1.5
	noisy := offset(pt, s.rng.NormFloat64()*sigma, s.rng.NormFloat64()*sigma)
	p := dalil.Position{
		Device:   d.id,
		Time:     now,
		Lat:      round(noisy.Lat, 1e7),
		Lon:      round(noisy.Lon, 1e7),
		Accuracy: float32(round(acc, 10)),
		Speed:    dalil.Unknown,
		Heading:  dalil.Unknown,
		Altitude: dalil.Unknown,
		Battery:  float32(round(batt, 10)),
		Source:   dalil.SourceSimulator,
	}
	if d.kind == dalil.DevicePhone {
		p.Speed = float32(round(speed, 100))
		if speed > 0 {
			p.Heading = float32(round(head, 10))
		}
		p.Altitude = float32(round(s.uniform(370, 390), 10))
	}
	return p
}

func round(v, scale float64) float64 { return math.Round(v*scale) / scale }
