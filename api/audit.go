package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"dalil/tracking"
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
	rs  tracking.RecordStore
	seq atomic.Uint64
	now func() time.Time
}

func newAuditLog(rs tracking.RecordStore) *auditLog {
	return &auditLog{rs: rs, now: time.Now}
}

// auditID is the record id for an entry at t: sortable as a string.
func auditID(t time.Time, seq uint64) string {
	return fmt.Sprintf("%020d-%06d", t.UnixNano(), seq%1_000_000)
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
	return a.rs.PutRecords(ctx, auditKind, []tracking.Record{{ID: e.ID, Data: data}})
}

// auditQuery selects entries: Since <= Time < Until (zero Until: no upper
// bound), with exactly the given Target, Subject and Action when they are not
// empty, at most Limit of them (0: no limit).
type auditQuery struct {
	Since, Until            time.Time
	Target, Subject, Action string
	Limit                   int
}

func (q *auditQuery) matches(e *AuditEntry) bool {
	return (q.Target == "" || e.Target == q.Target) &&
		(q.Subject == "" || e.Subject == q.Subject) &&
		(q.Action == "" || e.Action == q.Action)
}

// find returns the entries q selects, oldest first. Ids sort by time, so the
// store seeks to the first id at Since and the scan ends at the first id at
// Until or at the limit: the log before Since is never read, nor the log
// after the answer is complete. Filters are applied while scanning, so a
// filtered query reads every entry of its time range (until the limit).
func (a *auditLog) find(ctx context.Context, q auditQuery) ([]AuditEntry, error) {
	var end string
	if !q.Until.IsZero() {
		end = auditBound(q.Until)
	}
	out := []AuditEntry{}
	err := a.rs.ScanRecordsFrom(ctx, auditKind, auditBound(q.Since), func(id string, data []byte) error {
		if end != "" && id >= end {
			return tracking.ErrStopScan
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
			return tracking.ErrStopScan
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
