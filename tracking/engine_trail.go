package tracking

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// trailPoint is one remembered fix, 24 bytes: coordinates as 1e-7 degree
// integers (1 cm), time in Unix ns.
type trailPoint struct {
	t        int64
	lat, lon int32
	acc      float32
	speed    float32
}

const trailScale = 1e7

func trailPointOf(f *fix) trailPoint {
	return trailPoint{t: f.t, lat: int32(math.Round(f.lat * trailScale)), lon: int32(math.Round(f.lon * trailScale)),
		acc: f.acc, speed: f.speed}
}

func (tp trailPoint) position(device string) Position {
	return Position{Device: device, Time: time.Unix(0, tp.t).UTC(), Lat: float64(tp.lat) / trailScale,
		Lon: float64(tp.lon) / trailScale, Accuracy: tp.acc, Speed: tp.speed, Heading: Unknown, Altitude: Unknown,
		Battery: Unknown}
}

// trailRing keeps a device's most recent fixes in time order, oldest
// overwritten first. It grows by doubling up to max so that devices that
// report rarely do not pay for the whole ring.
type trailRing struct {
	buf  []trailPoint
	head int32 // index of the oldest point
	n    int32
}

func (r *trailRing) at(i int32) *trailPoint { return &r.buf[(r.head+i)%int32(len(r.buf))] }

// add inserts a point, keeping time order; max bounds the ring.
func (r *trailRing) add(tp trailPoint, max int) {
	if max <= 0 {
		return
	}
	if int(r.n) == len(r.buf) && len(r.buf) < max {
		r.grow(max)
	}
	// Find the insertion position from the newest end: almost always the end.
	pos := r.n
	for pos > 0 && r.at(pos-1).t > tp.t {
		pos--
	}
	if pos > 0 && r.at(pos-1).t == tp.t {
		return // already have a fix at that instant
	}
	if int(r.n) == len(r.buf) { // full: drop the oldest
		if pos == 0 {
			return // older than everything kept
		}
		r.head = (r.head + 1) % int32(len(r.buf))
		r.n--
		pos--
	}
	for i := r.n; i > pos; i-- {
		*r.at(i) = *r.at(i - 1)
	}
	*r.at(pos) = tp
	r.n++
}

func (r *trailRing) grow(max int) {
	size := 2 * len(r.buf)
	if size < 4 {
		size = 4
	}
	if size > max {
		size = max
	}
	nb := make([]trailPoint, size)
	for i := int32(0); i < r.n; i++ {
		nb[i] = *r.at(i)
	}
	r.buf, r.head = nb, 0
}

// dropBefore forgets points older than t (retention).
func (r *trailRing) dropBefore(t int64) {
	for r.n > 0 && r.at(0).t < t {
		r.head = (r.head + 1) % int32(len(r.buf))
		r.n--
	}
}

func (r *trailRing) positions(device string) []Position {
	out := make([]Position, r.n)
	for i := int32(0); i < r.n; i++ {
		out[i] = r.at(i).position(device)
	}
	return out
}

// RecentTrail returns the device's recent positions kept in memory, oldest
// first (at most EngineConfig.TrailLen). The trail keeps time, coordinates,
// accuracy and speed; heading, altitude and battery come back Unknown. Use
// Trail for the full history.
func (e *Engine) RecentTrail(device string) []Position {
	e.maybeReconcile()
	d, sh := e.readLocked(device)
	if d == nil {
		return nil
	}
	defer sh.mu.RUnlock()
	return d.trail.positions(device)
}

// Trail returns the stored history of a pilgrim across all their phones and
// wristbands (not their luggage tags) with since <= Time < until, oldest
// first. pid may also be a registered device id (a luggage tag) for that
// device's history. It answers ErrNotFound for an unknown id.
func (e *Engine) Trail(ctx context.Context, pid string, since, until time.Time) ([]Position, error) {
	var devices []string
	if p, ok := e.reg.Pilgrim(pid); ok {
		for k, id := range p.Devices {
			if k < len(p.DeviceKinds) && p.DeviceKinds[k] == DeviceLuggageTag {
				continue
			}
			devices = append(devices, id)
		}
	} else if _, ok := e.reg.Device(pid); ok {
		devices = []string{pid}
	} else {
		return nil, fmt.Errorf("trail of %q: %w", pid, ErrNotFound)
	}
	var out []Position
	for _, id := range devices {
		ps, err := e.st.Trail(ctx, id, since, until, 0)
		if err != nil {
			return nil, fmt.Errorf("trail of device %s: %w", id, err)
		}
		out = append(out, ps...)
	}
	if len(devices) > 1 {
		slices.SortStableFunc(out, func(a, b Position) int { return a.Time.Compare(b.Time) })
	}
	return out, nil
}
