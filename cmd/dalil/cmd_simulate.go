package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"dalil/geo"
	"dalil/registry"
	"dalil/sim"
	"dalil/sim/send"
)

// runSimulate moves simulated pilgrims and sends their devices' pings to a
// server on this machine over the real device protocols.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "http://127.0.0.1:8080", "server base URL (loopback only)")
	token := fs.String("token", os.Getenv("DALIL_ADMIN_TOKEN"), "admin token, to mint the device tokens every simulated device sends; without it only --protocol osmand|owntracks works, against a server run with --open-ingest (DALIL_ADMIN_TOKEN)")
	protocol := fs.String("protocol", "mixed", "osmand, owntracks, native or mixed")
	pilgrims := fs.Int("pilgrims", 5000, "pilgrims of the generated registry (must match the server's: same --pilgrims and --registry-seed as its demo or `dalil registry generate`)")
	regSeed := fs.Int64("registry-seed", 1, "seed of the generated registry (the server's --demo-seed)")
	registry := fs.String("registry", "", "registry CSV the server was started with, instead of generating one")
	layoutFile := fs.String("layout", "", "layout GeoJSON the server uses; default: the shipped layout")
	seed := fs.Int64("seed", 1, "seed of the simulation")
	phase := fs.String("phase", "mina", "day simulated: mina, jamarat or arafat")
	duration := fs.Duration("duration", 5*time.Minute, "simulated time to run (0: until interrupted)")
	speed := fs.Float64("speed", 1, "simulated seconds per second; above 1 timestamps run ahead of the clock and the server refuses them past its future bound (10 min)")
	phoneEvery := fs.Duration("phone-interval", 30*time.Second, "ping interval of phones")
	bandEvery := fs.Duration("wristband-interval", 60*time.Second, "ping interval of wristbands")
	tagEvery := fs.Duration("tag-interval", 300*time.Second, "ping interval of luggage tags")
	lost := fs.Float64("lost", 0.003, "fraction of pilgrims who get lost (negative: none)")
	silent := fs.Float64("silent", 0.05, "fraction of phones that go silent and flush a backlog later (negative: none)")
	leftBags := fs.Float64("left-bags", 0.02, "fraction of luggage tags left behind (negative: none)")
	window := fs.Duration("event-window", 10*time.Minute, "span in which the lost, silent and left-behind events happen")
	workers := fs.Int("workers", 16, "HTTP requests in flight")
	truth := fs.String("truth", "", "write the ground truth (lost pilgrims, left bags, silent and dead devices) to this JSON file at the end")
	proto, err := parseClientFlags(fs, args, target, protocol)
	if err != nil || proto == "" {
		return err
	}
	ph, err := sim.ParsePhase(*phase)
	if err != nil {
		return fmt.Errorf("%w: --phase: %v", errUsage, err)
	}
	if *pilgrims < 1 || *pilgrims > 3_000_000 {
		return fmt.Errorf("%w: --pilgrims %d: want 1 to 3,000,000", errUsage, *pilgrims)
	}
	if *duration < 0 {
		return fmt.Errorf("%w: --duration must not be negative", errUsage)
	}
	if (proto == send.Native || proto == send.Mixed) && *token == "" {
		return fmt.Errorf("%w: --token: the native protocol needs the admin token to mint device tokens (or use --protocol osmand|owntracks against a server run with --open-ingest)", errUsage)
	}

	layout, ix, err := loadIndex(*layoutFile)
	if err != nil {
		return err
	}
	ps, gs, err := loadRegistry(layout, *registry, *pilgrims, *regSeed)
	if err != nil {
		return err
	}
	snd, err := send.New(send.Config{Target: *target, Protocol: proto, AdminToken: *token, Workers: *workers})
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg := sim.DefaultConfig()
	cfg.Seed, cfg.Phase, cfg.Speed, cfg.Duration = *seed, ph, *speed, *duration
	cfg.PhoneInterval, cfg.WristbandInterval, cfg.TagInterval = *phoneEvery, *bandEvery, *tagEvery
	cfg.LostFraction, cfg.SilentFraction, cfg.LeftBagFraction, cfg.EventWindow = *lost, *silent, *leftBags, *window
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s := sim.New(cfg, ix, ps, gs)
	st := s.Stats()
	fmt.Fprintf(stdout, "simulating %d pilgrims in %d groups with %d devices (%s, %s) to %s\n",
		st.Pilgrims, st.Groups, st.Devices, ph, proto, *target)

	done := make(chan struct{})
	go progress(done, stdout, s, snd)
	runErr := s.Run(ctx, snd.Send)
	close(done)
	summary(stdout, s, snd)
	if *truth != "" {
		if err := writeTruth(*truth, s.GroundTruth()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ground truth written to %s\n", *truth)
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}

// loadIndex reads a layout file, or takes the shipped one, and indexes it.
func loadIndex(path string) (*geo.Layout, *geo.Index, error) {
	layout := geo.Default()
	if path != "" {
		l, err := geo.LoadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("layout: %w", err)
		}
		layout = l
	}
	ix, err := geo.NewIndex(layout)
	if err != nil {
		return nil, nil, fmt.Errorf("layout index: %w", err)
	}
	return layout, ix, nil
}

// loadRegistry reads the registry CSV or generates the demo registry.
func loadRegistry(l *geo.Layout, path string, n int, seed int64) ([]registry.Pilgrim, []registry.Group, error) {
	if path == "" {
		ps, gs := registry.GenerateRegistry(l, n, seed)
		return ps, gs, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	ps, gs, err := registry.ReadPilgrimsCSV(f)
	if err != nil {
		return nil, nil, fmt.Errorf("registry %s: %w", path, err)
	}
	return ps, gs, nil
}

func progress(done <-chan struct{}, w io.Writer, s *sim.Simulator, snd *send.Sender) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			st, ss := s.Stats(), snd.Stats()
			fmt.Fprintf(w, "  pings %d: accepted %d, rejected %d, failed %d; lost %d, backlog flushes %d\n",
				st.Pings, ss.Accepted, ss.Rejected, ss.Failed, st.Lost, st.Flushes)
		}
	}
}

func summary(w io.Writer, s *sim.Simulator, snd *send.Sender) {
	st, ss := s.Stats(), snd.Stats()
	fmt.Fprintf(w, "done: %d pings in %d requests: %d accepted, %d rejected, %d failed\n", st.Pings, ss.Requests, ss.Accepted, ss.Rejected, ss.Failed)
	fmt.Fprintf(w, "      %d lost pilgrims, %d bags left behind, %d backlog flushes (%d pings, %d out of order), %d dead batteries\n",
		st.Lost, st.LeftBags, st.Flushes, st.Flushed, st.OutOfOrder, st.Dead)
	for _, r := range slices.Sorted(maps.Keys(ss.Reasons)) {
		fmt.Fprintf(w, "      rejected %d: %s\n", ss.Reasons[r], r)
	}
}

func writeTruth(path string, gt sim.GroundTruth) error {
	data, err := json.MarshalIndent(gt, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
