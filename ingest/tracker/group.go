package tracker

import (
	"context"
	"sync"
	"time"

	"dalil"
	"dalil/ingest"
)

// maxGroup ends a group's linger early once it holds this many fixes.
const maxGroup = 512

// groupReq is one connection's fixes waiting for a group commit.
type groupReq struct {
	ps   []dalil.Position
	done chan error // buffered 1, owned by the connection
}

// committer stores the fixes of many connections in one Sink call: every
// fix that arrived while the previous call was in flight goes into the next.
// A tracker sends one fix per frame and waits for its answer, so without
// this each fix would pay a whole durable commit of its own (~200–300 µs of
// CPU here, measured); grouped, the commit's cost is shared
// (docs/performance.md).
//
// Connections queue under a mutex and wake the committer only when they
// open a group (its linger starts) or fill it (its linger ends): a channel
// send per fix woke the committer once per fix during the linger, one
// goroutine wake-up per fix for nothing. A group holds at most one frame per
// connection, so it is bounded by the connection limit.
type committer struct {
	batch  *ingest.Batch
	linger time.Duration

	mu      sync.Mutex
	pending []groupReq
	fixes   int           // in pending
	kick    chan struct{} // cap 1: a group was opened or filled
	spare   []groupReq    // the last group's slice, reused (committer goroutine only)
}

func newCommitter(h *ingest.Handler, p ingest.Protocol, linger time.Duration) *committer {
	return &committer{batch: h.NewBatch(p), linger: linger, kick: make(chan struct{}, 1)}
}

// run commits until ctx ends.
func (g *committer) run(ctx context.Context) {
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case <-g.kick:
		case <-ctx.Done():
			return
		}
		// Wait up to linger for more fixes: at a few thousand fixes a
		// second a commit is over before the next fix arrives, and each
		// would pay the commit alone.
		linger.Reset(g.linger)
	wait:
		for {
			g.mu.Lock()
			full := g.fixes >= maxGroup
			g.mu.Unlock()
			if full {
				break
			}
			select {
			case <-linger.C:
				break wait
			case <-g.kick:
			case <-ctx.Done():
				break wait
			}
		}
		linger.Stop()
		g.mu.Lock()
		group := g.pending
		g.pending, g.fixes = g.spare[:0], 0
		g.mu.Unlock()
		if len(group) == 0 {
			g.spare = group
			continue
		}
		for _, r := range group {
			for _, p := range r.ps {
				g.batch.Add(p)
			}
		}
		_, err := g.batch.Commit(ctx)
		for _, r := range group {
			r.done <- err
		}
		clear(group)
		g.spare = group
	}
}

// commit hands ps to the committer and waits until they are durable (nil)
// or the commit failed.
func (g *committer) commit(ctx context.Context, ps []dalil.Position, done chan error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	opened := len(g.pending) == 0
	g.pending = append(g.pending, groupReq{ps: ps, done: done})
	g.fixes += len(ps)
	full := g.fixes >= maxGroup
	g.mu.Unlock()
	if opened || full {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The committer still answers into done (buffered): nothing leaks.
		return ctx.Err()
	}
}
