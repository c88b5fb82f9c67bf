package main

import (
	"context"
	"errors"
	"io"
)

// runSimulate is being built; see the issue tracker.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
