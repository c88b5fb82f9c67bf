package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dalil"
)

// Kill -9 under one-fix load: a child process appends one fix per call from
// many goroutines (one device each, like phones posting one fix per
// request) and prints every fix the store acknowledged; the parent kills it
// with SIGKILL mid-load, reopens the store and requires every acknowledged
// fix in the device's trail. A store that acknowledges before its group is
// durable fails here.

// Kill9Env is the variable that turns a test binary into the child: its value
// is what the child needs to open the store (a directory, a URL).
const Kill9Env = "DALIL_STORETEST_KILL9"

// kill9Start is the time of every device's first fix; fix i is i ms later.
var kill9Start = time.Date(2026, 6, 14, 4, 0, 0, 0, time.UTC)

// Kill9Writers is how many one-fix writers the child runs: the requests in
// flight of a loaded server.
const Kill9Writers = 64

// Kill9Child is the child's side: it appends until killed, printing "w i"
// for every acknowledged fix i of writer w. It never returns normally.
func Kill9Child(st dalil.Store) {
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range Kill9Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dev := kill9Device(w)
			for i := 0; ; i++ {
				p := dalil.Position{Device: dev, Time: kill9Start.Add(time.Duration(i) * time.Millisecond),
					Lat: 21.41 + float64(w)*1e-4, Lon: 39.89, Accuracy: 8, Source: dalil.SourceNative}
				if err := st.AppendPositions(context.Background(), []dalil.Position{p}); err != nil {
					fmt.Fprintf(os.Stderr, "writer %d fix %d: %v\n", w, i, err)
					os.Exit(5)
				}
				mu.Lock()
				fmt.Fprintf(out, "%d %d\n", w, i)
				_ = out.Flush() // the parent must see it before the kill
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

func kill9Device(w int) string { return fmt.Sprintf("k9-%02d", w) }

// KillNine runs the child (cmd, the test binary re-run with Kill9Env set),
// lets it write for d, kills it with SIGKILL, then opens the store with
// reopen and checks that every acknowledged fix is in its device's trail and
// that Latest names each device's newest acknowledged fix or a later one.
func KillNine(t *testing.T, cmd *exec.Cmd, d time.Duration, reopen func(t *testing.T) dalil.Store) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make([]int, Kill9Writers) // highest acknowledged fix + 1 per writer
	var n int64
	read := make(chan error, 1)
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w, i, ok := strings.Cut(sc.Text(), " ")
			wi, err1 := strconv.Atoi(w)
			ii, err2 := strconv.Atoi(i)
			if !ok || err1 != nil || err2 != nil || wi < 0 || wi >= Kill9Writers {
				read <- fmt.Errorf("child printed %q", sc.Text())
				return
			}
			mu.Lock()
			if ii+1 > acked[wi] {
				acked[wi] = ii + 1
			}
			n++
			mu.Unlock()
		}
		read <- sc.Err()
	}()
	time.Sleep(d)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill the child: %v", err)
	}
	// Read to the end before Wait: Wait closes the pipe, and the lines the
	// child printed just before the kill must still be counted.
	readErr := <-read
	_ = cmd.Wait()
	if readErr != nil && readErr != io.EOF {
		t.Fatalf("read the child's acknowledgements: %v", readErr)
	}
	if n == 0 {
		t.Fatalf("the child acknowledged nothing in %v; its stderr:\n%s", d, stderr.String())
	}
	t.Logf("%d one-fix appends acknowledged in %v by %d writers (%.0f/s) before kill -9",
		n, d, Kill9Writers, float64(n)/d.Seconds())

	st := reopen(t)
	defer st.Close()
	ctx := context.Background()
	latest := make(map[string]time.Time)
	if err := st.Latest(ctx, func(p dalil.Position) error { latest[p.Device] = p.Time; return nil }); err != nil {
		t.Fatalf("Latest after kill -9: %v", err)
	}
	for w := range Kill9Writers {
		dev := kill9Device(w)
		ps, err := st.Trail(ctx, dev, kill9Start, kill9Start.Add(24*time.Hour), 0)
		if err != nil {
			t.Fatalf("Trail(%s): %v", dev, err)
		}
		// Every fix 0..acked-1 was acknowledged (each writer waits for its
		// acknowledgement before the next): all must be there, in order.
		// A fix written but not yet acknowledged at the kill may be there too.
		if len(ps) < acked[w] {
			t.Errorf("%s: %d fixes acknowledged, %d in the trail after kill -9", dev, acked[w], len(ps))
			continue
		}
		for i := range acked[w] {
			if want := kill9Start.Add(time.Duration(i) * time.Millisecond); !ps[i].Time.Equal(want) {
				t.Errorf("%s: fix %d at %v, want %v (an acknowledged fix is missing)", dev, i, ps[i].Time, want)
				break
			}
		}
		if acked[w] > 0 {
			newest := kill9Start.Add(time.Duration(acked[w]-1) * time.Millisecond)
			if got, ok := latest[dev]; !ok || got.Before(newest) {
				t.Errorf("%s: Latest %v (present %v) after kill -9, want at least the acknowledged %v", dev, got, ok, newest)
			}
		}
	}
}
