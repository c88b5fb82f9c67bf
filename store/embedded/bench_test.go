package embedded_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"dalil"
	"dalil/store/embedded"
	"dalil/store/storetest"
)

func benchOpen(b *testing.B) dalil.Store {
	st, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return st
}

func BenchmarkStore(b *testing.B) { storetest.Bench(b, benchOpen) }

func BenchmarkSizePerMillion(b *testing.B) { storetest.BenchSize(b, benchOpen) }

// syncCountingFS counts fsyncs, to see how many commits share one.
type syncCountingFS struct {
	vfs.FS
	syncs *atomic.Int64
}

type syncCountingFile struct {
	vfs.File
	syncs *atomic.Int64
}

func (f syncCountingFile) Sync() error     { f.syncs.Add(1); return f.File.Sync() }
func (f syncCountingFile) SyncData() error { f.syncs.Add(1); return f.File.SyncData() }
func (f syncCountingFile) SyncTo(n int64) (bool, error) {
	f.syncs.Add(1)
	return f.File.SyncTo(n)
}

func (fs syncCountingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return syncCountingFile{f, fs.syncs}, err
}

func (fs syncCountingFS) ReuseForWrite(old, new string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, new, c)
	return syncCountingFile{f, fs.syncs}, err
}

func (fs syncCountingFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, o ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, o...)
	return syncCountingFile{f, fs.syncs}, err
}

// BenchmarkGroupCommit answers "does Pebble's commit pipeline already merge
// concurrent synced commits?": the same appends from 1 and from 64
// goroutines, with the fsyncs counted. If commits/fsync rises with the
// writers, Pebble groups them and the store needs no batcher of its own.
func BenchmarkGroupCommit(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			var syncs atomic.Int64
			st, err := embedded.OpenOptions(b.TempDir(), embedded.Options{FS: syncCountingFS{vfs.Default, &syncs}})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			base := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
			var next atomic.Int64
			var wg sync.WaitGroup
			syncs.Store(0)
			b.ResetTimer()
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					batch := make([]dalil.Position, 10)
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						for k := range batch {
							batch[k] = dalil.Position{Device: fmt.Sprintf("w%02d", w), Time: base.Add(time.Duration(i*10+int64(k)) * time.Millisecond),
								Lat: 21.41, Lon: 39.89, Speed: -1, Heading: -1, Altitude: -1, Battery: -1}
						}
						if err := st.AppendPositions(ctx, batch); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			n := syncs.Load()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
			b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "positions/s")
			if n > 0 {
				b.ReportMetric(float64(b.N)/float64(n), "commits/fsync")
			}
		})
	}
}
