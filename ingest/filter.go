package ingest

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"dalil"
)

// historySize is how many recently accepted fixes the filter keeps per
// device. The jump test compares a fix with the one nearest in time among
// them, so an offline buffer flushed oldest-first is compared with its own
// previous fix rather than with the live position hours later.
const historySize = 4

// devState is what the filter remembers about one device.
type devState struct {
	recent [historySize]fix // accepted fixes, in arrival order (a ring)
	n      uint8            // how many of recent are used
	next   uint8            // ring slot the next accepted fix goes to
	// rejected is the last fix refused by a fix-level filter, and why.
	// It lets two agreeing fixes overrule an outlier that was accepted
	// before them, and lets single-ping protocols recognise a resend.
	rejReason reason
	rejected  fix
}

func (s *devState) push(f fix) {
	s.recent[s.next] = f
	s.next = (s.next + 1) % historySize
	if s.n < historySize {
		s.n++
	}
	s.rejReason = reasonNone
}

// nearest returns the remembered fix nearest in time to f.
func (s *devState) nearest(f fix) (fix, bool) {
	if s.n == 0 {
		return fix{}, false
	}
	t := f.millis()
	best, bestDT := s.recent[0], int64(math.MaxInt64)
	for i := range int(s.n) {
		dt := s.recent[i].millis() - t
		if dt < 0 {
			dt = -dt
		}
		if dt < bestDT {
			best, bestDT = s.recent[i], dt
		}
	}
	return best, true
}

// verdict is the filter's answer for one ping.
type verdict struct {
	reason reason // reasonNone: accept
	// resent: the ping is exactly the one this device was refused last
	// time (single-ping clients resend until they get a 2xx).
	resent bool
}

// filter holds the per-device state of the duplicate and jump tests in
// shards, each with its own lock, so that concurrent requests for different
// devices rarely contend. Memory is bounded by generations: each shard fills
// a current map; when it is full it becomes the old map (still read) and the
// previous old map is dropped, so a device seen within the last generation
// is remembered and the total stays below cfg.FilterDevices.
type filter struct {
	cfg    *Config
	seed   maphash.Seed
	genCap int
	shards [numShards]filterShard
}

const numShards = 256

type filterShard struct {
	mu  sync.Mutex
	cur map[string]devState
	old map[string]devState
	_   [64]byte // keep neighbouring shards' locks off one cache line
}

func newFilter(cfg *Config) *filter {
	f := &filter{cfg: cfg, seed: maphash.MakeSeed()}
	f.genCap = max(16, cfg.FilterDevices/numShards/2)
	for i := range f.shards {
		f.shards[i].cur = make(map[string]devState)
	}
	return f
}

func (f *filter) shard(dev string) *filterShard {
	return &f.shards[maphash.String(f.seed, dev)%numShards]
}

// load returns a copy of a device's state (zero for a new device).
func (f *filter) load(dev string) devState {
	sh := f.shard(dev)
	sh.mu.Lock()
	st, ok := sh.cur[dev]
	if !ok && sh.old != nil {
		st = sh.old[dev]
	}
	sh.mu.Unlock()
	return st
}

// store saves a device's state after its request was answered. Two
// concurrent requests of one device (rare: clients send one at a time) may
// overwrite each other's state; the cost is a duplicate or jump missed, never
// a good fix refused.
func (f *filter) store(dev string, st *devState) {
	sh := f.shard(dev)
	sh.mu.Lock()
	if sh.old != nil {
		delete(sh.old, dev)
	}
	sh.cur[dev] = *st
	if len(sh.cur) >= f.genCap {
		sh.old, sh.cur = sh.cur, make(map[string]devState, f.genCap/4)
	}
	sh.mu.Unlock()
}

// devices returns how many devices the filter currently remembers.
func (f *filter) devices() int {
	n := 0
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.Lock()
		n += len(sh.cur) + len(sh.old)
		sh.mu.Unlock()
	}
	return n
}

// check runs every filter on p against st and, when p is accepted, records
// it in st. It takes no lock: st is the request's own copy.
func (f *filter) check(st *devState, p *dalil.Position, now time.Time, maxSpeed float64) verdict {
	c := f.cfg
	if math.IsNaN(p.Lat) || math.IsNaN(p.Lon) || math.IsInf(p.Lat, 0) || math.IsInf(p.Lon, 0) {
		return verdict{reason: reasonNotFinite}
	}
	if p.Lat < -90 || p.Lat > 90 || p.Lon < -180 || p.Lon > 180 {
		return verdict{reason: reasonOutOfRange}
	}
	fx := makeFix(p)
	if st.rejReason != reasonNone && st.rejected.same(fx) {
		return verdict{reason: st.rejReason, resent: true}
	}
	for i := range int(st.n) {
		if st.recent[i].same(fx) {
			return verdict{reason: reasonDuplicate}
		}
	}
	r := reasonNone
	switch {
	case p.Lat == 0 && p.Lon == 0:
		r = reasonNullIsland
	case c.MaxFuture > 0 && p.Time.After(now.Add(c.MaxFuture)):
		r = reasonFuture
	case c.MaxAge > 0 && p.Time.Before(now.Add(-c.MaxAge)):
		r = reasonTooOld
	case c.MaxAccuracy > 0 && float64(p.Accuracy) > c.MaxAccuracy:
		r = reasonLowAccuracy
	case maxSpeed > 0:
		if ref, ok := st.nearest(fx); ok && f.jump(ref, fx, maxSpeed) {
			// An earlier accepted fix may itself have been the outlier
			// (e.g. the first fix after power-on). If the last refused fix
			// was a jump too, is a different fix and agrees with this one,
			// two fixes outvote the history: start afresh from this one.
			if st.rejReason == reasonJump && !st.rejected.same(fx) && !f.jump(st.rejected, fx, maxSpeed) {
				st.n, st.next = 0, 0
			} else {
				r = reasonJump
			}
		}
	}
	if r != reasonNone {
		st.rejReason, st.rejected = r, fx
		return verdict{reason: r}
	}
	st.push(fx)
	return verdict{}
}

// jump reports whether going from a to b needs a speed beyond maxSpeed once
// both accuracy radii and the slack are granted.
func (f *filter) jump(a, b fix, maxSpeed float64) bool {
	dt := math.Abs(float64(b.millis()-a.millis())) / 1000
	dt = max(dt, 1)
	excess := distanceM(a, b) - f.accuracy(a) - f.accuracy(b) - f.cfg.JumpSlack
	return excess > maxSpeed*dt
}

func (f *filter) accuracy(x fix) float64 {
	if x.acc == 0 {
		return f.cfg.AssumedAccuracy
	}
	return float64(x.acc)
}
