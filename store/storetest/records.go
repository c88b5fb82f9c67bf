package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"dalil"
)

func getOK(t *testing.T, st dalil.Store, kind, id string) []byte {
	t.Helper()
	data, err := st.GetRecord(context.Background(), kind, id)
	if err != nil {
		t.Fatalf("GetRecord(%s, %s): %v", kind, id, err)
	}
	return data
}

func wantMissing(t *testing.T, st dalil.Store, kind, id string) {
	t.Helper()
	_, err := st.GetRecord(context.Background(), kind, id)
	if !errors.Is(err, dalil.ErrNotFound) {
		t.Fatalf("GetRecord(%s, %s) = %v, want ErrNotFound", kind, id, err)
	}
	if errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("a missing record reported as unavailable: %v", err)
	}
}

// scan returns a kind's ids and data in scan order.
func scan(t *testing.T, st dalil.Store, kind string) ([]string, [][]byte) {
	t.Helper()
	var ids []string
	var data [][]byte
	err := st.ScanRecords(context.Background(), kind, func(id string, d []byte) error {
		ids = append(ids, id)
		data = append(data, bytes.Clone(d))
		return nil
	})
	if err != nil {
		t.Fatalf("ScanRecords(%s): %v", kind, err)
	}
	return ids, data
}

func testRecordsCRUD(t *testing.T, open Opener) {
	st := openStore(t, open)
	ctx := context.Background()
	put := func(kind string, recs ...dalil.Record) {
		t.Helper()
		if err := st.PutRecords(ctx, kind, recs); err != nil {
			t.Fatalf("PutRecords(%s): %v", kind, err)
		}
	}
	binary := []byte{0, 1, 2, 0xff, 0xfe, '{', '}'} // documents are bytes, kept exactly
	put("pilgrim",
		dalil.Record{ID: "BD-0001", Data: []byte(`{"name_en":"Abdul Karim"}`)},
		dalil.Record{ID: "BD-0002", Data: []byte(`{"name_bn":"আব্দুল করিম"}`)},
		dalil.Record{ID: "BD-0003", Data: binary},
	)
	put("group", dalil.Record{ID: "BD-0001", Data: []byte(`{"kind":"group"}`)})
	put("token", dalil.Record{ID: "empty", Data: []byte{}}, dalil.Record{ID: "nil"})

	if got := getOK(t, st, "pilgrim", "BD-0002"); string(got) != `{"name_bn":"আব্দুল করিম"}` {
		t.Fatalf("pilgrim BD-0002 = %q", got)
	}
	if got := getOK(t, st, "pilgrim", "BD-0003"); !bytes.Equal(got, binary) {
		t.Fatalf("binary data = %v, want %v", got, binary)
	}
	// Kinds are separate namespaces.
	if got := getOK(t, st, "group", "BD-0001"); string(got) != `{"kind":"group"}` {
		t.Fatalf("group BD-0001 = %q", got)
	}
	for _, id := range []string{"empty", "nil"} {
		if got := getOK(t, st, "token", id); len(got) != 0 {
			t.Fatalf("token %s = %q, want empty", id, got)
		}
	}
	wantMissing(t, st, "pilgrim", "BD-9999")
	wantMissing(t, st, "luggage", "BD-0001")

	// Update in place.
	put("pilgrim", dalil.Record{ID: "BD-0001", Data: []byte(`{"name_en":"Abdul Karim","tent":"M5-94/3"}`)})
	if got := getOK(t, st, "pilgrim", "BD-0001"); string(got) != `{"name_en":"Abdul Karim","tent":"M5-94/3"}` {
		t.Fatalf("updated pilgrim = %q", got)
	}
	// A repeated id within one batch: the last wins.
	put("pilgrim", dalil.Record{ID: "BD-0004", Data: []byte("1")}, dalil.Record{ID: "BD-0004", Data: []byte("2")})
	if got := getOK(t, st, "pilgrim", "BD-0004"); string(got) != "2" {
		t.Fatalf("repeated id in one batch kept %q, want the last (2)", got)
	}

	if err := st.DeleteRecord(ctx, "pilgrim", "BD-0002"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	wantMissing(t, st, "pilgrim", "BD-0002")
	if err := st.DeleteRecord(ctx, "pilgrim", "BD-0002"); err != nil {
		t.Fatalf("deleting a missing record: %v, want nil", err)
	}
	if got := getOK(t, st, "group", "BD-0001"); string(got) != `{"kind":"group"}` {
		t.Fatalf("deleting pilgrim BD-0002 touched group BD-0001: %q", got)
	}
	ids, _ := scan(t, st, "pilgrim")
	if !slices.Equal(ids, []string{"BD-0001", "BD-0003", "BD-0004"}) {
		t.Fatalf("pilgrims after delete: %q", ids)
	}
	for _, bad := range [][2]string{{"", "x"}, {"pilgrim", ""}, {"pil\x00grim", "x"}, {"pilgrim", "x\x00"}} {
		if _, err := st.GetRecord(ctx, bad[0], bad[1]); err == nil || errors.Is(err, dalil.ErrNotFound) {
			t.Fatalf("GetRecord(%q, %q): %v, want an invalid-name error", bad[0], bad[1], err)
		}
	}
}

func testRecordsScanOrder(t *testing.T, open Opener) {
	st := openStore(t, open)
	ctx := context.Background()
	ids := []string{"a", "B", "a-b", "a0", "ä", "Z9", "10", "9", "a b", "ab", "~", "BD-0100", "BD-010"}
	rng := rand.New(rand.NewPCG(5, 6))
	shuffled := slices.Clone(ids)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	recs := make([]dalil.Record, len(shuffled))
	for i, id := range shuffled {
		recs[i] = dalil.Record{ID: id, Data: []byte("data-" + id)}
	}
	if err := st.PutRecords(ctx, "device", recs[:5]); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRecords(ctx, "device", recs[5:]); err != nil {
		t.Fatal(err)
	}
	// Neighbouring kinds must not leak into the scan.
	for _, kind := range []string{"devic", "devices", "device2"} {
		if err := st.PutRecords(ctx, kind, []dalil.Record{{ID: "a", Data: []byte(kind)}}); err != nil {
			t.Fatal(err)
		}
	}
	got, data := scan(t, st, "device")
	want := slices.Clone(ids)
	slices.Sort(want) // byte order, whatever the database's collation
	if !slices.Equal(got, want) {
		t.Fatalf("scan order\n got %q\nwant %q", got, want)
	}
	for i, id := range got {
		if string(data[i]) != "data-"+id {
			t.Fatalf("scan: %s has data %q", id, data[i])
		}
	}
	if ids, _ := scan(t, st, "nothing"); len(ids) != 0 {
		t.Fatalf("scan of an empty kind yielded %q", ids)
	}
	stop := errors.New("stop here")
	var seen []string
	err := st.ScanRecords(ctx, "device", func(id string, _ []byte) error {
		seen = append(seen, id)
		if len(seen) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || len(seen) != 3 {
		t.Fatalf("ScanRecords with a failing fn: %v after %d calls, want %v after 3", err, len(seen), stop)
	}
}

func testPutRecordsAtomic(t *testing.T, open Opener) {
	st := openStore(t, open)
	ctx := context.Background()
	if err := st.PutRecords(ctx, "pilgrim", []dalil.Record{{ID: "keep", Data: []byte("old")}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "nul\x00", "\xc3\x28"} {
		err := st.PutRecords(ctx, "pilgrim", []dalil.Record{
			{ID: "keep", Data: []byte("new")},
			{ID: "added", Data: []byte("x")},
			{ID: bad, Data: []byte("bad")},
		})
		if err == nil {
			t.Fatalf("batch with id %q accepted", bad)
		}
		if errors.Is(err, dalil.ErrUnavailable) {
			t.Fatalf("bad input reported as unavailable: %v", err)
		}
	}
	if got := getOK(t, st, "pilgrim", "keep"); string(got) != "old" {
		t.Fatalf("a failed batch changed an existing record to %q", got)
	}
	wantMissing(t, st, "pilgrim", "added")
	if err := st.PutRecords(ctx, "", []dalil.Record{{ID: "a", Data: []byte("x")}}); err == nil {
		t.Fatal("empty kind accepted")
	}
	if err := st.PutRecords(ctx, "pilgrim", nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}

	// A registry-sized import is one atomic batch too.
	const n = 5000
	recs := make([]dalil.Record, n)
	for i := range recs {
		recs[i] = dalil.Record{ID: fmt.Sprintf("BD-%06d", i), Data: fmt.Appendf(nil, `{"i":%d}`, i)}
	}
	if err := st.PutRecords(ctx, "import", recs); err != nil {
		t.Fatalf("PutRecords(%d): %v", n, err)
	}
	ids, data := scan(t, st, "import")
	if len(ids) != n || ids[n-1] != recs[n-1].ID || string(data[n-1]) != string(recs[n-1].Data) {
		t.Fatalf("import: scanned %d records, want %d", len(ids), n)
	}
}

// scanFrom returns a kind's ids from `from` on, in scan order.
func scanFrom(t *testing.T, st dalil.Store, kind, from string) []string {
	t.Helper()
	ids := []string{}
	err := st.ScanRecordsFrom(context.Background(), kind, from, func(id string, d []byte) error {
		if string(d) != "data-"+id {
			t.Errorf("ScanRecordsFrom(%s, %q): %s has data %q", kind, from, id, d)
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanRecordsFrom(%s, %q): %v", kind, from, err)
	}
	return ids
}

func testRecordsScanFrom(t *testing.T, open Opener) {
	st := openStore(t, open)
	ctx := context.Background()
	// Time-ordered ids like the audit log's; 2,000 of them, so that ranges
	// cross any batch size a store reads in (a round thousand included).
	const n = 2000
	ids := make([]string, n)
	recs := make([]dalil.Record, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%020d-%06d", 1_780_000_000_000_000_000+int64(i)*1_000_000, i)
		recs[i] = dalil.Record{ID: ids[i], Data: []byte("data-" + ids[i])}
	}
	if err := st.PutRecords(ctx, "audit", recs); err != nil {
		t.Fatal(err)
	}
	// Neighbouring kinds, with ids inside the scanned range, must not leak in.
	for _, kind := range []string{"audi", "audits", "audit2", "b"} {
		id := ids[n/2] + "x"
		err := st.PutRecords(ctx, kind, []dalil.Record{{ID: id, Data: []byte("data-" + id)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: got %d ids, want %d\n got %q…\nwant %q…", what, len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
		}
	}
	want("from an id in the middle", scanFrom(t, st, "audit", ids[700]), ids[700:])
	want("from between two ids", scanFrom(t, st, "audit", ids[700]+"0"), ids[701:])
	want("from \"\"", scanFrom(t, st, "audit", ""), ids)
	want("from before the first id", scanFrom(t, st, "audit", "0"), ids)
	want("from the last id", scanFrom(t, st, "audit", ids[n-1]), ids[n-1:])
	want("from after the last id", scanFrom(t, st, "audit", ids[n-1]+"0"), []string{})
	want("from far after", scanFrom(t, st, "audit", "~"), []string{})
	want("an empty kind", scanFrom(t, st, "nothing", ""), []string{})
	want("a neighbouring kind alone", scanFrom(t, st, "audits", ""), []string{ids[n/2] + "x"})

	// ErrStopScan ends either scan early, with no error.
	var seen []string
	err := st.ScanRecordsFrom(ctx, "audit", ids[10], func(id string, _ []byte) error {
		seen = append(seen, id)
		if len(seen) == 3 {
			return dalil.ErrStopScan
		}
		return nil
	})
	if err != nil || !slices.Equal(seen, ids[10:13]) {
		t.Fatalf("ScanRecordsFrom stopped with ErrStopScan: %v after %q, want nil after %q", err, seen, ids[10:13])
	}
	seen = nil
	err = st.ScanRecords(ctx, "audit", func(id string, _ []byte) error {
		seen = append(seen, id)
		if len(seen) == 2 {
			return dalil.ErrStopScan
		}
		return nil
	})
	if err != nil || !slices.Equal(seen, ids[:2]) {
		t.Fatalf("ScanRecords stopped with ErrStopScan: %v after %q, want nil after %q", err, seen, ids[:2])
	}
	// Any other error from fn ends the scan and comes back as is.
	stop := errors.New("stop here")
	calls := 0
	err = st.ScanRecordsFrom(ctx, "audit", ids[5], func(string, []byte) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("ScanRecordsFrom with a failing fn: %v after %d calls, want %v after 1", err, calls, stop)
	}

	// A bad kind or start is refused, and not as "unavailable".
	for _, bad := range [][2]string{{"", "a"}, {"aud\x00it", "a"}, {"audit", "a\x00"}, {"audit", "\xc3\x28"}} {
		err := st.ScanRecordsFrom(ctx, bad[0], bad[1], func(string, []byte) error { return nil })
		if err == nil || errors.Is(err, dalil.ErrUnavailable) {
			t.Fatalf("ScanRecordsFrom(%q, %q): %v, want an invalid-name error", bad[0], bad[1], err)
		}
	}

	// A context cancelled during the scan ends it with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	calls = 0
	err = st.ScanRecordsFrom(cctx, "audit", ids[100], func(string, []byte) error {
		if calls++; calls == 1 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls >= n-100 {
		t.Fatalf("ScanRecordsFrom cancelled after its first record: %v after %d of %d calls, want context.Canceled before the end",
			err, calls, n-100)
	}
	// The store is still usable.
	want("after a cancelled scan", scanFrom(t, st, "audit", ids[n-2]), ids[n-2:])
}
