package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// seqLeaseBlock is how many sequence numbers one persisted lease covers: one
// extra synced write per million positions.
const seqLeaseBlock = 1 << 20

// seqAlloc hands out the per-position sequence numbers that keep same-time
// pings apart. Numbers are leased in blocks: the lease's end is synced before
// any number below it is used, and a reopened store starts at the last lease's
// end, so a number is never reused even after a crash.
type seqAlloc struct {
	db    *pebble.DB
	mu    sync.Mutex
	next  uint64
	lease uint64 // every number < lease may have been used
}

func newSeqAlloc(db *pebble.DB) (*seqAlloc, error) {
	a := &seqAlloc{db: db}
	v, closer, err := db.Get(seqLeaseKey)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("read sequence lease: %w", err)
	default:
		if len(v) != 8 {
			closer.Close()
			return nil, fmt.Errorf("read sequence lease: %d bytes, want 8", len(v))
		}
		a.next = binary.BigEndian.Uint64(v)
		closer.Close()
	}
	a.lease = a.next
	return a, nil
}

// take reserves n consecutive numbers and returns the first.
func (a *seqAlloc) take(n int) (uint64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	first := a.next
	end := first + uint64(n)
	if end > a.lease {
		lease := end + seqLeaseBlock
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], lease)
		if err := a.db.Set(seqLeaseKey, b[:], pebble.Sync); err != nil {
			return 0, fmt.Errorf("persist sequence lease: %w", err)
		}
		a.lease = lease
	}
	a.next = end
	return first, nil
}
