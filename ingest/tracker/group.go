package tracker

import (
	"context"
	"time"

	"dalil"
	"dalil/ingest"
)

// maxGroup bounds the fixes of one group commit.
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
type committer struct {
	batch  *ingest.Batch
	reqs   chan groupReq
	linger time.Duration
}

func newCommitter(h *ingest.Handler, p ingest.Protocol, linger time.Duration) *committer {
	return &committer{batch: h.NewBatch(p), reqs: make(chan groupReq, 1024), linger: linger}
}

// run commits until ctx ends.
func (g *committer) run(ctx context.Context) {
	var group []groupReq
	for {
		select {
		case r := <-g.reqs:
			group = append(group[:0], r)
		case <-ctx.Done():
			return
		}
		// Wait up to linger for more fixes: at a few thousand fixes a
		// second a commit is over before the next fix arrives, and each
		// would pay the commit alone.
		n := len(group[0].ps)
		linger := time.NewTimer(g.linger)
	more:
		for n < maxGroup {
			select {
			case r := <-g.reqs:
				group = append(group, r)
				n += len(r.ps)
			case <-linger.C:
				break more
			case <-ctx.Done():
				break more
			}
		}
		linger.Stop()
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
	}
}

// commit hands ps to the committer and waits until they are durable (nil)
// or the commit failed.
func (g *committer) commit(ctx context.Context, ps []dalil.Position, done chan error) error {
	select {
	case g.reqs <- groupReq{ps: ps, done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The committer still answers into done (buffered): nothing leaks.
		return ctx.Err()
	}
}
