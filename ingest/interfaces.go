package ingest

import (
	"context"

	"dalil"
)

// Sink takes the pings of one request that passed the filters. When Accept
// returns nil every ping in ps is durable. An error wrapping
// tracking.ErrUnavailable means "try again later" (the device gets 503 and
// Retry-After); any other error answers 500.
//
// Accept must not keep ps after it returns: ingest reuses the slice for the
// next request. (Positions are plain values, so copying them is cheap.)
// tracking.Engine implements Sink.
type Sink interface {
	Accept(ctx context.Context, ps []dalil.Position) error
}

// Devices looks up registered devices by the id they report.
// tracking.Registry implements it.
type Devices interface {
	Device(id string) (dalil.Device, bool)
}

// TokenAuth resolves a device's secret token to its device id. An error
// wrapping tracking.ErrUnavailable answers 503; any other error means the token
// is not valid (401). The api package implements it.
type TokenAuth interface {
	DeviceForToken(ctx context.Context, token string) (string, error)
}
