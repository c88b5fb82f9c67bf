package main

import (
	"context"
	"errors"
	"io"
)

// runRegistry is being built; see the issue tracker.
func runRegistry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
