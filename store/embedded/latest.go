package embedded

import (
	"github.com/cockroachdb/pebble/v2"

	"dalil/tracking"
)

// latestEntry is a device's newest position in a group, with its seq.
type latestEntry struct {
	p   tracking.Position
	seq uint64
}

// checkpointer keeps every device's latest position under its 'l' key.
type checkpointer struct{}

// journal adds the group's latest positions to its batch: one merge operand
// per device run, folded by latestMerger.
func (k *checkpointer) journal(g *group) {
	for i := range g.latest {
		e := &g.latest[i]
		op := g.b.MergeDeferred(latestKeyLen(e.p.Device), latestValueLen(&e.p))
		putLatestKey(op.Key, e.p.Device)
		putLatestValue(op.Value, &e.p, e.seq)
		_ = op.Finish()
	}
}

// applied is told the latest positions of a committed group.
func (k *checkpointer) applied([]latestEntry) {}

var _ = pebble.Sync
