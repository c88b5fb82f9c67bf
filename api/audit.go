package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"dalil"
)

const auditKind = "audit"

// AuditEntry is one read of personal data by staff: who, what, when.
type AuditEntry struct {
	ID      string    `json:"id"` // time-ordered: sorting ids sorts by time
	Time    time.Time `json:"ts"`
	Role    Role      `json:"role"`
	Subject string    `json:"subject,omitempty"`
	TokenID string    `json:"token_id"`
	Action  string    `json:"action"` // "pilgrim.read", "trail.read", "nearby", …
	Target  string    `json:"target"` // PID, "camp:mina-094", "lat,lon r=…"
}

// auditLog appends entries as records of kind "audit". IDs are the time in
// nanoseconds, zero-padded, plus a sequence number, so the store's id order is
// time order and two entries in the same nanosecond do not collide.
type auditLog struct {
	rs  dalil.RecordStore
	seq atomic.Uint64
	now func() time.Time
}

func newAuditLog(rs dalil.RecordStore) *auditLog {
	return &auditLog{rs: rs, now: time.Now}
}

// auditID is the record id for an entry at t: sortable as a string.
func auditID(t time.Time, seq uint64) string {
	return formatAuditID(t.UnixNano(), seq)
}

// formatAuditID is auditID from the nanoseconds themselves.
func formatAuditID(nanos int64, seq uint64) string {
	return fmt.Sprintf("%020d-%06d", nanos, seq%1_000_000)
}

// auditIDLen is the length of every entry id: 20 digits, "-", 6 digits.
const auditIDLen = 27

// parseAuditID splits an entry id into its nanoseconds and sequence number.
// ok is false for anything but the exact shape auditID writes (a nanosecond
// count past what int64 holds included), so such a string is refused rather
// than used as a scan bound.
func parseAuditID(id string) (nanos int64, seq uint64, ok bool) {
	if len(id) != auditIDLen || id[20] != '-' {
		return 0, 0, false
	}
	for i := range len(id) {
		if i != 20 && (id[i] < '0' || id[i] > '9') {
			return 0, 0, false
		}
	}
	nanos, err := strconv.ParseInt(id[:20], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	seq, err = strconv.ParseUint(id[21:], 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return nanos, seq, true
}

// auditIDAfter is the first id that sorts after the (valid) entry id: the
// next sequence number, or sequence 0 of the next nanosecond. Every id has
// the same length and only digits around the "-", so no id lies between the
// two and a scan from the result reads nothing at or before id. ok is false
// when no id can follow (the last nanosecond's last sequence number).
func auditIDAfter(id string) (next string, ok bool) {
	nanos, seq, ok := parseAuditID(id)
	switch {
	case !ok:
		return "", false
	case seq < 999_999:
		return formatAuditID(nanos, seq+1), true
	case nanos < math.MaxInt64:
		return formatAuditID(nanos+1, 0), true
	}
	return "", false
}

func (a *auditLog) write(ctx context.Context, p Principal, action, target string) error {
	t := a.now().UTC()
	e := AuditEntry{
		ID: auditID(t, a.seq.Add(1)), Time: t,
		Role: p.Role, Subject: p.Subject, TokenID: p.TokenID,
		Action: action, Target: target,
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return a.rs.PutRecords(ctx, auditKind, []dalil.Record{{ID: e.ID, Data: data}})
}

// auditQuery selects entries: Since <= Time < Until (zero Until: no upper
// bound) and, when After (an entry id, as parseAuditID accepts) is set, ID >
// After: the later of the two starts. Only entries with exactly the given
// Target, Subject, Action and TokenID when they are not empty, at most Limit
// of them (0: no limit).
type auditQuery struct {
	Since, Until                     time.Time
	After                            string
	Target, Subject, Action, TokenID string
	Limit                            int
}

func (q *auditQuery) matches(e *AuditEntry) bool {
	return (q.Target == "" || e.Target == q.Target) &&
		(q.Subject == "" || e.Subject == q.Subject) &&
		(q.Action == "" || e.Action == q.Action) &&
		(q.TokenID == "" || e.TokenID == q.TokenID)
}

// start is the scan's first id: Since's bound, or the id just after After
// when that is later. ok is false when nothing can match (After is the last
// possible id, or the start is at or past Until).
func (q *auditQuery) start() (from string, ok bool) {
	from = auditBound(q.Since)
	if q.After != "" {
		next, ok := auditIDAfter(q.After)
		if !ok {
			return "", false
		}
		from = max(from, next)
	}
	if !q.Until.IsZero() && from >= auditBound(q.Until) {
		return "", false
	}
	return from, true
}

// find returns the entries q selects, oldest first. Ids sort by time, so the
// store seeks to the first id at Since (or just after After) and the scan
// ends at the first id at Until or at the limit: the log before the start is
// never read, nor the log after the answer is complete. Filters are applied
// while scanning, so a filtered query reads every entry of its time range
// (until the limit).
func (a *auditLog) find(ctx context.Context, q auditQuery) ([]AuditEntry, error) {
	out := []AuditEntry{}
	from, ok := q.start()
	if !ok {
		return out, nil
	}
	var end string
	if !q.Until.IsZero() {
		end = auditBound(q.Until)
	}
	err := a.rs.ScanRecordsFrom(ctx, auditKind, from, func(id string, data []byte) error {
		if end != "" && id >= end {
			return dalil.ErrStopScan
		}
		var e AuditEntry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("audit record %s: %w", id, err)
		}
		if !q.matches(&e) {
			return nil
		}
		out = append(out, e)
		if len(out) == q.Limit {
			return dalil.ErrStopScan
		}
		return nil
	})
	return out, err
}

// auditBound is the first id an entry at t can have: a scan bound. t is
// clamped to the times UnixNano holds (1970 to 2262 here), so that a bound
// far in the past or future neither overflows nor turns negative ("-…" ids)
// and still sorts before or after every entry.
func auditBound(t time.Time) string {
	lo, hi := time.Unix(0, 0), time.Unix(0, math.MaxInt64)
	switch {
	case t.Before(lo):
		t = lo
	case t.After(hi):
		t = hi
	}
	return auditID(t, 0)
}
