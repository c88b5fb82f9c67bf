package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dalil"
)

// auditT0 is long before the fixture's own (present-day) entries, so tests
// that bound their queries by time see only the entries they wrote.
var auditT0 = time.Date(2025, 6, 5, 10, 0, 0, 0, time.UTC)

// writeAudit writes one entry per spec, spec i at auditT0 + i minutes, through
// a second audit log over the server's store (with its own clock).
func writeAudit(t *testing.T, rs dalil.RecordStore, specs []auditSpec) {
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
	Next    *string      `json:"next"`
}

// getAudit is one GET /v1/audit as admin. It checks what every answer
// must hold: count is the number of entries, entries are oldest first with
// no id twice, and "next" is there (as the last entry's id) exactly when the
// page is full (count == limit, 1000 unless the query says).
func getAudit(t *testing.T, f *fixture, query string) auditAnswer {
	t.Helper()
	code, body := f.do("GET", "/v1/audit?"+query, "admin", "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/audit?%s: %d %s", query, code, body)
	}
	var got auditAnswer
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET /v1/audit?%s: %v in %s", query, err, body)
	}
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Fatal(err)
	}
	if got.Count != len(got.Entries) {
		t.Fatalf("%s: count %d for %d entries", query, got.Count, len(got.Entries))
	}
	for i := 1; i < len(got.Entries); i++ {
		if got.Entries[i-1].ID >= got.Entries[i].ID {
			t.Fatalf("%s: entries not oldest first: %+v", query, got.Entries)
		}
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	limit := 1000
	if l := vals.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil {
			t.Fatal(err)
		}
	}
	_, hasNext := keys["next"]
	switch full := got.Count == limit; {
	case full && (got.Next == nil || *got.Next != got.Entries[len(got.Entries)-1].ID):
		t.Fatalf("%s: a full page of %d with next %s, want the last entry's id %s",
			query, got.Count, keys["next"], got.Entries[len(got.Entries)-1].ID)
	case !full && hasNext:
		t.Fatalf("%s: %d entries of at most %d with next %s, want no next", query, got.Count, limit, keys["next"])
	}
	return got
}

// auditMinutes lists the entries' times as minutes after auditT0.
func auditMinutes(es []AuditEntry) []int {
	out := []int{}
	for _, e := range es {
		out = append(out, int(e.Time.Sub(auditT0)/time.Minute))
	}
	return out
}

// auditSeconds lists the entries' times as seconds after auditT0.
func auditSeconds(es []AuditEntry) []int {
	out := []int{}
	for _, e := range es {
		out = append(out, int(e.Time.Sub(auditT0)/time.Second))
	}
	return out
}

// auditAt is auditT0 + m minutes, as a query parameter.
func auditAt(m int) string {
	return auditT0.Add(time.Duration(m) * time.Minute).Format(time.RFC3339)
}

// auditIDAt is the id writeAudit gives the entry at minute m (spec m): its
// log's sequence numbers start at 1.
func auditIDAt(m int) string {
	return auditID(auditT0.Add(time.Duration(m)*time.Minute), uint64(m+1))
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
		return auditMinutes(getAudit(t, f, query).Entries)
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
		{"since=" + auditAt(0) + "&token_id=tok_desk-2" + end, []int{1, 3, 5, 8}},
		{"since=" + auditAt(0) + "&token_id=tok_desk-1&target=a1" + end, []int{0, 2, 6, 9}},
		{"since=" + auditAt(0) + "&token_id=tok_desk-1&action=nearby" + end, []int{}},
		{"since=" + auditAt(0) + "&token_id=tok_desk" + end, []int{}},
		{"since=" + auditAt(0) + "&token_id=tok_desk-2&limit=2" + end, []int{1, 3}},
		// after starts past an entry id; alone, it is the start (no 24-hour
		// default), and with since the later of the two starts.
		{"after=" + auditIDAt(3) + end, []int{4, 5, 6, 7, 8, 9}},
		{"after=" + auditIDAt(3) + "&limit=2" + end, []int{4, 5}},
		{"after=" + auditIDAt(3) + "&since=" + auditAt(6) + end, []int{6, 7, 8, 9}},
		{"after=" + auditIDAt(6) + "&since=" + auditAt(3) + end, []int{7, 8, 9}},
		{"after=" + auditIDAt(6) + "&since=" + auditAt(6) + end, []int{7, 8, 9}},
		{"after=" + auditIDAt(2) + "&target=a1&limit=2" + end, []int{5, 6}},
		{"after=" + auditIDAt(2) + "&token_id=tok_desk-2" + end, []int{3, 5, 8}},
		{"after=" + auditIDAt(3) + "&until=" + auditAt(6), []int{4, 5}},
		{"after=" + auditIDAt(6) + "&until=" + auditAt(6), []int{}},
		{"after=" + auditID(auditT0.Add(5*time.Minute), 0) + end, []int{5, 6, 7, 8, 9}}, // an id no entry has
		{"after=" + auditIDAt(9) + end, []int{}},
		{"after=09223372036854775807-999999", []int{}}, // no id can follow
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

// Paging with next: every entry exactly once and in order, even where many
// share one nanosecond (paging by ts, since= the last entry's time, would
// answer those again); the last page has no next.
func TestAuditPaging(t *testing.T) {
	f := newFixture(t)
	al := newAuditLog(f.st)
	shared := auditT0.Add(time.Minute + 123*time.Nanosecond)
	var written []AuditEntry // in write order, which is id order
	write := func(at time.Time, subject, target string) {
		t.Helper()
		al.now = func() time.Time { return at }
		p := Principal{Role: RoleOperator, Subject: subject, TokenID: "tok_" + subject}
		if err := al.write(t.Context(), p, "pilgrim.read", target); err != nil {
			t.Fatal(err)
		}
		written = append(written, AuditEntry{ID: auditID(at, al.seq.Load()), Subject: subject, TokenID: p.TokenID, Target: target})
	}
	desks := []string{"desk-1", "desk-2", "desk-3"}
	for i := range 3 { // before the shared nanosecond
		write(auditT0.Add(time.Duration(i)*time.Second), desks[i%3], fmt.Sprintf("p%d", i%4))
	}
	for i := range 40 { // 40 entries in one nanosecond
		write(shared, desks[i%3], fmt.Sprintf("p%d", i%4))
	}
	for i := range 4 { // after it
		write(auditT0.Add(2*time.Minute+time.Duration(i)*time.Second), desks[i%3], fmt.Sprintf("p%d", i%4))
	}
	ids := func(keep func(AuditEntry) bool) []string {
		out := []string{}
		for _, e := range written {
			if keep(e) {
				out = append(out, e.ID)
			}
		}
		return out
	}
	all := func(AuditEntry) bool { return true }
	// Paging by time, since= the last entry's ts, answers again the entries
	// of the shared nanosecond already seen; that is what after is for.
	p1 := getAudit(t, f, "since="+auditAt(0)+"&limit=10")
	last := p1.Entries[len(p1.Entries)-1]
	if p2 := getAudit(t, f, "since="+last.Time.Format(time.RFC3339Nano)+"&limit=10"); p2.Entries[0].ID != written[3].ID {
		t.Fatalf("since the last ts: first entry %s, want the shared nanosecond's first, %s", p2.Entries[0].ID, written[3].ID)
	}
	if p2 := getAudit(t, f, "after="+*p1.Next+"&limit=10"); p2.Entries[0].ID != written[10].ID {
		t.Fatalf("after the last id: first entry %s, want %s", p2.Entries[0].ID, written[10].ID)
	}

	end := "&until=" + auditAt(60) // leaves out the fixture's present-day entries, if any
	for _, tc := range []struct {
		name      string
		first     string // the first page's query (limit and end added)
		keepFirst bool   // later pages repeat first's query, with after added
		limit     int
		want      []string
		pages     int
	}{
		{"limit 1", "since=" + auditAt(0), false, 1, ids(all), 48}, // 47 full pages, then an empty one
		{"limit 4", "since=" + auditAt(0), false, 4, ids(all), 12}, // 11 full, then 3
		{"limit 7, since kept", "since=" + auditAt(0), true, 7, ids(all), 7},
		{"limit 47", "since=" + auditAt(0), false, 47, ids(all), 2}, // full, then empty
		{"limit 48", "since=" + auditAt(0), false, 48, ids(all), 1},
		{"from inside the nanosecond", "after=" + written[10].ID, false, 6, ids(func(e AuditEntry) bool { return e.ID > written[10].ID }), 7},
		{"until ends in the nanosecond's page", "since=" + auditAt(0) + "&until=" + auditAt(2), true, 8,
			ids(func(e AuditEntry) bool { return e.ID < auditBound(auditT0.Add(2*time.Minute)) }), 6},
		{"token_id", "since=" + auditAt(0) + "&token_id=tok_desk-2", true, 3,
			ids(func(e AuditEntry) bool { return e.TokenID == "tok_desk-2" }), 6},
		{"target and subject", "since=" + auditAt(0) + "&target=p1&subject=desk-1", true, 2,
			ids(func(e AuditEntry) bool { return e.Target == "p1" && e.Subject == "desk-1" }), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.first, "until=") {
				tc.first += end
			}
			query := tc.first + "&limit=" + strconv.Itoa(tc.limit)
			got := []string{}
			pages := 0
			for {
				page := getAudit(t, f, query)
				pages++
				for _, e := range page.Entries {
					got = append(got, e.ID)
				}
				if page.Next == nil {
					break
				}
				if pages > len(written)+1 {
					t.Fatalf("still paging after %d pages: %v", pages, got)
				}
				query = "after=" + *page.Next + "&limit=" + strconv.Itoa(tc.limit) + end
				if tc.keepFirst {
					query = tc.first + "&after=" + *page.Next + "&limit=" + strconv.Itoa(tc.limit)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("paged %d entries %v,\nwant %d %v", len(got), got, len(tc.want), tc.want)
			}
			if pages != tc.pages {
				t.Errorf("%d pages, want %d", pages, tc.pages)
			}
		})
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
		{"token_id=%ff", "token_id"},
		// after is exactly an entry id: 20 digits, "-", 6 digits.
		{"after=", "after"},
		{"after=12", "after"},
		{"after=" + auditAt(5), "after"},
		{"after=01749117600123456789-00001", "after"},
		{"after=01749117600123456789-0000001", "after"},
		{"after=1749117600123456789-000001", "after"},
		{"after=01749117600123456789_000001", "after"},
		{"after=01749117600123456789-000001x", "after"},
		{"after=%2B1749117600123456789-000001", "after"},
		{"after=-0749117600123456789-000001", "after"},
		{"after=%201749117600123456789-000001", "after"},
		{"after=0174911760012345678a-000001", "after"},
		{"after=01749117600123456789-00000%ff", "after"},
		{"after=99999999999999999999-000001", "after"}, // past int64 nanoseconds
		{"after=" + auditIDAt(3) + "&until=soon", "until"},
		{"after=" + auditIDAt(3) + "&limit=0", "limit"},
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
	dalil.Store
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
	recs := make([]dalil.Record, n)
	for i := range recs {
		ts := auditT0.Add(time.Duration(i) * time.Second)
		data, err := json.Marshal(AuditEntry{ID: auditID(ts, uint64(i)), Time: ts, Role: RoleOperator,
			TokenID: "tok_x", Action: "pilgrim.read", Target: fmt.Sprintf("p%d", i%7)})
		if err != nil {
			t.Fatal(err)
		}
		recs[i] = dalil.Record{ID: auditID(ts, uint64(i)), Data: data}
	}
	if err := f.st.PutRecords(t.Context(), auditKind, recs); err != nil {
		t.Fatal(err)
	}
	sec := func(i int) string { return auditT0.Add(time.Duration(i) * time.Second).Format(time.RFC3339) }
	id := func(i int) string { return auditID(auditT0.Add(time.Duration(i)*time.Second), uint64(i)) }
	for _, tc := range []struct {
		query     string
		n, reads  int
		firstSecs int
	}{
		{"since=" + sec(1900) + "&limit=10", 10, 10, 1900},
		// after seeks past the cursor: nothing at or before it is read.
		{"after=" + id(1900) + "&limit=10", 10, 10, 1901},
		{"after=" + id(1900) + "&since=" + sec(1000) + "&limit=10", 10, 10, 1901},
		{"after=" + id(1000) + "&since=" + sec(1900) + "&limit=10", 10, 10, 1900},
		{"after=" + id(1900) + "&target=p3&limit=3", 3, 21, 1907}, // 1900 is a p3 too
		{"after=" + id(1994), 5, 5, 1995},
		{"after=" + id(1999), 0, 0, 0},
		{"after=" + id(1950) + "&until=" + sec(1950), 0, 0, 0}, // starts past until: no scan
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
		if len(got.Entries) != tc.n || tc.n > 0 && got.Entries[0].Time.Sub(auditT0) != time.Duration(tc.firstSecs)*time.Second {
			t.Errorf("%s: %d entries %v, want %d from second %d", tc.query, len(got.Entries), auditSeconds(got.Entries), tc.n, tc.firstSecs)
		}
		if r := read.Load(); r != int64(tc.reads) {
			t.Errorf("%s: the store read %d audit records, want %d (the log holds %d)", tc.query, r, tc.reads, n)
		}
	}

	// Paging the last 100 entries 25 at a time reads each once: a page
	// starts past the previous page's next, never at or before it.
	read.Store(0)
	query, pages, seen := "since="+sec(1900)+"&limit=25", 0, 0
	for {
		var got auditAnswer
		f.getJSON("/v1/audit?"+query, "admin", &got)
		pages++
		seen += got.Count
		if got.Next == nil {
			break
		}
		query = "after=" + *got.Next + "&limit=25"
	}
	if r := read.Load(); pages != 5 || seen != 100 || r != 100 {
		t.Errorf("paging the last 100 by 25: %d pages, %d entries, %d audit records read; want 5, 100, 100", pages, seen, r)
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
	recs := make([]dalil.Record, 0, 10_000)
	for i := range n {
		ts := auditT0.Add(time.Duration(i) * time.Second)
		data, _ := json.Marshal(AuditEntry{ID: auditID(ts, uint64(i)), Time: ts, Role: RoleOperator,
			TokenID: "tok_x", Action: "pilgrim.read", Target: "BD-000123"})
		recs = append(recs, dalil.Record{ID: auditID(ts, uint64(i)), Data: data})
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
