package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dalil/geo"
)

// runLayout writes (generate) or checks (validate) a GeoJSON layout.
func runLayout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: layout generate [--seed N] [--out FILE] | layout validate FILE", errUsage)
	}
	switch args[0] {
	case "generate":
		return runLayoutGenerate(args[1:], stdout, stderr)
	case "validate":
		return runLayoutValidate(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown layout command %q (want generate or validate)", errUsage, args[0])
}

func runLayoutGenerate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("layout generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seed := fs.Int64("seed", geo.DefaultSeed, "generator seed; the same seed gives the same layout")
	out := fs.String("out", "", "write to this file instead of standard output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	l := geo.Generate(*seed)
	if *out == "" {
		return l.WriteGeoJSON(stdout)
	}
	// Write beside the target and rename, so a reader never sees half a file.
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".layout-*.geojson")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := l.WriteGeoJSON(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: %s\n", *out, layoutSummary(l))
	return nil
}

func runLayoutValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("layout validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: layout validate FILE", errUsage)
	}
	l, err := geo.LoadFile(fs.Arg(0))
	var ve *geo.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Faults {
			fmt.Fprintln(stdout, f)
		}
		if ve.Truncated {
			fmt.Fprintln(stdout, "… more faults not listed")
		}
		return fmt.Errorf("%s: %d fault(s)", fs.Arg(0), len(ve.Faults))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok: %s\n", fs.Arg(0), layoutSummary(l))
	return nil
}

func layoutSummary(l *geo.Layout) string {
	sites := map[geo.Site]int{}
	capacity, gates := 0, 0
	for _, c := range l.Camps {
		sites[c.Site]++
		capacity += c.Capacity
		gates += len(c.Gates)
	}
	return fmt.Sprintf("%d areas, %d camps (%d Mina, %d Arafat), %d tents, %d gates, capacity %d pilgrims",
		len(l.Areas), len(l.Camps), sites[geo.SiteMina], sites[geo.SiteArafat], len(l.Tents), gates, capacity)
}

// loadLayout reads --layout FILE, or the layout that ships with the binary.
func loadLayout(path string) (*geo.Layout, error) {
	if path == "" {
		return geo.Default(), nil
	}
	return geo.LoadFile(path)
}
