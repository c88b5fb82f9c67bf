package embedded

import (
	"context"
	"fmt"
	"log/slog"
)

// pebbleLogger routes Pebble's printf-style messages into slog. Pebble's info
// messages (WAL recovery, compactions) are routine, so they go to Debug.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	if l.log != nil {
		l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	if l.log != nil {
		l.log.Error(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

// Fatalf must not return (Pebble calls it when continuing could corrupt the
// store, e.g. a failed WAL sync): log, then panic.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if l.log != nil {
		l.log.Log(context.Background(), slog.LevelError+4, msg, "component", "pebble")
	}
	panic("pebble: " + msg)
}
