package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"dalil"
	"dalil/geo"
	"dalil/registry"
)

// runRegistry: `dalil registry generate --pilgrims N [--seed S] [--out FILE]
// [--layout FILE]` writes a realistic demo pilgrim registry CSV (format in
// docs/registry.md).
func runRegistry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "generate" {
		fmt.Fprintln(stderr, "usage: dalil registry generate [--pilgrims N] [--seed S] [--out FILE] [--layout FILE]")
		return fmt.Errorf("%w: want the subcommand generate", errUsage)
	}
	fs := flag.NewFlagSet("registry generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("pilgrims", registry.DefaultDemoPilgrims, "number of pilgrims (Bangladesh 2024: 85,225)")
	seed := fs.Int64("seed", 1, "random seed; the same seed and layout give the same registry")
	out := fs.String("out", "", "write the CSV to this file instead of standard output")
	layoutPath := fs.String("layout", "", "camp and tent layout GeoJSON whose Mina tents are filled; default: the shipped layout")
	imeis := fs.Bool("imei-wristbands", false, "give wristbands 15-digit IMEIs, as GT06/H02/Teltonika trackers report (for `bench --protocol gt06`)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if *n <= 0 {
		return fmt.Errorf("%w: --pilgrims must be positive, got %d", errUsage, *n)
	}
	layout := geo.Default()
	if *layoutPath != "" {
		l, err := geo.LoadFile(*layoutPath)
		if err != nil {
			return err
		}
		layout = l
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ps, gs := registry.GenerateRegistry(layout, *n, *seed)
	if *imeis {
		imeiWristbands(ps) // registry_imei.go
	}

	summary := stdout
	if *out == "" {
		summary = stderr // standard output carries the CSV
		bw := bufio.NewWriterSize(stdout, 1<<16)
		if err := registry.WritePilgrimsCSV(bw, ps); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	} else if err := writeFileAtomic(*out, func(w io.Writer) error { return registry.WritePilgrimsCSV(w, ps) }); err != nil {
		return err
	}
	phones, bands, housed := 0, 0, 0
	for i := range ps {
		for k := range ps[i].Devices {
			if k < len(ps[i].DeviceKinds) && ps[i].DeviceKinds[k] == dalil.DeviceWristband {
				bands++
			} else {
				phones++
			}
		}
		if ps[i].Tent != "" {
			housed++
		}
	}
	dest := *out
	if dest == "" {
		dest = "standard output"
	}
	fmt.Fprintf(summary, "wrote %d pilgrims in %d guide groups to %s: %d phones, %d wristbands, %d pilgrims housed in Mina tents\n",
		len(ps), len(gs), dest, phones, bands, housed)
	return nil
}

// writeFileAtomic writes a file through a temporary sibling and a rename, so
// that a failed run never leaves half a file behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	bw := bufio.NewWriterSize(tmp, 1<<16)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
