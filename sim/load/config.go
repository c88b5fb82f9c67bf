// Package load drives a running Dalil server with simulated devices and
// websocket watchers and measures it: accepted pings per second, rejections,
// ping→websocket latency, delivered messages, the server's CPU and memory.
// It only talks to loopback, and every run is bounded in devices, watchers
// and time.
package load

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
	"dalil/sim/send"
)

// Bounds keep a run from swamping the machine it shares.
const (
	MaxDevices  = 5_000_000
	MaxWatchers = 15_000
	MaxDuration = 30 * time.Minute
)

// ErrConfig marks a Config that cannot run; the message says which field.
var ErrConfig = errors.New("bad load configuration")

// Device is one device the server knows (it is in the server's registry).
type Device struct {
	ID    string
	Kind  dalil.DeviceKind
	Group string    // the owner's group, for guide watchers
	Home  geo.Point // where it sits: its owner's tent
}

// Config describes one run.
type Config struct {
	// Target is the server's base URL (loopback only).
	Target string
	// AdminToken mints device, operator and guide tokens.
	AdminToken string
	// Devices are the simulated devices, all registered on the server.
	Devices []Device
	// Interval is each device's ping interval (default 10 s).
	Interval time.Duration
	// Duration is how long the load runs after setup (default 60 s).
	Duration time.Duration
	// Protocol is how devices send (default native). Mixed spreads devices
	// over the three protocols.
	Protocol send.Protocol
	// OsmAndTarget, when set, is the base URL of the server's own OsmAnd
	// listener (--osmand-addr, Traccar's port 5055): OsmAnd devices then
	// send to "/" there instead of /ingest/osmand on Target, and native
	// devices to /v1/pings there (the lean listener serves both).
	OsmAndTarget string
	// Batch is how many fixes a native device buffers into one request
	// (default 1: a request per fix). A device token may post only its own
	// pings, so a batch is one device's last Batch fixes, sent every
	// Batch×Interval: the pings/s offered stay Devices/Interval.
	Batch int
	// Conns is the number of HTTP requests in flight (default 256).
	Conns int
	// Watchers websocket clients subscribe to the live feed; GuideShare of
	// them are guides following a group (default 0.5), the rest operators
	// following a bbox of BBoxM metres around a random device (default 400).
	Watchers   int
	GuideShare float64
	BBoxM      float64
	// ServerPID is the server's process id for CPU and RSS; 0 finds the
	// process listening on the target's port (when the target is local).
	ServerPID int
	// Label names the run in the report (e.g. "embedded store").
	Label string
	// SetupTimeout bounds minting tokens and connecting watchers (default 5 min).
	SetupTimeout time.Duration
	// TokenFile caches device tokens between runs against the same server:
	// lines "device token"; tokens missing from it are minted and appended.
	TokenFile string
	// Seed fixes which devices the watchers follow.
	Seed int64
	// Log receives progress.
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = 10 * time.Second
	}
	if c.Duration <= 0 {
		c.Duration = 60 * time.Second
	}
	if c.Protocol == "" {
		c.Protocol = send.Native
	}
	if c.Batch <= 0 {
		c.Batch = 1
	}
	if c.Conns <= 0 {
		c.Conns = 256
	}
	if c.GuideShare == 0 {
		c.GuideShare = 0.5
	}
	if c.BBoxM <= 0 {
		c.BBoxM = 400
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = 5 * time.Minute
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if _, err := send.CheckTarget(c.Target); err != nil {
		errs = append(errs, err)
	}
	if c.OsmAndTarget != "" {
		if _, err := send.CheckTarget(c.OsmAndTarget); err != nil {
			errs = append(errs, fmt.Errorf("osmand target: %w", err))
		}
	}
	if _, err := send.ParseProtocol(string(c.Protocol)); err != nil {
		errs = append(errs, err)
	}
	switch {
	case len(c.Devices) == 0:
		errs = append(errs, errors.New("devices: none to simulate"))
	case len(c.Devices) > MaxDevices:
		errs = append(errs, fmt.Errorf("devices: %d is more than the bound of %d", len(c.Devices), MaxDevices))
	}
	if c.Watchers < 0 || c.Watchers > MaxWatchers {
		errs = append(errs, fmt.Errorf("watchers: %d is outside 0..%d", c.Watchers, MaxWatchers))
	}
	if c.Duration > MaxDuration {
		errs = append(errs, fmt.Errorf("duration: %v is longer than the bound of %v", c.Duration, MaxDuration))
	}
	if c.Interval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("interval: %v is shorter than 100ms", c.Interval))
	}
	if c.Batch > 1000 {
		errs = append(errs, fmt.Errorf("batch: %d fixes per request is more than 1000", c.Batch))
	}
	if c.Conns > 4096 {
		errs = append(errs, fmt.Errorf("conns: %d is more than 4096", c.Conns))
	}
	if c.GuideShare < 0 || c.GuideShare > 1 {
		errs = append(errs, fmt.Errorf("guide share: %v is outside 0..1", c.GuideShare))
	}
	if c.AdminToken == "" && (c.Watchers > 0 || c.Protocol == send.Native || c.Protocol == send.Mixed) {
		errs = append(errs, errors.New("token: the admin token is needed to mint device and watcher tokens"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
}

// DevicesFromRegistry lists every pilgrim's devices, placed at the pilgrim's
// tent (or camp) on the layout, in registry order. Pilgrims without a camp
// (a registry larger than Mina's tents hold) are spread over Muzdalifah,
// where pilgrims without a tent spend the night.
func DevicesFromRegistry(l *geo.Layout, ps []registry.Pilgrim) []Device {
	var out []Device
	var spill geo.Ring
	if a, ok := l.Area("muzdalifah"); ok && len(a.Polygon) > 3 {
		spill = a.Polygon
	}
	for i := range ps {
		p := &ps[i]
		home, ok := geo.Point{}, false
		if t, found := l.Tent(p.Tent); found && len(t.Polygon) > 2 {
			home, ok = t.Polygon.Centroid(), true
		} else if c, found := l.Camp(p.Camp); found && len(c.Polygon) > 2 {
			home, ok = c.Polygon.Centroid(), true
		} else if spill != nil {
			home, ok = spotIn(spill, uint64(i)), true
		}
		if !ok {
			continue
		}
		for k, id := range p.Devices {
			kind := dalil.DevicePhone
			if k < len(p.DeviceKinds) && p.DeviceKinds[k] != "" {
				kind = p.DeviceKinds[k]
			}
			out = append(out, Device{ID: id, Kind: kind, Group: p.Group, Home: home})
		}
	}
	return out
}

// spotIn is a point inside ring r chosen by k: the same k, the same point.
func spotIn(r geo.Ring, k uint64) geo.Point {
	lo, hi := r[0], r[0]
	for _, q := range r {
		lo.Lat, lo.Lon = min(lo.Lat, q.Lat), min(lo.Lon, q.Lon)
		hi.Lat, hi.Lon = max(hi.Lat, q.Lat), max(hi.Lon, q.Lon)
	}
	rng := rand.New(rand.NewPCG(k, 0x6d757a64))
	for range 32 {
		p := geo.Point{Lat: lo.Lat + rng.Float64()*(hi.Lat-lo.Lat), Lon: lo.Lon + rng.Float64()*(hi.Lon-lo.Lon)}
		if r.Contains(p) {
			return p
		}
	}
	return r.Centroid()
}
