// Package ingest receives GPS pings from pilgrims' devices over HTTP, decodes
// the protocols real clients speak (Traccar Client / OsmAnd, OwnTracks and
// Dalil's own native batches), filters out fixes that would mislead a search
// (invalid coordinates, stale or future clocks, poor accuracy, duplicates,
// GPS jumps) and hands each request's surviving pings to a Sink in one call.
//
// A device is told "delivered" only after the Sink has made its pings
// durable. Every rejected ping is counted per reason and reported back to the
// device (see docs/ingest.md for the exact wire formats and status codes).
//
// The hot path parses JSON, query strings and timestamps with small purpose-built
// scanners instead of encoding/json, net/url and time.Parse, and reuses its
// buffers through a sync.Pool, so a ping costs well under a microsecond and
// almost no garbage.
package ingest
