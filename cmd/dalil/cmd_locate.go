package main

import (
	"context"
	"errors"
	"io"
)

// runLocate is being built; see the issue tracker.
func runLocate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
