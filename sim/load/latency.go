package load

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sentClock remembers, for every watched device, the timestamp of its newest
// fix and when it was sent, packed into one atomic word: the high 32 bits are
// the fix's time in ms after base (+2^31), the low 32 the send time in µs
// after the run's start. A watcher that receives a position with that
// device and timestamp has the ping→websocket latency.
type sentClock struct {
	start  time.Time
	baseMs int64
	slots  []atomic.Uint64
}

func newSentClock(start time.Time, n int) *sentClock {
	return &sentClock{start: start, baseMs: start.UnixMilli(), slots: make([]atomic.Uint64, n)}
}

// sent records that slot's fix stamped tsMs was sent now.
func (c *sentClock) sent(slot int32, tsMs int64, now time.Time) {
	rel := tsMs - c.baseMs + 1<<31
	us := now.Sub(c.start).Microseconds()
	if rel < 0 || rel >= 1<<32 || us < 0 || us >= 1<<32 {
		return
	}
	c.slots[slot].Store(uint64(rel)<<32 | uint64(us))
}

// latency returns how long ago the fix stamped tsMs was sent, if it is the
// newest one sent for slot.
func (c *sentClock) latency(slot int32, tsMs int64, now time.Time) (time.Duration, bool) {
	v := c.slots[slot].Load()
	if v == 0 || int64(v>>32) != tsMs-c.baseMs+1<<31 {
		return 0, false
	}
	sentAt := c.start.Add(time.Duration(v&0xffffffff) * time.Microsecond)
	return now.Sub(sentAt), true
}

// reservoir keeps a uniform sample of up to size latencies.
type reservoir struct {
	mu   sync.Mutex
	size int
	seen int64
	vals []time.Duration
	rng  *rand.Rand
}

func newReservoir(size int, seed uint64) *reservoir {
	return &reservoir{size: size, rng: rand.New(rand.NewPCG(seed, 7))}
}

func (r *reservoir) add(d time.Duration) {
	r.mu.Lock()
	r.seen++
	if len(r.vals) < r.size {
		r.vals = append(r.vals, d)
	} else if k := r.rng.Int64N(r.seen); k < int64(r.size) {
		r.vals[k] = d
	}
	r.mu.Unlock()
}

// Latency summarises ping→websocket latencies in milliseconds.
type Latency struct {
	Samples int64   `json:"samples"`
	P50     float64 `json:"p50_ms"`
	P95     float64 `json:"p95_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

func (r *reservoir) summary() Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := Latency{Samples: r.seen}
	if len(r.vals) == 0 {
		return l
	}
	v := slices.Clone(r.vals)
	slices.Sort(v)
	q := func(p float64) float64 {
		i := int(p * float64(len(v)-1))
		return float64(v[i].Microseconds()) / 1000
	}
	l.P50, l.P95, l.P99 = q(0.50), q(0.95), q(0.99)
	l.Max = float64(v[len(v)-1].Microseconds()) / 1000
	return l
}
