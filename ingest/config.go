package ingest

import (
	"time"

	"dalil"
)

// Config tunes the decoders and filters. Start from DefaultConfig. A zero
// filter bound (MaxFuture, MaxAge, MaxAccuracy, MaxSpeed, MaxBatch) disables
// that filter; zero body limits, FilterDevices and RetryAfter take their
// defaults.
type Config struct {
	// MaxBodyBytes limits a native batch body; MaxSingleBodyBytes limits an
	// OsmAnd or OwnTracks body. Larger bodies get 413 and nothing is stored.
	MaxBodyBytes       int64
	MaxSingleBodyBytes int64
	// MaxBatch is the most pings one request may carry (413 beyond).
	MaxBatch int

	// MaxFuture rejects fixes stamped later than now+MaxFuture (a wrong
	// device clock). MaxAge rejects fixes older than now-MaxAge; it must
	// exceed how long a phone may stay offline buffering fixes.
	MaxFuture time.Duration
	MaxAge    time.Duration
	// MaxAccuracy rejects fixes whose accuracy radius (metres) is larger.
	MaxAccuracy float64
	// HDOPMetres turns OsmAnd's hdop into an accuracy radius when the client
	// sends no accuracy (accuracy ≈ hdop × user-equivalent range error).
	HDOPMetres float64

	// MaxSpeed (m/s) bounds the speed implied between a fix and the device's
	// accepted fix nearest in time; beyond it the fix is a GPS jump. People
	// walk or ride buses and the Mashaer train; luggage also flies, so
	// luggage tags get MaxSpeedLuggage.
	MaxSpeed        float64
	MaxSpeedLuggage float64
	// JumpSlack (metres) is added to both fixes' accuracy radii before the
	// speed test, because accuracy is a ~68% radius and real error is often
	// larger. AssumedAccuracy stands in for a fix that reports none.
	JumpSlack       float64
	AssumedAccuracy float64

	// FilterDevices bounds how many devices' recent fixes the filter keeps
	// (about 150 bytes each, measured). The least recently seen are forgotten first;
	// a forgotten device's next fix passes the duplicate and jump tests.
	FilterDevices int

	// AckResentRejects answers 200 when a single-ping client (OsmAnd,
	// OwnTracks) sends again the very ping it was just refused. Traccar
	// Client resends its oldest buffered fix until it gets a 2xx, so a
	// permanent 400 would stall the device's whole queue behind one bad fix.
	// The first refusal still answers 400 and is counted.
	AckResentRejects bool

	// OpenIngest accepts OsmAnd and OwnTracks fixes from a device named by
	// its registered id alone, as Traccar does: anyone who learns or guesses
	// an id (often a phone number) can move that pilgrim's position. Off by
	// default: a device must prove itself with its device token, or (Traccar
	// Client, which sends only an id) with the unguessable id it was enrolled
	// with. For demos and trials only; `dalil serve` logs a warning.
	// A token that is presented is checked either way.
	OpenIngest bool

	// AuthFailureRate and AuthFailureBurst bound the failed device
	// authentications one source address (an IPv4 address or an IPv6 /64)
	// may make: a bucket of AuthFailureBurst failures refilled at
	// AuthFailureRate per second. Over it, every ingest request from that
	// source answers 429 with Retry-After until the bucket refills. Zero
	// takes the defaults; a negative rate disables the limit.
	AuthFailureRate  float64
	AuthFailureBurst int

	// RetryAfter is sent with 503 when the sink is unavailable.
	RetryAfter time.Duration

	// Now is the clock (nil = time.Now); tests set it.
	Now func() time.Time
}

// DefaultConfig returns the documented defaults (docs/ingest.md).
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:       4 << 20,
		MaxSingleBodyBytes: 256 << 10,
		MaxBatch:           10000,
		MaxFuture:          10 * time.Minute,
		MaxAge:             7 * 24 * time.Hour,
		MaxAccuracy:        500,
		HDOPMetres:         5,
		MaxSpeed:           50,  // 180 km/h: faster than any bus or the Mashaer train
		MaxSpeedLuggage:    300, // an airliner
		JumpSlack:          100,
		AssumedAccuracy:    30,
		FilterDevices:      4_000_000,
		AckResentRejects:   true,
		AuthFailureRate:    1,
		AuthFailureBurst:   60,
		RetryAfter:         5 * time.Second,
	}
}

// maxSpeedFor returns the jump bound for a kind of device.
func (c *Config) maxSpeedFor(kind dalil.DeviceKind) float64 {
	if kind == dalil.DeviceLuggageTag {
		return c.MaxSpeedLuggage
	}
	return c.MaxSpeed
}
