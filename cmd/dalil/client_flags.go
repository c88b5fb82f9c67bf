package main

import (
	"errors"
	"flag"
	"fmt"

	"dalil/sim/send"
)

// parseClientFlags parses the flags of a command that sends traffic to a
// server (simulate, bench) and checks the two they share. The target is
// checked first: a non-loopback target is refused before anything is sent.
// It returns an empty protocol and no error when -h asked for help.
func parseClientFlags(fs *flag.FlagSet, args []string, target, protocol *string) (send.Protocol, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil
		}
		return "", fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if _, err := send.CheckTarget(*target); err != nil {
		return "", fmt.Errorf("%w: --target: %v", errUsage, err)
	}
	proto, err := send.ParseProtocol(*protocol)
	if err != nil {
		return "", fmt.Errorf("%w: --protocol: %v", errUsage, err)
	}
	return proto, nil
}
