package embedded

import (
	"bytes"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// latestMerger keeps a device's newest position under its 'l' key without a
// read on the append path: every append merges its position, and Pebble folds
// the operands with "keep the greatest (time, seq)". That is commutative and
// associative, so concurrent appends and out-of-order pings can never move the
// latest position backwards, whatever order batches commit or compact in.
//
// The name is persisted by Pebble; a store written with it cannot be opened
// with another merger, which is what we want.
var latestMerger = &pebble.Merger{
	Name: "dalil.latest.v1",
	Merge: func(key, value []byte) (pebble.ValueMerger, error) {
		return &newestValue{v: append([]byte(nil), value...)}, nil
	},
}

type newestValue struct{ v []byte }

func (m *newestValue) keep(value []byte) error {
	if newer(value, m.v) {
		m.v = append(m.v[:0], value...)
	}
	return nil
}

func (m *newestValue) MergeNewer(value []byte) error { return m.keep(value) }
func (m *newestValue) MergeOlder(value []byte) error { return m.keep(value) }

func (m *newestValue) Finish(includesBase bool) ([]byte, io.Closer, error) {
	return m.v, nil, nil
}

// newer reports whether latest value a sorts after b by (time, seq). A short
// (corrupt) value loses to anything well formed.
func newer(a, b []byte) bool {
	if len(a) < latestOrderLen {
		return false
	}
	if len(b) < latestOrderLen {
		return true
	}
	return bytes.Compare(a[:latestOrderLen], b[:latestOrderLen]) > 0
}
