package main

import (
	"context"
	"errors"
	"io"
)

// runRoute is being built; see the issue tracker.
func runRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
