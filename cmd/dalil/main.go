// Command dalil is the whole service: one binary with subcommands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand; each lives in its own cmd_*.go file.
func commands() []command {
	return []command{
		{"serve", "run the server (REST, websocket live feed, ingest, console)", runServe},
		{"layout", "layout generate|validate: write or check the Mina/Arafat camp and tent layout (GeoJSON)", runLayout},
		{"locate", "locate --lat L --lon L [--acc M]: where is this point (site, zone, camp, tent)", runLocate},
		{"route", "route --from LAT,LON --tent ID: walking route to a tent", runRoute},
		{"registry", "registry generate --pilgrims N: write a demo pilgrim registry CSV", runRegistry},
		{"import", "import pilgrims|trackers FILE.csv: load a pilgrim registry into the store, or register tracker IMEIs with a running server", runImport},
		{"simulate", "simulate: move simulated pilgrims and send their pings to a server", runSimulate},
		{"eval", "eval locate: measure camp and tent answers against seeded ground truth", runEval},
		{"bench", "bench: drive a running server with simulated devices and websocket watchers", runBench},
	}
}

// errUsage marks an error caused by bad command-line arguments (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "dalil %s: %v\n", c.name, err)
			if errors.Is(err, errUsage) {
				return 2
			}
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "dalil: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Dalil finds lost Hajj pilgrims and luggage.\n\nUsage: dalil <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'dalil <command> -h' for a command's flags.")
}
