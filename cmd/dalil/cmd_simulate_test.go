package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestSimulateAndBenchRefuseOtherMachines: the network here must only see
// loopback traffic, so both commands refuse a remote target up front.
func TestSimulateAndBenchRefuseOtherMachines(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error
	}{
		{"simulate", func(ctx context.Context, a []string, o, e *bytes.Buffer) error { return runSimulate(ctx, a, o, e) }},
		{"bench", func(ctx context.Context, a []string, o, e *bytes.Buffer) error { return runBench(ctx, a, o, e) }},
	} {
		for _, target := range []string{"http://10.1.2.3:8080", "http://example.com", "http://[2001:db8::1]:8080"} {
			var out, errb bytes.Buffer
			err := c.run(context.Background(), []string{"--target", target, "--token", "x"}, &out, &errb)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "loopback") {
				t.Errorf("%s --target %s = %v, want a usage error about loopback", c.name, target, err)
			}
			if out.Len() > 0 {
				t.Errorf("%s --target %s printed %q before refusing", c.name, target, out.String())
			}
		}
	}
}

func TestSimulateAndBenchCheckFlags(t *testing.T) {
	for _, args := range [][]string{
		{"simulate", "--protocol", "mqtt"},
		{"simulate", "--phase", "tawaf"},
		{"simulate", "--protocol", "native", "--token", ""},
		{"simulate", "--pilgrims", "0"},
		{"bench", "--devices", "0"},
		{"bench", "--protocol", "carrier-pigeon"},
		{"bench", "--out", "report.txt"},
		{"bench", "stray"},
	} {
		var out, errb bytes.Buffer
		var err error
		if args[0] == "simulate" {
			err = runSimulate(context.Background(), args[1:], &out, &errb)
		} else {
			err = runBench(context.Background(), args[1:], &out, &errb)
		}
		if !errors.Is(err, errUsage) {
			t.Errorf("%v = %v, want a usage error", args, err)
		}
	}
}
