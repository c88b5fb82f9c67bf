package streambench

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"dalil"
	"dalil/geo"
	"dalil/ingest"
	"dalil/ingest/tracker"
	"dalil/sim/load"
)

// The harness drives real tracker servers (in this process) and counts what
// they stored from their /metrics.
func TestRunAgainstTrackerServers(t *testing.T) {
	devs := devices{}
	var bench []load.Device
	for _, id := range []string{"359339075016801", "359339075016802", "359339075016803"} {
		devs[id] = dalil.Device{ID: id, Kind: dalil.DeviceWristband, Pilgrim: "P" + id}
		bench = append(bench, load.Device{ID: id, Kind: dalil.DeviceWristband, Home: geo.Point{Lat: 21.4133, Lon: 39.8933}})
	}
	reg := prometheus.NewRegistry()
	sink := discard{}
	h := ingest.NewHandler(ingest.DefaultConfig(), sink, devs, nil, ingest.NewMetrics(reg), nil)
	metrics := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer metrics.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := map[string]string{}
	for name, s := range map[string]*tracker.Server{
		"gt06":      tracker.NewGT06(tracker.DefaultConfig(), h, devs, nil, nil),
		"teltonika": tracker.NewTeltonika(tracker.DefaultConfig(), h, devs, nil, nil),
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr[name] = ln.Addr().String()
		go s.Serve(ctx, ln)
	}
	for _, c := range []struct {
		proto   string
		records int
	}{{"gt06", 1}, {"teltonika", 5}} {
		rep, err := Run(ctx, Config{
			Protocol: c.proto, Devices: bench, Interval: 50 * time.Millisecond, Duration: time.Second,
			Target: metrics.URL, Addr: addr[c.proto], Records: c.records, ServerPID: os.Getpid(), Seed: 1,
		})
		if err != nil {
			t.Fatalf("%s: %v", c.proto, err)
		}
		if rep.Sent == 0 || rep.Acknowledged != rep.Sent || rep.Stored != rep.Acknowledged || rep.ServerCPU <= 0 {
			t.Errorf("%s: %+v: want every sent fix acknowledged and stored, and CPU measured", c.proto, rep)
		}
	}
}

type devices map[string]dalil.Device

func (d devices) Device(id string) (dalil.Device, bool) { dev, ok := d[id]; return dev, ok }

type discard struct{}

func (discard) Accept(context.Context, []dalil.Position) error { return nil }
