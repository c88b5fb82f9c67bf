package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"dalil"
)

// Protocol names an ingest protocol that does not come over HTTP; a Batch
// counts its pings under that protocol's label.
type Protocol = protocol

// The stream protocols (packages ingest/mqtt and ingest/tracker).
const (
	MQTT      Protocol = protoMQTT
	GT06      Protocol = protoGT06
	H02       Protocol = protoH02
	Teltonika Protocol = protoTeltonika
)

// Batch feeds fixes from a stream protocol (an MQTT subscription, a tracker's
// TCP connection) through the same filters, Sink and metrics as the HTTP
// endpoints. The caller has already proved who the device is (the broker
// authenticated the MQTT user, the tracker's IMEI is registered): Batch
// trusts the Device of what it is given.
//
// A Batch is not safe for concurrent use; keep one per connection or worker
// and reuse it: it keeps its buffers.
type Batch struct {
	h     *Handler
	proto protocol
	src   dalil.Source
	rs    reqState
}

// Outcome counts what a Commit did with the batch's fixes.
type Outcome struct {
	Accepted int // durable
	Rejected int // refused by a decoder or a filter (counted by reason)
}

// NewBatch returns an empty batch for protocol p.
func (h *Handler) NewBatch(p Protocol) *Batch {
	src := dalil.SourceOwnTracksMQTT
	switch p {
	case protoGT06:
		src = dalil.SourceGT06
	case protoH02:
		src = dalil.SourceH02
	case protoTeltonika:
		src = dalil.SourceTeltonika
	}
	return &Batch{h: h, proto: p, src: src}
}

// Devices is the registry the handler resolves devices with (nil if none).
func (h *Handler) Devices() Devices { return h.devices }

// Len is the number of fixes added since the last Commit or Reset.
func (b *Batch) Len() int { return len(b.rs.items) }

// Add adds one decoded fix of a proved device. Unset optional fields must be
// tracking.Unknown; Source is set by the batch.
func (b *Batch) Add(p dalil.Position) {
	it := b.rs.addItem(b.src)
	p.Source = b.src
	it.p = p
}

// ErrPayload wraps a payload that could not be decoded or is too large; it
// was counted and nothing of it is kept.
var ErrPayload = errors.New("ingest: bad payload")

// AddOwnTracks decodes one OwnTracks message (the JSON of its HTTP mode, as
// OwnTracks publishes it over MQTT) for device dev. Non-location messages
// (lwt, transition, card, …) add nothing. A payload larger than
// Config.MaxSingleBodyBytes or that is not JSON returns an error wrapping
// ErrPayload, counted as too_large or malformed.
func (b *Batch) AddOwnTracks(dev string, payload []byte) error {
	if int64(len(payload)) > b.h.cfg.MaxSingleBodyBytes {
		b.h.m.rejected[reasonTooLarge].Inc()
		return fmt.Errorf("%w: %d bytes, more than %d", ErrPayload, len(payload), b.h.cfg.MaxSingleBodyBytes)
	}
	first := len(b.rs.items)
	b.rs.r.reset(payload)
	ok := b.rs.ownTracksJSON(&b.rs.r, b.h.cfg.Now().UTC())
	if !ok {
		clear(b.rs.items[first:])
		b.rs.items = b.rs.items[:first]
		b.h.m.rejected[reasonMalformed].Inc()
		err := fmt.Errorf("%w: malformed JSON: %s at byte %d", ErrPayload, b.rs.r.err, b.rs.r.errAt)
		b.rs.r.reset(nil)
		return err
	}
	b.rs.r.reset(nil)
	for i := first; i < len(b.rs.items); i++ {
		b.rs.items[i].p.Device = dev
		b.rs.items[i].p.Source = b.src
	}
	return nil
}

// RejectUnknown counts n fixes refused because their sender is not a
// registered device (reason unknown_device).
func (b *Batch) RejectUnknown(n int) { b.h.m.rejected[reasonUnknownDevice].Add(float64(n)) }

// RejectMalformed counts one frame or message that could not be decoded.
func (b *Batch) RejectMalformed() { b.h.m.rejected[reasonMalformed].Inc() }

// RejectTooLarge counts one frame or message over the size limit.
func (b *Batch) RejectTooLarge() { b.h.m.rejected[reasonTooLarge].Inc() }

// Commit filters the batch's fixes and stores the survivors in one Sink call.
// When it returns nil every accepted fix is durable and the batch is empty
// again: acknowledge the device's messages then. On a Sink error nothing is
// kept or counted as accepted (the error wraps tracking.ErrUnavailable when
// the store asks to retry later) and the batch is emptied too: the caller
// does not acknowledge, and adds the same messages again to retry.
func (b *Batch) Commit(ctx context.Context) (Outcome, error) {
	h, rs := b.h, &b.rs
	defer b.Reset()
	if len(rs.items) == 0 {
		return Outcome{}, nil
	}
	now := h.cfg.Now().UTC()
	for i := range rs.items {
		it := &rs.items[i]
		if it.fault.reason != reasonNone {
			continue
		}
		s := rs.session(h.filter, it.p.Device, h.cfg.MaxSpeed)
		h.resolve(s, true)
		v := h.filter.check(&s.st, &it.p, now, s.maxSpeed)
		s.used = true
		if v.reason != reasonNone {
			it.fault = fault{reason: v.reason}
			continue
		}
		rs.ok = append(rs.ok, it.p)
	}
	if len(rs.ok) > 0 {
		if err := h.sink.Accept(ctx, rs.ok); err != nil {
			if errors.Is(err, dalil.ErrUnavailable) {
				h.m.unavailable.Inc()
			} else {
				h.m.failed.Inc()
			}
			h.logSinkError(b.proto, len(rs.ok), err)
			return Outcome{}, err
		}
	}
	for i := range rs.sessions {
		if s := &rs.sessions[i]; s.used {
			h.filter.store(s.dev, &s.st)
		}
	}
	out := Outcome{Accepted: len(rs.ok), Rejected: len(rs.items) - len(rs.ok)}
	h.m.accepted[b.proto].Add(float64(out.Accepted))
	debug := h.log.Enabled(ctx, slog.LevelDebug)
	for i := range rs.items {
		it := &rs.items[i]
		if it.fault.reason == reasonNone {
			continue
		}
		h.m.rejected[it.fault.reason].Inc()
		if debug {
			h.log.LogAttrs(ctx, slog.LevelDebug, "ping rejected",
				slog.String("protocol", protocolNames[b.proto]), slog.String("device", it.p.Device),
				slog.String("reason", reasonNames[it.fault.reason]), slog.String("field", it.fault.field),
				slog.String("detail", it.fault.detail()))
		}
	}
	return out, nil
}

// Reset drops the fixes added since the last Commit.
func (b *Batch) Reset() { b.rs.clear() }
