package api

import (
	"context"
	"encoding/json"
	"fmt"
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

// since returns up to limit entries at or after t, oldest first. It scans the
// whole log: the store has no range scan, and the audit log is read rarely.
func (a *auditLog) since(ctx context.Context, t time.Time, limit int) ([]AuditEntry, error) {
	from := auditID(t, 0)
	out := []AuditEntry{}
	err := a.rs.ScanRecords(ctx, auditKind, func(id string, data []byte) error {
		if id < from || len(out) >= limit {
			return nil
		}
		var e AuditEntry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("audit record %s: %w", id, err)
		}
		out = append(out, e)
		return nil
	})
	return out, err
}
