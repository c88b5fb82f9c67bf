package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"dalil"
)

var far = base.AddDate(10, 0, 0)

// trail reads a device's whole history.
func trail(t *testing.T, st dalil.Store, device string) []dalil.Position {
	t.Helper()
	ps, err := st.Trail(context.Background(), device, base.AddDate(-10, 0, 0), far, 0)
	if err != nil {
		t.Fatalf("Trail(%s): %v", device, err)
	}
	return ps
}

// latest reads Latest into a map, checking it yields devices in id order and
// each once.
func latest(t *testing.T, st dalil.Store) map[string]dalil.Position {
	t.Helper()
	out := make(map[string]dalil.Position)
	prev := ""
	err := st.Latest(context.Background(), func(p dalil.Position) error {
		if _, dup := out[p.Device]; dup {
			return fmt.Errorf("device %q yielded twice", p.Device)
		}
		if p.Device <= prev {
			return fmt.Errorf("device %q after %q: not in id order", p.Device, prev)
		}
		prev = p.Device
		out[p.Device] = p
		return nil
	})
	if err != nil {
		t.Fatalf("Latest: %v", err)
	}
	return out
}

func appendOK(t *testing.T, st dalil.Store, ps ...dalil.Position) {
	t.Helper()
	if err := st.AppendPositions(context.Background(), ps); err != nil {
		t.Fatalf("AppendPositions(%d): %v", len(ps), err)
	}
}

func testTrailRoundTrip(t *testing.T, open Opener) {
	st := openStore(t, open)
	var dev1, dev10 []dalil.Position
	for i := range 10 {
		dev1 = append(dev1, ping("dev-1", base.Add(time.Duration(i)*10*time.Second), i))
		dev10 = append(dev10, ping("dev-10", base.Add(time.Duration(i)*10*time.Second+time.Microsecond), 100+i))
	}
	// Interleaved across two batches, as group commit would merge them.
	var mixed []dalil.Position
	for i := range 5 {
		mixed = append(mixed, dev1[i], dev10[i])
	}
	appendOK(t, st, mixed...)
	appendOK(t, st, append(slices.Clone(dev10[5:]), dev1[5:]...)...)
	if err := st.AppendPositions(context.Background(), nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}

	wantPositions(t, "trail of dev-1", trail(t, st, "dev-1"), dev1)
	// "dev-1" is a prefix of "dev-10": neither may see the other's pings.
	wantPositions(t, "trail of dev-10", trail(t, st, "dev-10"), dev10)
	if ps := trail(t, st, "dev-"); len(ps) != 0 {
		t.Fatalf("trail of unknown device dev-: %d positions, want none", len(ps))
	}
}

func testTrailRangeAndLimit(t *testing.T, open Opener) {
	st := openStore(t, open)
	var all []dalil.Position
	for i := range 20 {
		all = append(all, ping("phone-7", base.Add(time.Duration(i)*time.Minute), i))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := slices.Clone(all)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	appendOK(t, st, shuffled...)
	ctx := context.Background()

	// since is inclusive, until exclusive.
	got, err := st.Trail(ctx, "phone-7", base.Add(5*time.Minute), base.Add(9*time.Minute), 0)
	if err != nil {
		t.Fatal(err)
	}
	wantPositions(t, "[5m, 9m)", got, all[5:9])
	got, err = st.Trail(ctx, "phone-7", base.Add(5*time.Minute+time.Microsecond), base.Add(9*time.Minute+time.Microsecond), 0)
	if err != nil {
		t.Fatal(err)
	}
	wantPositions(t, "[5m+1µs, 9m+1µs)", got, all[6:10])
	// limit keeps the oldest.
	got, err = st.Trail(ctx, "phone-7", base, far, 3)
	if err != nil {
		t.Fatal(err)
	}
	wantPositions(t, "limit 3", got, all[:3])
	// "All of it": zero time to the far future.
	got, err = st.Trail(ctx, "phone-7", time.Time{}, time.Date(100000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatalf("Trail from zero time to year 100000: %v", err)
	}
	wantPositions(t, "unbounded range", got, all)
	got, err = st.Trail(ctx, "phone-7", base.Add(10*time.Minute), base.Add(10*time.Minute), 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty range: %d positions, err %v; want none", len(got), err)
	}
	got, err = st.Trail(ctx, "phone-7", base.Add(10*time.Minute), base, 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("reversed range: %d positions, err %v; want none", len(got), err)
	}
}

func testOutOfOrder(t *testing.T, open Opener) {
	st := openStore(t, open)
	p10 := ping("tag-3", base.Add(2*time.Hour), 1)
	p9 := ping("tag-3", base.Add(time.Hour), 2)
	p930 := ping("tag-3", base.Add(90*time.Minute), 3)
	p945 := ping("tag-3", base.Add(105*time.Minute), 4)
	appendOK(t, st, p10)
	appendOK(t, st, p9)         // an offline buffer flushed late
	appendOK(t, st, p945, p930) // and out of order within the batch
	wantPositions(t, "trail", trail(t, st, "tag-3"), []dalil.Position{p9, p930, p945, p10})
	l := latest(t, st)
	if !samePosition(l["tag-3"], p10) {
		t.Fatalf("latest after out-of-order pings = %s, want the newest %s", fmtPosition(l["tag-3"]), fmtPosition(p10))
	}
	p11 := ping("tag-3", base.Add(3*time.Hour), 5)
	appendOK(t, st, p11, p9)
	if l := latest(t, st); !samePosition(l["tag-3"], p11) {
		t.Fatalf("latest = %s, want %s", fmtPosition(l["tag-3"]), fmtPosition(p11))
	}
}

func testSameTimestamp(t *testing.T, open Opener) {
	st := openStore(t, open)
	at := base.Add(42 * time.Second)
	a, b, c, d := ping("band-1", at, 1), ping("band-1", at, 2), ping("band-1", at, 3), ping("band-1", at, 4)
	appendOK(t, st, a, b, c)
	appendOK(t, st, d)
	// Pings with the same device and time are all kept, in arrival order.
	wantPositions(t, "same-time trail", trail(t, st, "band-1"), []dalil.Position{a, b, c, d})
	// On equal times the later append is the latest.
	if l := latest(t, st); !samePosition(l["band-1"], d) {
		t.Fatalf("latest = %s, want the last appended %s", fmtPosition(l["band-1"]), fmtPosition(d))
	}
	// The very same ping sent twice (a retry) is stored twice: the store
	// does not dedupe; ingest filters exact duplicates.
	appendOK(t, st, d)
	if n := len(trail(t, st, "band-1")); n != 5 {
		t.Fatalf("after a repeated ping: %d positions, want 5", n)
	}
}

func testLatestEveryDevice(t *testing.T, open Opener) {
	st := openStore(t, open)
	rng := rand.New(rand.NewPCG(3, 4))
	want := make(map[string]dalil.Position)
	var batch []dalil.Position
	for d := range 60 {
		dev := fmt.Sprintf("P%04d-phone", d)
		for k := range 5 {
			p := ping(dev, base.Add(time.Duration(rng.IntN(3600))*time.Second+time.Duration(k)*time.Microsecond), d*10+k)
			if w, ok := want[dev]; !ok || !p.Time.Before(w.Time) {
				want[dev] = p
			}
			batch = append(batch, p)
		}
	}
	rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	appendOK(t, st, batch[:100]...)
	appendOK(t, st, batch[100:]...)
	got := latest(t, st)
	if len(got) != len(want) {
		t.Fatalf("Latest yielded %d devices, want %d", len(got), len(want))
	}
	for dev, w := range want {
		if !samePosition(got[dev], w) {
			t.Fatalf("latest of %s = %s, want %s", dev, fmtPosition(got[dev]), fmtPosition(w))
		}
	}
	// An error from fn stops the scan and comes back unchanged.
	stop := errors.New("enough")
	calls := 0
	err := st.Latest(context.Background(), func(dalil.Position) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Latest with a failing fn: err %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func testReopen(t *testing.T, open Opener) {
	st := open(t)
	ps := []dalil.Position{ping("dev-a", base, 1), ping("dev-a", base.Add(time.Second), 2), ping("dev-b", base, 3)}
	appendOK(t, st, ps...)
	ctx := context.Background()
	if err := st.PutRecords(ctx, "pilgrim", []dalil.Record{{ID: "BD-1", Data: []byte(`{"pid":"BD-1"}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = openStore(t, open)
	wantPositions(t, "dev-a after reopen", trail(t, st, "dev-a"), ps[:2])
	l := latest(t, st)
	if len(l) != 2 || !samePosition(l["dev-a"], ps[1]) || !samePosition(l["dev-b"], ps[2]) {
		t.Fatalf("latest after reopen: %v", l)
	}
	data, err := st.GetRecord(ctx, "pilgrim", "BD-1")
	if err != nil || string(data) != `{"pid":"BD-1"}` {
		t.Fatalf("record after reopen: %q, %v", data, err)
	}
	// Appends after reopen keep same-time pings apart from the old ones.
	again := ping("dev-a", base, 9)
	appendOK(t, st, again)
	if got := trail(t, st, "dev-a"); len(got) != 3 || !samePosition(got[1], again) {
		t.Fatalf("same-time ping after reopen: got %s", list(got))
	}
}

func testBadBatch(t *testing.T, open Opener) {
	st := openStore(t, open)
	ctx := context.Background()
	good := ping("ok-1", base, 1)
	for _, bad := range []dalil.Position{
		ping("", base, 2),
		ping("bad\x00id", base, 2),
		ping("bad\xffutf8", base, 2),
		{Device: "no-time", Lat: 21.4, Lon: 39.9},
	} {
		err := st.AppendPositions(ctx, []dalil.Position{good, bad})
		if err == nil {
			t.Fatalf("batch with device %q time %v accepted", bad.Device, bad.Time)
		}
		if errors.Is(err, dalil.ErrUnavailable) {
			t.Fatalf("bad input reported as unavailable (a device would retry forever): %v", err)
		}
	}
	if ps := trail(t, st, "ok-1"); len(ps) != 0 {
		t.Fatalf("a refused batch left %d positions behind", len(ps))
	}
	if l := latest(t, st); len(l) != 0 {
		t.Fatalf("a refused batch left latest entries: %v", l)
	}
	if _, err := st.Trail(ctx, "", base, far, 0); err == nil {
		t.Fatal("Trail of an empty device id: no error")
	}
}

func testBigBatch(t *testing.T, open Opener) {
	st := openStore(t, open)
	const devices, per = 400, 60
	batch := make([]dalil.Position, 0, devices*per)
	for k := range per {
		for d := range devices {
			// Crosses midnight: the batch spans two days (two partitions).
			at := base.Add(15*time.Hour + time.Duration(k)*3*time.Minute + time.Duration(d)*time.Millisecond)
			batch = append(batch, ping(fmt.Sprintf("bulk-%03d", d), at, k*devices+d))
		}
	}
	appendOK(t, st, batch...)
	for _, d := range []int{0, 217, devices - 1} {
		dev := fmt.Sprintf("bulk-%03d", d)
		got := trail(t, st, dev)
		var want []dalil.Position
		for k := range per {
			want = append(want, batch[k*devices+d])
		}
		wantPositions(t, dev, got, want)
	}
	if n := len(latest(t, st)); n != devices {
		t.Fatalf("Latest: %d devices, want %d", n, devices)
	}
}

func testRetention(t *testing.T, open Opener) {
	st := openStore(t, open)
	ctx := context.Background()
	start := base.AddDate(0, 0, -3)
	var a []dalil.Position
	for i := range 13 { // every 6 h over three days
		a = append(a, ping("keep-a", start.Add(time.Duration(i)*6*time.Hour), i))
	}
	old := []dalil.Position{ping("gone-b", start, 20), ping("gone-b", start.Add(20*time.Hour), 21)}
	fresh := []dalil.Position{ping("new-c", base, 30)}
	appendOK(t, st, a...)
	appendOK(t, st, old...)
	appendOK(t, st, fresh...)

	cut := base.Add(-30 * time.Hour) // mid-day: whole days and part of one go
	var wantA []dalil.Position
	wantRemoved := int64(len(old))
	for _, p := range a {
		if p.Time.Before(cut) {
			wantRemoved++
		} else {
			wantA = append(wantA, p)
		}
	}
	n, err := st.DeletePositionsBefore(ctx, cut)
	if err != nil {
		t.Fatalf("DeletePositionsBefore: %v", err)
	}
	if n != wantRemoved {
		t.Fatalf("DeletePositionsBefore removed %d, want %d", n, wantRemoved)
	}
	wantPositions(t, "keep-a after retention", trail(t, st, "keep-a"), wantA)
	if ps := trail(t, st, "gone-b"); len(ps) != 0 {
		t.Fatalf("gone-b keeps %d positions after retention", len(ps))
	}
	l := latest(t, st)
	if _, ok := l["gone-b"]; ok {
		t.Fatal("Latest still names gone-b, whose whole history was deleted")
	}
	if len(l) != 2 || !samePosition(l["keep-a"], a[len(a)-1]) || !samePosition(l["new-c"], fresh[0]) {
		t.Fatalf("Latest after retention: %v", l)
	}
	if n, err := st.DeletePositionsBefore(ctx, cut); err != nil || n != 0 {
		t.Fatalf("second retention run removed %d (err %v), want 0", n, err)
	}
	// A late ping from before the cut can still be stored (its day's space
	// was reclaimed) and the next run removes it.
	late := ping("gone-b", start.Add(time.Hour), 40)
	appendOK(t, st, late)
	wantPositions(t, "late ping", trail(t, st, "gone-b"), []dalil.Position{late})
	if n, err := st.DeletePositionsBefore(ctx, cut); err != nil || n != 1 {
		t.Fatalf("retention after a late ping removed %d (err %v), want 1", n, err)
	}
}

func testConcurrentAppends(t *testing.T, open Opener) {
	st := openStore(t, open)
	const writers, rounds, per, devices = 32, 12, 5, 8
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, writers+1)
	readerDone := make(chan struct{})
	go func() { // readers run beside the writers
		defer close(readerDone)
		for ctx.Err() == nil {
			if _, err := st.Trail(ctx, "crowd-0", base, far, 0); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("Trail during appends: %w", err)
				return
			}
			if err := st.Latest(ctx, func(dalil.Position) error { return nil }); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("Latest during appends: %w", err)
				return
			}
		}
	}()
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			dev := fmt.Sprintf("crowd-%d", w%devices)
			for r := range rounds {
				batch := make([]dalil.Position, per)
				for k := range batch {
					i := (w*rounds+r)*per + k
					batch[k] = ping(dev, base.Add(time.Duration(i)*time.Second), i)
				}
				if err := st.AppendPositions(context.Background(), batch); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	cancel()
	<-readerDone
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	l := latest(t, st)
	for d := range devices {
		dev := fmt.Sprintf("crowd-%d", d)
		got := trail(t, st, dev)
		want := writers / devices * rounds * per
		if len(got) != want {
			t.Fatalf("%s: %d positions, want %d", dev, len(got), want)
		}
		if !slices.IsSortedFunc(got, func(a, b dalil.Position) int { return a.Time.Compare(b.Time) }) {
			t.Fatalf("%s: trail not in time order", dev)
		}
		if !samePosition(l[dev], got[len(got)-1]) {
			t.Fatalf("latest of %s = %s, want the newest %s", dev, fmtPosition(l[dev]), fmtPosition(got[len(got)-1]))
		}
	}
}

func testContextCancelled(t *testing.T, open Opener) {
	st := openStore(t, open)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.AppendPositions(ctx, []dalil.Position{ping("ctx-1", base, 1)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("AppendPositions on a cancelled context: %v, want context.Canceled", err)
	}
	if ps := trail(t, st, "ctx-1"); len(ps) != 0 {
		t.Fatalf("a cancelled append stored %d positions", len(ps))
	}
	if _, err := st.Trail(ctx, "ctx-1", base, far, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Trail: %v, want context.Canceled", err)
	}
	if err := st.Latest(ctx, func(dalil.Position) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Latest: %v, want context.Canceled", err)
	}
	if _, err := st.DeletePositionsBefore(ctx, far); !errors.Is(err, context.Canceled) {
		t.Fatalf("DeletePositionsBefore: %v, want context.Canceled", err)
	}
	if err := st.PutRecords(ctx, "case", []dalil.Record{{ID: "c1", Data: []byte("{}")}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("PutRecords: %v, want context.Canceled", err)
	}
	if _, err := st.GetRecord(ctx, "case", "c1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetRecord: %v, want context.Canceled", err)
	}
	if err := st.ScanRecords(ctx, "case", func(string, []byte) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("ScanRecords: %v, want context.Canceled", err)
	}
	if err := st.ScanRecordsFrom(ctx, "case", "c", func(string, []byte) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("ScanRecordsFrom: %v, want context.Canceled", err)
	}
	if _, err := st.GetRecord(context.Background(), "case", "c1"); !errors.Is(err, dalil.ErrNotFound) {
		t.Fatalf("a cancelled PutRecords stored its record: %v", err)
	}
	// A deadline that runs out while the store is working is reported, not
	// ignored; the store stays usable.
	dctx, dcancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer dcancel()
	<-dctx.Done()
	if err := st.AppendPositions(dctx, []dalil.Position{ping("ctx-1", base, 2)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AppendPositions past its deadline: %v, want DeadlineExceeded", err)
	}
	appendOK(t, st, ping("ctx-1", base, 3))
}

func testClosed(t *testing.T, open Opener) {
	st := open(t)
	if err := st.Ping(context.Background()); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, dalil.ErrUnavailable) {
			t.Fatalf("%s on a closed store: %v, want an error wrapping ErrUnavailable", what, err)
		}
	}
	unavailable("AppendPositions", st.AppendPositions(ctx, []dalil.Position{ping("x", base, 1)}))
	_, err := st.Trail(ctx, "x", base, far, 0)
	unavailable("Trail", err)
	unavailable("Latest", st.Latest(ctx, func(dalil.Position) error { return nil }))
	_, err = st.DeletePositionsBefore(ctx, base)
	unavailable("DeletePositionsBefore", err)
	unavailable("PutRecords", st.PutRecords(ctx, "k", []dalil.Record{{ID: "i", Data: []byte("{}")}}))
	_, err = st.GetRecord(ctx, "k", "i")
	unavailable("GetRecord", err)
	unavailable("ScanRecords", st.ScanRecords(ctx, "k", func(string, []byte) error { return nil }))
	unavailable("ScanRecordsFrom", st.ScanRecordsFrom(ctx, "k", "i", func(string, []byte) error { return nil }))
	unavailable("DeleteRecord", st.DeleteRecord(ctx, "k", "i"))
	unavailable("Ping", st.Ping(ctx))
}
