package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
	"dalil/store"
)

// runImport: `dalil import pilgrims FILE.csv [--data DIR | --store URL]
// [--layout FILE] [--dry-run]` loads a pilgrim registry CSV into the store,
// all or nothing, updating pilgrims already registered in place.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "trackers" {
		return runImportTrackers(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "pilgrims" {
		fmt.Fprintln(stderr, "usage: dalil import pilgrims FILE.csv [--data DIR | --store URL] [--layout FILE] [--dry-run]")
		fmt.Fprintln(stderr, "       dalil import trackers FILE.csv [--server URL] [--token ADMIN] [--dry-run]")
		return fmt.Errorf("%w: want: import pilgrims|trackers FILE.csv", errUsage)
	}
	fs := flag.NewFlagSet("import pilgrims", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", importEnvOr("DALIL_DATA", "./data"), "directory of the embedded store (DALIL_DATA)")
	storeURL := fs.String("store", importEnvOr("DALIL_STORE", ""), "postgres://… URL; overrides --data (DALIL_STORE)")
	layoutPath := fs.String("layout", importEnvOr("DALIL_LAYOUT", ""), "layout GeoJSON the camp and tent columns refer to; default: the shipped layout (DALIL_LAYOUT)")
	dryRun := fs.Bool("dry-run", false, "validate the file against the layout and the stored registry, write nothing")
	pos, err := parseFlagsInterleaved(fs, args[1:])
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want exactly one CSV file, got %d arguments", errUsage, len(pos))
	}
	path := pos[0]

	layout := geo.Default()
	if *layoutPath != "" {
		if layout, err = geo.LoadFile(*layoutPath); err != nil {
			return err
		}
	}
	spec, where := *data, "embedded store "+*data
	if *storeURL != "" {
		spec, where = *storeURL, "PostgreSQL"
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, spec, log)
	if err != nil {
		return err
	}
	defer st.Close()
	reg, err := registry.LoadRegistry(ctx, st)
	if err != nil {
		return err
	}
	var rs dalil.RecordStore = st
	if *dryRun {
		rs = nil // Import into the in-memory copy only: full validation, no write
	}
	start := time.Now()
	sum, err := importPilgrimsFile(ctx, reg, rs, path, layout)
	if err != nil {
		return err
	}
	verb := "imported"
	if *dryRun {
		verb, where = "validated (dry run, nothing written)", where+" would hold"
	}
	fmt.Fprintf(stdout, "%s %d pilgrims from %s (%d new, %d updated), %d groups, %d devices (%d phones, %d wristbands, %d luggage tags) into %s in %s; the registry now has %d pilgrims\n",
		verb, sum.pilgrims, path, sum.added, sum.pilgrims-sum.added, sum.groups, sum.phones+sum.bands+sum.tags,
		sum.phones, sum.bands, sum.tags, where, time.Since(start).Round(time.Millisecond), reg.Len())
	return nil
}

type importSummary struct {
	pilgrims, added, groups int
	phones, bands, tags     int
}

// importPilgrimsFile reads a registry CSV, checks its camps and tents against
// the layout and imports it (rs nil: into memory only). Errors name the file
// and the line.
func importPilgrimsFile(ctx context.Context, reg *registry.Registry, rs dalil.RecordStore, path string, layout *geo.Layout) (importSummary, error) {
	var sum importSummary
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	ps, gs, lines, err := registry.ReadPilgrimsCSVLines(f)
	if err != nil {
		return sum, fmt.Errorf("%s: %w; nothing was imported", path, err)
	}
	if layout != nil {
		if err := checkPlaces(ps, lines, layout); err != nil {
			return sum, fmt.Errorf("%s: %w; nothing was imported", path, err)
		}
	}
	for i := range ps {
		if _, ok := reg.Pilgrim(ps[i].PID); !ok {
			sum.added++
		}
		for k := range ps[i].Devices {
			switch ps[i].DeviceKinds[k] {
			case dalil.DeviceWristband:
				sum.bands++
			case dalil.DeviceLuggageTag:
				sum.tags++
			default:
				sum.phones++
			}
		}
	}
	sum.pilgrims, sum.groups = len(ps), len(gs)
	if err := reg.Import(ctx, rs, ps, gs); err != nil {
		var re *registry.RowError
		if errors.As(err, &re) && re.Line == 0 && re.Index >= 0 && re.Index < len(lines) {
			re.Line = lines[re.Index] // report by line, like the CSV reader
		}
		return sum, fmt.Errorf("%s: %w; nothing was imported", path, err)
	}
	return sum, nil
}

// checkPlaces rejects camps and tents the layout does not have.
func checkPlaces(ps []registry.Pilgrim, lines []int, l *geo.Layout) error {
	for i := range ps {
		p := &ps[i]
		if p.Camp != "" {
			if _, ok := l.Camp(p.Camp); !ok {
				return &registry.RowError{Line: lines[i], Index: i, PID: p.PID, Column: "camp", Reason: fmt.Sprintf("camp %q is not in the layout", p.Camp)}
			}
		}
		if p.Tent != "" {
			t, ok := l.Tent(p.Tent)
			if !ok {
				return &registry.RowError{Line: lines[i], Index: i, PID: p.PID, Column: "tent", Reason: fmt.Sprintf("tent %q is not in the layout", p.Tent)}
			}
			if p.Camp != "" && t.Camp != p.Camp {
				return &registry.RowError{Line: lines[i], Index: i, PID: p.PID, Column: "tent", Reason: fmt.Sprintf("tent %q is in camp %q, not %q", p.Tent, t.Camp, p.Camp)}
			}
		}
	}
	return nil
}

// parseFlagsInterleaved parses flags that may come before, between and after the
// positional arguments ("import pilgrims FILE --data DIR").
func parseFlagsInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func importEnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
