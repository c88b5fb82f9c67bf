package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"dalil/tracking"
)

// Latest positions without a write per fix. A group commit (commit.go)
// writes its positions plus one journal key: 'j' seq(8) → each device's
// newest position in the group. The checkpointer folds the journal into the
// 'l' keys (one merge operand per device per checkpoint, however many fixes
// the device sent meanwhile) and deletes the journal it folded, in one
// batch. Latest (and so a restart) reads the 'l' keys plus the journal
// written after the last checkpoint.
//
// Before, every group wrote a merge operand per device besides the position:
// two memtable inserts per one-fix request. Now it is one insert per fix and
// one per group.

// latestEntry is a device's newest position in a group, with its seq.
type latestEntry struct {
	p   tracking.Position
	seq uint64
}

// Checkpoint defaults: fold the journal every 30 s, or as soon as it holds
// this many entries, whichever comes first. The entry bound caps what a
// restart replays (docs/performance.md has the restart figures).
const (
	defaultCheckpointEvery = 30 * time.Second
	defaultJournalEntries  = 1_000_000
)

type checkpointer struct {
	db       *pebble.DB
	every    time.Duration
	maxItems int64

	items atomic.Int64  // journal entries written since the last checkpoint
	kick  chan struct{} // cap 1: the journal is long, checkpoint now
	stop  chan struct{}
	done  chan struct{}

	run         sync.Mutex // one checkpoint at a time
	checkpoints atomic.Int64
	errs        atomic.Int64
}

func newCheckpointer(db *pebble.DB, every time.Duration, maxItems int) *checkpointer {
	if every <= 0 {
		every = defaultCheckpointEvery
	}
	if maxItems <= 0 {
		maxItems = defaultJournalEntries
	}
	k := &checkpointer{db: db, every: every, maxItems: int64(maxItems),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go k.loop()
	return k
}

// journal adds one journal key with the group's latest positions to its
// batch. The key is the seq of the group's first entry: groups take their
// seqs in commit order, so journal keys sort in commit order.
func (k *checkpointer) journal(g *group) {
	if len(g.latest) == 0 {
		return
	}
	n := 0
	for i := range g.latest {
		e := &g.latest[i]
		vl := latestValueLen(&e.p)
		n += uvarintLen(len(e.p.Device)) + len(e.p.Device) + uvarintLen(vl) + vl
	}
	op := g.b.SetDeferred(journalKeyLen, n)
	putJournalKey(op.Key, g.latest[0].seq)
	v := op.Value[:0]
	for i := range g.latest {
		e := &g.latest[i]
		v = binary.AppendUvarint(v, uint64(len(e.p.Device)))
		v = append(v, e.p.Device...)
		vl := latestValueLen(&e.p)
		v = binary.AppendUvarint(v, uint64(vl))
		v = v[:len(v)+vl]
		putLatestValue(v[len(v)-vl:], &e.p, e.seq)
	}
	_ = op.Finish() // a batch without an index cannot fail here
}

// applied is told that a group's journal is durable.
func (k *checkpointer) applied(latest []latestEntry) {
	if k.items.Add(int64(len(latest))) >= k.maxItems {
		select {
		case k.kick <- struct{}{}:
		default:
		}
	}
}

func (k *checkpointer) loop() {
	defer close(k.done)
	t := time.NewTicker(k.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-k.kick:
		case <-k.stop:
			return
		}
		if k.items.Load() == 0 {
			continue
		}
		if err := k.checkpoint(); err != nil {
			k.errs.Add(1) // the journal stays; the next checkpoint retries
		}
	}
}

// close stops the loop and folds what is left, so that the next open reads
// no journal.
func (k *checkpointer) close() error {
	close(k.stop)
	<-k.done
	return k.checkpoint()
}

// checkpoint folds the journal into the 'l' keys and deletes the journal it
// folded, atomically. It needs no sync of its own: a crash before the batch
// reaches the disk leaves the journal, which Latest reads.
func (k *checkpointer) checkpoint() error {
	k.run.Lock()
	defer k.run.Unlock()
	n := k.items.Load()
	newest, last, err := foldJournal(context.Background(), k.db)
	if err != nil {
		return err
	}
	if last == nil {
		k.items.Add(-n)
		return nil
	}
	b := k.db.NewBatch()
	defer b.Close()
	for dev, v := range newest {
		op := b.MergeDeferred(latestKeyLen(dev), len(v))
		putLatestKey(op.Key, dev)
		copy(op.Value, v)
		_ = op.Finish()
	}
	end := append(last, 0) // the first key after last
	if err := b.DeleteRange([]byte{prefixJournal}, end, nil); err != nil {
		return err
	}
	if err := b.Set(journalLowKey, end, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return unavailable("checkpoint", err)
	}
	k.items.Add(-n)
	k.checkpoints.Add(1)
	return nil
}

// foldJournal reads the journal and returns each device's newest latest
// value in it, and the last journal key read (nil: empty journal).
func foldJournal(ctx context.Context, r pebble.Reader) (map[string][]byte, []byte, error) {
	// Start after the last checkpoint's journal: what it folded lies under
	// its range deletion, and an iterator would still step over every
	// deleted key still in the memtable.
	lower := []byte{prefixJournal}
	if v, closer, err := r.Get(journalLowKey); err == nil {
		lower = append([]byte(nil), v...)
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return nil, nil, unavailable("journal", err)
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd([]byte{prefixJournal})})
	if err != nil {
		return nil, nil, unavailable("journal", err)
	}
	defer it.Close()
	// Values are copied into slabs, not one allocation each: a restart
	// after a crash folds up to JournalEntries of them.
	newest := make(map[string][]byte)
	var slab []byte
	keep := func(val []byte) []byte {
		if len(slab)+len(val) > cap(slab) {
			slab = make([]byte, 0, max(64<<10, len(val)))
		}
		slab = append(slab, val...)
		return slab[len(slab)-len(val) : len(slab) : len(slab)]
	}
	var last []byte
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, unavailable("journal", err)
		}
		if err := eachJournalEntry(v, func(dev, val []byte) {
			if old, ok := newest[string(dev)]; !ok {
				newest[string(dev)] = keep(val)
			} else if newer(val, old) {
				if len(old) >= len(val) { // same device, same shape: overwrite in place
					newest[string(dev)] = old[:copy(old[:len(val)], val)]
				} else {
					newest[string(dev)] = keep(val)
				}
			}
		}); err != nil {
			return nil, nil, fmt.Errorf("embedded: journal %x: %w", it.Key(), err)
		}
		last = append(last[:0], it.Key()...)
	}
	if err := it.Error(); err != nil {
		return nil, nil, unavailable("journal", err)
	}
	return newest, last, nil
}

// eachJournalEntry calls fn for every (device, latest value) of one journal
// value; the slices alias v.
func eachJournalEntry(v []byte, fn func(dev, val []byte)) error {
	for len(v) > 0 {
		dl, n := binary.Uvarint(v)
		if n <= 0 || uint64(len(v)-n) < dl {
			return errCorrupt
		}
		dev := v[n : n+int(dl)]
		v = v[n+int(dl):]
		vl, n := binary.Uvarint(v)
		if n <= 0 || uint64(len(v)-n) < vl {
			return errCorrupt
		}
		fn(dev, v[n:n+int(vl)])
		v = v[n+int(vl):]
	}
	return nil
}

// latestAll calls fn with every device's newest position, in device order:
// the 'l' keys, overridden by newer journal entries, plus devices only the
// journal names. It reads one snapshot, so a concurrent checkpoint (which
// moves entries from the journal to 'l' atomically) is seen before or
// after, never half.
func (s *Store) latestAll(ctx context.Context, fn func(tracking.Position) error) error {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	journal, _, err := foldJournal(ctx, snap)
	if err != nil {
		return err
	}
	rest := make([]string, 0, len(journal))
	for dev := range journal {
		rest = append(rest, dev)
	}
	slices.Sort(rest)
	emit := func(dev string, v []byte) error {
		p, err := decodeLatestValue(dev, v)
		if err != nil {
			return fmt.Errorf("embedded: latest %q: %w", dev, err)
		}
		return fn(p)
	}
	lower := []byte{prefixLatest}
	it, err := snap.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return unavailable("latest", err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return unavailable("latest", err)
		}
		dev := it.Key()[1:]
		for len(rest) > 0 && rest[0] < string(dev) { // journal-only devices before this one
			if err := emit(rest[0], journal[rest[0]]); err != nil {
				return err
			}
			rest = rest[1:]
		}
		if len(rest) > 0 && rest[0] == string(dev) {
			if jv := journal[rest[0]]; newer(jv, v) {
				v = jv
			}
			rest = rest[1:]
		}
		if err := emit(string(dev), v); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return unavailable("latest", err)
	}
	for _, dev := range rest {
		if err := emit(dev, journal[dev]); err != nil {
			return err
		}
	}
	return nil
}

const journalKeyLen = 1 + seqLen

// journalLowKey holds the first journal key the last checkpoint did not fold.
var journalLowKey = []byte{prefixMeta, 'j', 'l', 'o', 'w'}

func putJournalKey(b []byte, seq uint64) {
	b[0] = prefixJournal
	binary.BigEndian.PutUint64(b[1:], seq)
}

func uvarintLen(x int) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}
