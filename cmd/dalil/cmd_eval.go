package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"dalil/eval"
	"dalil/geo"
)

// runEval measures Dalil's answers against seeded ground truth.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "locate" {
		return fmt.Errorf("%w: dalil eval locate [--seed N] [--pilgrims N] [--uniform N] [--reliability] [--layout FILE]", errUsage)
	}
	cfg := eval.DefaultConfig()
	fs := flag.NewFlagSet("eval locate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the ground truth and the noise")
	fs.IntVar(&cfg.Pilgrims, "pilgrims", cfg.Pilgrims, "simulated pilgrims per noise model")
	fs.IntVar(&cfg.UniformFixes, "uniform", cfg.UniformFixes, "fixes of the one-fix baseline (0 skips it)")
	rel := fs.Bool("reliability", false, "also write the posterior's reliability diagrams")
	layout := fs.String("layout", "", "GeoJSON layout file (default: the built-in layout)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if cfg.Pilgrims < 1 || cfg.UniformFixes < 0 {
		return fmt.Errorf("%w: --pilgrims must be ≥ 1 and --uniform ≥ 0", errUsage)
	}
	l, err := loadLayout(*layout)
	if err != nil {
		return err
	}
	ix, err := geo.NewIndex(l)
	if err != nil {
		return err
	}
	rep := eval.RunLocate(ix, cfg)
	rep.WriteMarkdown(stdout)
	if *rel {
		fmt.Fprintln(stdout)
		rep.WriteReliability(stdout)
	}
	return nil
}
