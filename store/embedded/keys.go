package embedded

import (
	"encoding/binary"
	"time"
)

// Key layout (all integers big-endian so that byte order is numeric order):
//
//	'p' device 0x00 time(8) seq(8)  → position value     (a device's trail is one range)
//	'l' device                       → latest value       (merge operand, newest wins)
//	'r' kind 0x00 id                 → record data        (a kind is one range, in id order)
//	'm' "seq"                        → sequence lease     (uint64)
//
// Device ids, kinds and ids never contain NUL (package check refuses it), so
// the 0x00 separator makes "dev1" and "dev10" disjoint ranges.
// time is Unix microseconds with the sign bit flipped, so that negative times
// sort before positive ones. seq is unique per store: it keeps two pings of the
// same device and microsecond apart and orders them by arrival.
const (
	prefixPosition = 'p'
	prefixLatest   = 'l'
	prefixRecord   = 'r'
	prefixMeta     = 'm'
)

var seqLeaseKey = []byte{prefixMeta, 's', 'e', 'q'}

const (
	timeLen = 8
	seqLen  = 8
)

func encodeTime(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b, uint64(t.UnixMicro())^(1<<63))
}

func decodeTime(b []byte) time.Time {
	return time.UnixMicro(int64(binary.BigEndian.Uint64(b) ^ (1 << 63))).UTC()
}

// positionKeyLen is the length of a position key for device.
func positionKeyLen(device string) int { return 1 + len(device) + 1 + timeLen + seqLen }

// putPositionKey writes the key of one position into b (len positionKeyLen).
func putPositionKey(b []byte, device string, t time.Time, seq uint64) {
	b[0] = prefixPosition
	n := 1 + copy(b[1:], device)
	b[n] = 0
	n++
	encodeTime(b[n:], t)
	binary.BigEndian.PutUint64(b[n+timeLen:], seq)
}

// devicePrefix is 'p' device 0x00: every position of one device and no other.
func devicePrefix(device string) []byte {
	b := make([]byte, 0, 1+len(device)+1+timeLen)
	b = append(b, prefixPosition)
	b = append(b, device...)
	return append(b, 0)
}

// positionBound is the first key of device at time t (seq 0), an inclusive
// lower or exclusive upper bound for a time range.
func positionBound(device string, t time.Time) []byte {
	b := devicePrefix(device)
	b = b[:len(b)+timeLen]
	encodeTime(b[len(b)-timeLen:], t)
	return b
}

// positionKeyTime returns the time inside a position key.
func positionKeyTime(key []byte) time.Time {
	return decodeTime(key[len(key)-seqLen-timeLen:])
}

func latestKeyLen(device string) int { return 1 + len(device) }

func putLatestKey(b []byte, device string) {
	b[0] = prefixLatest
	copy(b[1:], device)
}

func latestKey(device string) []byte {
	b := make([]byte, latestKeyLen(device))
	putLatestKey(b, device)
	return b
}

func recordPrefix(kind string) []byte {
	b := make([]byte, 0, 2+len(kind))
	b = append(b, prefixRecord)
	b = append(b, kind...)
	return append(b, 0)
}

func recordKey(kind, id string) []byte {
	return append(recordPrefix(kind), id...)
}

// prefixEnd returns the smallest key greater than every key starting with p.
// Callers' prefixes never end in 0xff (they end in a separator or a letter).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
