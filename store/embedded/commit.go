package embedded

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"dalil"

	"github.com/cockroachdb/pebble/v2"
)

// Group commit. Every AppendPositions call encodes its positions straight
// into the batch of the open group (under one mutex: no copy, no hand-off of
// the data) and waits for that group to be durable. One committer goroutine
// takes the open group, opens the next one and commits the taken group with
// one WAL fsync. While it syncs, callers fill the next group, so the number
// of fsyncs per second stays bounded by the disk, not by the number of
// requests: at 25,000 one-fix requests a second and a 0.4 ms fsync a group
// holds ~10–25 requests. A caller is answered only when its group's commit
// returned: no acknowledgement before durability.
//
// A group is committed when the committer is free and (CommitWindow after the
// group's first write has passed, or the group holds MaxGroupRows positions),
// whichever comes first (default 200 µs; with no window a group is whatever
// arrived while the previous one synced).

// group is one batch under construction, then in commit.
type group struct {
	b       *pebble.Batch
	rows    int
	callers int
	taken   chan struct{} // closed when the committer takes the group
	durable chan struct{} // closed when its commit returned; err is then set
	err     error
	// latest is each device's newest position in the group, with its seq:
	// what its latest keys are merged with.
	latest []latestEntry
}

func newGroup(b *pebble.Batch, latest []latestEntry) *group {
	return &group{b: b, taken: make(chan struct{}), durable: make(chan struct{}), latest: latest[:0]}
}

type committer struct {
	db      *pebble.DB
	seq     *seqAlloc
	window  time.Duration
	maxRows int
	latest  *latestWriter

	mu  sync.Mutex
	cur *group
	// spare is the latest slice of the last committed group, reused by the
	// next (only the committer goroutine touches it).
	spare []latestEntry
	timer *time.Timer   // the window's, reused (committer goroutine only)
	kick  chan struct{} // cap 1: the open group has work, or is full
	stop  chan struct{}
	done  chan struct{}

	commits, appends, positions atomic.Int64
}

func newCommitter(db *pebble.DB, seq *seqAlloc, latest *latestWriter, window time.Duration, maxRows int) *committer {
	c := &committer{db: db, seq: seq, latest: latest, window: window, maxRows: maxRows,
		cur: newGroup(db.NewBatch(), nil), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c
}

// append adds ps to the open group and waits until that group is durable.
// A caller whose context ends first gets its context error; its positions may
// still be committed with the group (at least once, never lost once
// acknowledged).
func (c *committer) append(ctx context.Context, ps []dalil.Position) error {
	for {
		c.mu.Lock()
		g := c.cur
		if g.rows > 0 && g.rows+len(ps) > c.maxRows {
			// Full: wait for the committer to take it, then join the next.
			c.mu.Unlock()
			c.signal()
			select {
			case <-g.taken:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		first, err := c.seq.take(len(ps))
		if err != nil {
			c.mu.Unlock()
			return unavailable("append", err)
		}
		encodePositions(g, ps, first)
		opened := g.rows == 0
		g.rows += len(ps)
		g.callers++
		full := g.rows >= c.maxRows
		c.mu.Unlock()
		// Wake the committer only when it has something new to decide: the
		// group's first write starts its window, a full group ends it. A
		// signal per caller would wake it once per request during the
		// window only to find the group not full yet: one goroutine
		// wake-up per one-fix request, measurable on this VM.
		if opened || full {
			c.signal()
		}
		select {
		case <-g.durable:
			return g.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *committer) signal() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// encodePositions writes ps into g's batch: one key per position, and each
// device's newest position into g.latest (a device flushing its buffer sends
// one run; a run costs one entry).
func encodePositions(g *group, ps []dalil.Position, first uint64) {
	b := g.b
	for i := range ps {
		p := &ps[i]
		op := b.SetDeferred(positionKeyLen(p.Device), valueLen(p))
		putPositionKey(op.Key, p.Device, p.Time, first+uint64(i))
		putValue(op.Value, p)
		_ = op.Finish() // a batch without an index cannot fail here
	}
	for i := 0; i < len(ps); {
		best := i
		j := i + 1
		for ; j < len(ps) && ps[j].Device == ps[i].Device; j++ {
			if ps[j].Time.UnixMicro() >= ps[best].Time.UnixMicro() { // the precision kept
				best = j
			}
		}
		g.latest = append(g.latest, latestEntry{p: ps[best], seq: first + uint64(best)})
		i = j
	}
}

func (c *committer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.kick:
		case <-c.stop:
			c.commitOpen() // what callers that gave up left behind
			return
		}
		if c.window > 0 {
			c.waitWindow()
		}
		c.commitOpen()
	}
}

// waitWindow lets the open group fill for up to the window, or until it is
// full.
func (c *committer) waitWindow() {
	if c.timer == nil {
		c.timer = time.NewTimer(c.window)
	} else {
		c.timer.Reset(c.window) // Go ≥ 1.23: Reset drains a fired timer
	}
	t := c.timer
	defer t.Stop()
	for {
		c.mu.Lock()
		full := c.cur.rows >= c.maxRows
		c.mu.Unlock()
		if full {
			return
		}
		select {
		case <-t.C:
			return
		case <-c.kick:
		case <-c.stop:
			return
		}
	}
}

// commitOpen takes the open group, opens the next and commits the taken one.
func (c *committer) commitOpen() {
	c.mu.Lock()
	g := c.cur
	if g.rows == 0 {
		c.mu.Unlock()
		return
	}
	c.cur = newGroup(c.db.NewBatch(), c.spare)
	c.spare = nil
	c.mu.Unlock()
	close(g.taken)

	c.latest.add(g) // each device's newest position of the group
	if err := g.b.Commit(pebble.Sync); err != nil {
		g.err = unavailable("append", err)
	} else {
		c.commits.Add(1)
		c.appends.Add(int64(g.callers))
		c.positions.Add(int64(g.rows))
	}
	close(g.durable)
	_ = g.b.Close()
	clear(g.latest) // drop the device strings for the collector
	c.spare, g.latest = g.latest, nil
}

// close commits what is left and stops the committer. Callers must have
// left (the store's gate is closed).
func (c *committer) close() {
	close(c.stop)
	<-c.done
}

// CommitStats counts group commits since the store was opened.
type CommitStats struct {
	Commits   int64 // fsynced groups
	Appends   int64 // AppendPositions calls acknowledged
	Positions int64 // positions in them
}

// CommitStats reports how many calls and positions shared how many commits.
func (s *Store) CommitStats() CommitStats {
	return CommitStats{Commits: s.commit.commits.Load(), Appends: s.commit.appends.Load(), Positions: s.commit.positions.Load()}
}
