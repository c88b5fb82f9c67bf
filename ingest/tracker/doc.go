// Package tracker serves the TCP protocols of hardware GPS trackers — the
// wristbands and luggage tags sold for pilgrims — each on its own port:
// GT06 (Concox, Traccar's port 5023), H02 (5013) and Teltonika Codec 8 / 8E
// (5027).
//
// A connection is persistent: the tracker logs in with its IMEI, then sends
// heartbeats and locations for hours. The IMEI must be registered as a device
// of kind wristband or luggage-tag; the connection of any other IMEI is
// closed with the same answer as any refusal (no enumeration of registered
// IMEIs). Fixes go through ingest.Batch — the filters, the Sink and the
// metrics of every other protocol — and a location is acknowledged only once
// it is durable, so a tracker whose fix was not stored sends it again.
//
// Each connection has a frame-size limit and a frame-rate limit. A malformed
// or oversized frame closes that connection only; every close is counted by
// reason in dalil_tracker_connections_closed_total{protocol,reason}.
package tracker
