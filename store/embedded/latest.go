package embedded

import (
	"dalil"
)

// latestEntry is a device's newest position in a group, with its seq.
type latestEntry struct {
	p   dalil.Position
	seq uint64
}

// latestWriter keeps every device's latest position under its 'l' key: each
// group merges its devices' newest positions there, and latestMerger folds
// the operands. (A journal key per group folded into 'l' by periodic
// checkpoints was measured and dropped: it saved 0.5–1.4 CPU-µs per one-fix
// append (BenchmarkOneFixAppend), 1–2 % of a 60–100 µs request, and made a
// restart with 2 M devices slower; docs/storage.md.)
type latestWriter struct{}

// add adds the group's latest positions to its batch: one merge operand
// per device run, folded by latestMerger.
func (k *latestWriter) add(g *group) {
	for i := range g.latest {
		e := &g.latest[i]
		op := g.b.MergeDeferred(latestKeyLen(e.p.Device), latestValueLen(&e.p))
		putLatestKey(op.Key, e.p.Device)
		putLatestValue(op.Value, &e.p, e.seq)
		_ = op.Finish()
	}
}
