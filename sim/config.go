package sim

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"dalil"
)

// Phase is the day of Hajj being simulated.
type Phase string

const (
	// PhaseMina: the days in Mina. Groups rest in their tents and now and
	// then walk to the Jamarat bridge and back.
	PhaseMina Phase = "mina"
	// PhaseJamarat: a stoning day. Most groups are on the way to or from the
	// bridge, and the crowd near it is dense.
	PhaseJamarat Phase = "jamarat"
	// PhaseArafat: the day of Arafat. Groups arrive by bus, walk to their
	// Arafat camp and stay; some walk to Jabal al-Rahmah and back.
	PhaseArafat Phase = "arafat"
)

// ParsePhase checks a phase name.
func ParsePhase(s string) (Phase, error) {
	switch p := Phase(s); p {
	case PhaseMina, PhaseJamarat, PhaseArafat:
		return p, nil
	}
	return "", fmt.Errorf("unknown phase %q (want mina, jamarat or arafat)", s)
}

// Config tunes the simulation. The zero value of a field means its default
// (see DefaultConfig) except where noted.
type Config struct {
	// Seed fixes every random choice: the same seed, start and inputs give the
	// same pings.
	Seed int64
	// Phase is the day simulated (default mina).
	Phase Phase
	// Start is the simulated time of the first step. Zero means the wall
	// clock when Run starts (what a live server needs: it rejects pings
	// stamped far in the past or future).
	Start time.Time
	// Speed is simulated seconds per wall-clock second. 1 is real time;
	// 60 runs an hour a minute. Speed <= 0 runs as fast as the CPU allows,
	// for tests. Above 1 the timestamps run ahead of the wall clock, which a
	// live server rejects beyond its future bound, so send to servers at 1.
	Speed float64
	// Step is the simulated time between two updates (default 1 s).
	Step time.Duration
	// Duration is how much simulated time Run covers; 0 runs until the
	// context is cancelled.
	Duration time.Duration

	// Ping interval per device kind (defaults 30 s, 60 s, 300 s).
	PhoneInterval     time.Duration
	WristbandInterval time.Duration
	TagInterval       time.Duration

	// LostFraction of the pilgrims (not guides) get lost during EventWindow
	// (default 0.003; negative means none).
	LostFraction float64
	// SilentFraction of the phones go offline for 5–45 minutes during
	// EventWindow and then flush their backlog (default 0.05; negative: none).
	SilentFraction float64
	// LeftBagFraction of the luggage tags are left behind during EventWindow
	// (default 0.02; negative: none).
	LeftBagFraction float64
	// EventWindow is the span after Start in which lost pilgrims, silent
	// phones and left bags are scheduled (default 1 h).
	EventWindow time.Duration

	// MaxBatch bounds the positions handed to emit in one call (default 1000).
	MaxBatch int
	// MaxRetry bounds the positions kept for the next step when emit fails
	// with tracking.ErrUnavailable (default 100,000); older ones are dropped.
	MaxRetry int
	// Kind names the kind of a device the pilgrim's DeviceKinds leave open.
	// Default KindFromID.
	Kind func(deviceID string) dalil.DeviceKind
	// Log receives progress and trouble (default: discard).
	Log *slog.Logger
}

// DefaultConfig returns a realistic Mina day at real time.
func DefaultConfig() Config {
	return Config{
		Seed:              1,
		Phase:             PhaseMina,
		Speed:             1,
		Step:              time.Second,
		PhoneInterval:     30 * time.Second,
		WristbandInterval: 60 * time.Second,
		TagInterval:       300 * time.Second,
		LostFraction:      0.003,
		SilentFraction:    0.05,
		LeftBagFraction:   0.02,
		EventWindow:       time.Hour,
		MaxBatch:          1000,
		MaxRetry:          100_000,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Phase == "" {
		c.Phase = d.Phase
	}
	if c.Step <= 0 {
		c.Step = d.Step
	}
	if c.PhoneInterval <= 0 {
		c.PhoneInterval = d.PhoneInterval
	}
	if c.WristbandInterval <= 0 {
		c.WristbandInterval = d.WristbandInterval
	}
	if c.TagInterval <= 0 {
		c.TagInterval = d.TagInterval
	}
	c.LostFraction = fraction(c.LostFraction, d.LostFraction)
	c.SilentFraction = fraction(c.SilentFraction, d.SilentFraction)
	c.LeftBagFraction = fraction(c.LeftBagFraction, d.LeftBagFraction)
	if c.EventWindow <= 0 {
		c.EventWindow = d.EventWindow
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = d.MaxRetry
	}
	if c.Kind == nil {
		c.Kind = KindFromID
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// fraction maps 0 to the default and a negative value to none.
func fraction(v, def float64) float64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// KindFromID guesses a device's kind from its id's prefix, for devices the
// registry gives no kind: "lug", "bag" or "tag" is a luggage tag, "wb",
// "wrist" or "band" a wristband (the demo registry's "WB…"), anything else a
// phone.
func KindFromID(id string) dalil.DeviceKind {
	l := strings.ToLower(id)
	has := func(prefixes ...string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(l, p) })
	}
	switch {
	case has("lug", "bag", "tag"):
		return dalil.DeviceLuggageTag
	case has("wb", "wrist", "band"):
		return dalil.DeviceWristband
	}
	return dalil.DevicePhone
}
