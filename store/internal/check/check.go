// Package check holds the input rules both stores enforce, so that the
// embedded store and PostgreSQL accept and refuse exactly the same names.
//
// PostgreSQL text cannot hold NUL bytes or invalid UTF-8, and the embedded
// store uses NUL as the separator inside its keys; refusing them in both keeps
// the two stores interchangeable.
package check

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"dalil"
)

// MaxNameLen bounds device ids, record kinds and record ids in bytes; keys stay
// small and a runaway id is refused rather than stored.
const MaxNameLen = 256

// MinYear and MaxYear bound a position's time. Ingest filters far smaller
// windows; this only keeps a zero or garbage time from creating a partition
// (PostgreSQL) or a key (Pebble) nobody will ever query.
const (
	MinYear = 1970
	MaxYear = 9999
)

// Name reports why s cannot be used as a device id, record kind or record id.
func Name(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case len(s) > MaxNameLen:
		return fmt.Errorf("%s is %d bytes long, the limit is %d", what, len(s), MaxNameLen)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s %q contains a NUL byte", what, s)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	return nil
}

// Positions checks every position of a batch before anything is written, so
// that a bad batch is refused whole and names the offending index.
func Positions(ps []dalil.Position) error {
	for i := range ps {
		if err := Name("device", ps[i].Device); err != nil {
			return fmt.Errorf("position %d: %w", i, err)
		}
		if y := ps[i].Time.Year(); y < MinYear || y > MaxYear {
			return fmt.Errorf("position %d (device %q): time %s is outside the years %d..%d",
				i, ps[i].Device, ps[i].Time.Format(time.RFC3339), MinYear, MaxYear)
		}
	}
	return nil
}

// Records checks a record batch of one kind before anything is written.
func Records(kind string, recs []dalil.Record) error {
	if err := Name("record kind", kind); err != nil {
		return err
	}
	for i := range recs {
		if err := Name("record id", recs[i].ID); err != nil {
			return fmt.Errorf("record %d of kind %q: %w", i, kind, err)
		}
	}
	return nil
}

// Record checks a kind and an id for a single-record call.
func Record(kind, id string) error {
	if err := Name("record kind", kind); err != nil {
		return err
	}
	return Name("record id", id)
}

// ScanFrom checks a range scan's kind and start. "" starts at the first id;
// any other start follows the id rules, so that both stores refuse the same
// bounds (PostgreSQL text cannot hold NUL or invalid UTF-8).
func ScanFrom(kind, from string) error {
	if err := Name("record kind", kind); err != nil {
		return err
	}
	if from == "" {
		return nil
	}
	return Name("scan start id", from)
}

// Time is the precision both stores keep: PostgreSQL timestamptz holds
// microseconds, so the embedded store truncates the same way and a position
// reads back identically from either.
func Time(t time.Time) time.Time {
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// Clamp bounds a query time (a Trail range, a retention cut) to the span
// positions can have, so that "since the beginning" or "until forever"
// (zero time, year 1, far future) neither overflows a key nor trips
// PostgreSQL's timestamp range, and then truncates it to microseconds.
func Clamp(t time.Time) time.Time {
	lo := time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
	hi := time.Date(MaxYear+1, 1, 1, 0, 0, 0, 0, time.UTC)
	switch {
	case t.Before(lo):
		return lo
	case t.After(hi):
		return hi
	}
	return Time(t)
}
