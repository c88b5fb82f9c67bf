package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"dalil/tracking"
)

// auditT0 is long before the fixture's own (present-day) entries, so tests
// that bound their queries by time see only the entries they wrote.
var auditT0 = time.Date(2025, 6, 5, 10, 0, 0, 0, time.UTC)

// writeAudit writes one entry per spec, spec i at auditT0 + i minutes, through
// a second audit log over the server's store (with its own clock).
func writeAudit(t *testing.T, rs tracking.RecordStore, specs []auditSpec) {
	t.Helper()
	al := newAuditLog(rs)
	for i, sp := range specs {
		al.now = func() time.Time { return auditT0.Add(time.Duration(i) * time.Minute) }
		p := Principal{Role: RoleOperator, Subject: sp.subject, TokenID: "tok_" + sp.subject}
		if err := al.write(t.Context(), p, sp.action, sp.target); err != nil {
			t.Fatal(err)
		}
	}
}

type auditSpec struct{ subject, action, target string }

type auditAnswer struct {
	Count   int          `json:"count"`
	Entries []AuditEntry `json:"entries"`
}

// auditMinutes lists the entries' times as minutes after auditT0.
func auditMinutes(es []AuditEntry) []int {
	out := []int{}
	for _, e := range es {
		out = append(out, int(e.Time.Sub(auditT0)/time.Minute))
	}
	return out
}

// auditAt is auditT0 + m minutes, as a query parameter.
func auditAt(m int) string {
	return auditT0.Add(time.Duration(m) * time.Minute).Format(time.RFC3339)
}

func TestAuditQuery(t *testing.T) {
	f := newFixture(t)
	specs := []auditSpec{ // entry i at minute i
		{"desk-1", "pilgrim.read", "a1"},
		{"desk-2", "pilgrim.read", "a2"},
		{"desk-1", "trail.read", "a1"},
		{"desk-2", "nearby", "21.4,39.9 r=50"},
		{"desk-1", "pilgrim.read", "b1"},
		{"desk-2", "pilgrim.read", "a1"},
		{"desk-1", "route.read", "a1"},
		{"desk-1", "pilgrim.read", "a2"},
		{"desk-2", "trail.read", "a1"},
		{"desk-1", "pilgrim.read", "a1"},
	}
	writeAudit(t, f.st, specs)

	get := func(query string) []int {
		t.Helper()
		var got auditAnswer
		f.getJSON("/v1/audit?"+query, "admin", &got)
		if got.Count != len(got.Entries) {
			t.Fatalf("%s: count %d for %d entries", query, got.Count, len(got.Entries))
		}
		for i := 1; i < len(got.Entries); i++ {
			if got.Entries[i-1].ID >= got.Entries[i].ID {
				t.Fatalf("%s: entries not oldest first: %+v", query, got.Entries)
			}
		}
		return auditMinutes(got.Entries)
	}
	end := "&until=" + auditAt(60) // leaves out the fixture's present-day entries, if any
	for _, tc := range []struct {
		query string
		want  []int
	}{
		{"since=" + auditAt(0) + end, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"since=" + auditAt(3) + end, []int{3, 4, 5, 6, 7, 8, 9}},
		{"since=" + auditT0.Add(3*time.Minute+time.Nanosecond).Format(time.RFC3339Nano) + end, []int{4, 5, 6, 7, 8, 9}},
		{"since=" + auditAt(3) + "&limit=2" + end, []int{3, 4}},
		{"since=" + auditAt(3) + "&until=" + auditAt(6), []int{3, 4, 5}}, // until is exclusive
		{"since=" + auditAt(10) + end, []int{}},
		// Without since: the 24 hours before until.
		{"until=" + auditAt(5), []int{0, 1, 2, 3, 4}},
		{"until=" + auditT0.Add(25*time.Hour).Format(time.RFC3339), []int{}},
		// Filters are exact and combine; the limit counts matching entries.
		{"since=" + auditAt(0) + "&target=a1" + end, []int{0, 2, 5, 6, 8, 9}},
		{"since=" + auditAt(0) + "&target=a1&limit=3" + end, []int{0, 2, 5}},
		{"since=" + auditAt(3) + "&target=a1&limit=3" + end, []int{5, 6, 8}},
		{"since=" + auditAt(0) + "&target=a" + end, []int{}},
		{"since=" + auditAt(0) + "&target=" + url.QueryEscape("21.4,39.9 r=50") + end, []int{3}},
		{"since=" + auditAt(0) + "&subject=desk-2" + end, []int{1, 3, 5, 8}},
		{"since=" + auditAt(0) + "&action=trail.read" + end, []int{2, 8}},
		{"since=" + auditAt(0) + "&action=pilgrim.read&subject=desk-1&target=a1" + end, []int{0, 9}},
		{"since=" + auditAt(0) + "&action=pilgrim.read&target=a1&until=" + auditAt(9), []int{0, 5}},
		{"since=" + auditAt(0) + "&action=case.read" + end, []int{}},
	} {
		if got := get(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("GET /v1/audit?%s: entries at minutes %v, want %v", tc.query, got, tc.want)
		}
	}

	// The entries carry everything that was written.
	var got auditAnswer
	f.getJSON("/v1/audit?since="+auditAt(3)+"&limit=1", "admin", &got)
	e := got.Entries[0]
	if e.Role != RoleOperator || e.Subject != "desk-2" || e.TokenID != "tok_desk-2" || e.Action != "nearby" ||
		e.Target != "21.4,39.9 r=50" || !e.Time.Equal(auditT0.Add(3*time.Minute)) || e.ID != auditID(e.Time, 4) {
		t.Errorf("entry at minute 3 = %+v", e)
	}
}

func TestAuditQueryBadParams(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ query, field string }{
		{"since=yesterday", "since"},
		{"until=soon", "until"},
		{"since=" + auditAt(5) + "&until=" + auditAt(5), "until"},
		{"since=" + auditAt(5) + "&until=" + auditAt(4), "until"},
		{"limit=0", "limit"},
		{"limit=100001", "limit"},
		{"limit=ten", "limit"},
		{"target=%ff", "target"},
		{"subject=%c3%28", "subject"},
		{"action=%80", "action"},
	} {
		code, body := f.do("GET", "/v1/audit?"+tc.query, "admin", "")
		var eb errorBody
		_ = json.Unmarshal(body, &eb)
		if code != http.StatusBadRequest || eb.Field != tc.field || eb.Error == "" {
			t.Errorf("GET /v1/audit?%s: %d %s, want 400 naming %s", tc.query, code, body, tc.field)
		}
	}
	// Only admins read the log, whatever the parameters.
	for _, who := range []string{"operator", "guideA", "pilgrimA", "device", ""} {
		code, _ := f.do("GET", "/v1/audit?target=a1&since="+auditAt(0), who, "")
		want := http.StatusForbidden
		if who == "" {
			want = http.StatusUnauthorized
		}
		if code != want {
			t.Errorf("GET /v1/audit as %q: %d, want %d", who, code, want)
		}
	}
}

// countingStore counts the audit records a store hands to scan callbacks and
// the whole-log scans, to show what a query reads.
type countingStore struct {
	tracking.Store
	read      *atomic.Int64
	fullScans *atomic.Int64
}

func (s countingStore) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	if kind == auditKind {
		s.fullScans.Add(1)
	}
	return s.Store.ScanRecords(ctx, kind, s.count(kind, fn))
}

func (s countingStore) ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	return s.Store.ScanRecordsFrom(ctx, kind, from, s.count(kind, fn))
}

func (s countingStore) count(kind string, fn func(id string, data []byte) error) func(id string, data []byte) error {
	return func(id string, data []byte) error {
		if kind == auditKind {
			s.read.Add(1)
		}
		return fn(id, data)
	}
}

// A query reads the log from since on, and stops at until or at the limit:
// with 2,000 entries, asking for 10 from the 1,900th reads 10.
func TestAuditQueryReadsOnlyItsRange(t *testing.T) {
	var read, fullScans atomic.Int64
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.Store = countingStore{Store: d.Store, read: &read, fullScans: &fullScans}
	})
	const n = 2000
	recs := make([]tracking.Record, n)
	for i := range recs {
		ts := auditT0.Add(time.Duration(i) * time.Second)
		data, err := json.Marshal(AuditEntry{ID: auditID(ts, uint64(i)), Time: ts, Role: RoleOperator,
			TokenID: "tok_x", Action: "pilgrim.read", Target: fmt.Sprintf("p%d", i%7)})
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = tracking.Record{ID: auditID(ts, uint64(i)), Data: data}
	}
	if err := f.st.PutRecords(t.Context(), auditKind, recs); err != nil {
		t.Fatal(err)
	}
	sec := func(i int) string { return auditT0.Add(time.Duration(i) * time.Second).Format(time.RFC3339) }
	for _, tc := range []struct {
		query     string
		n, reads  int
		firstSecs int
	}{
		{"since=" + sec(1900) + "&limit=10", 10, 10, 1900},
		// until stops the scan at the first entry past it.
		{"since=" + sec(1900) + "&until=" + sec(1950), 50, 51, 1900},
		// A filter reads what it must skip, and no further than its limit:
		// target p3 is every 7th entry (i%7 == 3): 1907, 1914 and 1921
		// after 1901, which reads 1901 to 1921.
		{"since=" + sec(1901) + "&target=p3&limit=3", 3, 21, 1907},
		{"since=" + sec(1995) + "&until=" + sec(3000), 5, 5, 1995},
	} {
		read.Store(0)
		var got auditAnswer
		f.getJSON("/v1/audit?"+tc.query, "admin", &got)
		if len(got.Entries) != tc.n || got.Entries[0].Time.Sub(auditT0) != time.Duration(tc.firstSecs)*time.Second {
			t.Errorf("%s: %d entries from %v, want %d from second %d", tc.query, len(got.Entries), got.Entries[0].Time, tc.n, tc.firstSecs)
		}
		if r := read.Load(); r != int64(tc.reads) {
			t.Errorf("%s: the store read %d audit records, want %d (the log holds %d)", tc.query, r, tc.reads, n)
		}
	}
	if fs := fullScans.Load(); fs != 0 {
		t.Errorf("%d scans of the whole audit log", fs)
	}
}

// BenchmarkAuditQuery reads the newest 100 entries of a 100,000-entry log:
// the cost stays that of 100 entries, however long the log.
func BenchmarkAuditQuery(b *testing.B) {
	f := newFixture(b)
	const n = 100_000
	recs := make([]tracking.Record, 0, 10_000)
	for i := range n {
		ts := auditT0.Add(time.Duration(i) * time.Second)
		data, _ := json.Marshal(AuditEntry{ID: auditID(ts, uint64(i)), Time: ts, Role: RoleOperator,
			TokenID: "tok_x", Action: "pilgrim.read", Target: "BD-000123"})
		recs = append(recs, tracking.Record{ID: auditID(ts, uint64(i)), Data: data})
		if len(recs) == cap(recs) {
			if err := f.st.PutRecords(context.Background(), auditKind, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	q := auditQuery{Since: auditT0.Add((n - 100) * time.Second), Limit: 1000}
	for b.Loop() {
		es, err := f.srv.audits.find(context.Background(), q)
		if err != nil || len(es) != 100 {
			b.Fatalf("%d entries, %v", len(es), err)
		}
	}
}
