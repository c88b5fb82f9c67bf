package main

import (
	"context"
	"errors"
	"io"
)

// runLayout is being built; see the issue tracker.
func runLayout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
