package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dalil/sim/load"
)

// runBench drives a running server on this machine with simulated devices
// and websocket watchers, and reports throughput, latency, CPU and memory.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "http://127.0.0.1:8080", "server base URL (loopback only)")
	token := fs.String("token", os.Getenv("DALIL_ADMIN_TOKEN"), "admin token: mints device, operator and guide tokens (DALIL_ADMIN_TOKEN)")
	devices := fs.Int("devices", 20000, fmt.Sprintf("simulated devices, all in the server's registry (at most %d)", load.MaxDevices))
	interval := fs.Duration("interval", 10*time.Second, "ping interval of every device")
	duration := fs.Duration("duration", 60*time.Second, fmt.Sprintf("how long the load runs after setup (at most %v)", load.MaxDuration))
	watchers := fs.Int("watchers", 100, fmt.Sprintf("websocket watchers (at most %d)", load.MaxWatchers))
	guides := fs.Float64("guide-share", 0.5, "share of the watchers that are guides following a group; the rest are operators with a bbox")
	bbox := fs.Float64("bbox-m", 400, "side of an operator's bbox in metres")
	protocol := fs.String("protocol", "native", "osmand, owntracks, native or mixed; or mqtt, gt06 or teltonika (bench_stream.go)")
	osmandTarget := fs.String("osmand-target", "", "base URL of the server's OsmAnd listener (--osmand-addr, e.g. http://127.0.0.1:5055): OsmAnd devices send to / there, native devices to /v1/pings there (loopback only)")
	batch := fs.Int("batch", 1, "native: fixes a device buffers into one request (sent every batch×interval)")
	conns := fs.Int("conns", 256, "HTTP requests in flight")
	pilgrims := fs.Int("pilgrims", 0, "pilgrims of the server's generated registry (default: --devices; same as the server's --demo-pilgrims or `registry generate --pilgrims`)")
	regSeed := fs.Int64("registry-seed", 1, "seed of the server's generated registry")
	registry := fs.String("registry", "", "registry CSV the server was started with, instead of generating one")
	layoutFile := fs.String("layout", "", "layout GeoJSON the server uses; default: the shipped layout")
	serverPID := fs.Int("server-pid", 0, "server process id for CPU and RSS; default: the process listening on the target's port")
	label := fs.String("label", "", "name of the run in the report (e.g. \"embedded store\")")
	out := fs.String("out", "", "also write the report to FILE.md (Markdown) or FILE.json")
	setup := fs.Duration("setup-timeout", 5*time.Minute, "bound on minting tokens and connecting watchers")
	seed := fs.Int64("seed", 1, "seed of the watchers' choice of groups and places")
	tokenFile := fs.String("tokens", "", "cache of device tokens (\"device token\" lines) reused across runs against the same server; missing ones are minted and appended")
	sf := addStreamBenchFlags(fs)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err == nil && isStreamProtocol(*protocol) {
		return runStreamBench(ctx, stdout, streamBenchArgs{
			flags: sf, protocol: *protocol, target: *target, token: *token, devices: *devices,
			interval: *interval, duration: *duration, pilgrims: *pilgrims, regSeed: *regSeed,
			registry: *registry, layout: *layoutFile, serverPID: *serverPID, seed: *seed, out: *out,
		})
	}
	proto, err := parseClientFlags(fs, args, target, protocol)
	if err != nil || proto == "" {
		return err
	}
	if *devices < 1 || *devices > load.MaxDevices {
		return fmt.Errorf("%w: --devices %d: want 1 to %d", errUsage, *devices, load.MaxDevices)
	}
	if *out != "" && !strings.HasSuffix(*out, ".md") && !strings.HasSuffix(*out, ".json") {
		return fmt.Errorf("%w: --out %q: want a .md or .json file", errUsage, *out)
	}
	if *pilgrims == 0 {
		*pilgrims = *devices
	}

	layout, _, err := loadIndex(*layoutFile)
	if err != nil {
		return err
	}
	ps, _, err := loadRegistry(layout, *registry, *pilgrims, *regSeed)
	if err != nil {
		return err
	}
	devs := load.DevicesFromRegistry(layout, ps)
	if len(devs) < *devices {
		return fmt.Errorf("%w: --devices %d: the registry has only %d placed devices; use a larger registry (--pilgrims or --registry)", errUsage, *devices, len(devs))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rep, err := load.Run(ctx, load.Config{
		Target: *target, AdminToken: *token, Devices: devs[:*devices],
		Interval: *interval, Duration: *duration, Protocol: proto, Batch: *batch, OsmAndTarget: *osmandTarget, Conns: *conns,
		Watchers: *watchers, GuideShare: *guides, BBoxM: *bbox, ServerPID: *serverPID,
		Label: *label, SetupTimeout: *setup, Seed: *seed, TokenFile: *tokenFile, Log: log,
	})
	if err != nil {
		if errors.Is(err, load.ErrConfig) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	if err := rep.WriteMarkdown(stdout); err != nil {
		return err
	}
	if *out == "" {
		return nil
	}
	if dir := filepath.Dir(*out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if strings.HasSuffix(*out, ".json") {
		err = rep.WriteJSON(f)
	} else {
		err = rep.WriteMarkdown(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
