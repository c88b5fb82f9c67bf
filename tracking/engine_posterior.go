package tracking

import (
	"math"

	"dalil/geo"
)

// The engine keeps, per device, a geo.Track (32 bytes): the posterior over
// camp, tent and street fuses a pilgrim's successive fixes (see
// docs/layout.md, Posterior). A pilgrim's device answers with the posterior
// (the camp with the most probability, the tent with its probability);
// luggage tags and unregistered devices keep Locate's answer for the point,
// since the posterior's prior (resting people are in tents) is about people.

// The posterior is *geo.Index's (e.post, nil for other Locators), called
// as a concrete type: through an interface the Location passed in would
// escape, and cost an allocation per fix.

// usesPosterior: the device's answers come from the posterior.
func (d *devState) usesPosterior() bool {
	return d.subj != nil && !d.subj.key.device && d.kind != DeviceLuggageTag
}

// refine updates d's track with its new fix and turns loc (Locate's answer
// for it) into the posterior's. d's shard is locked.
func (e *Engine) refine(d *devState, loc *geo.Location) {
	if e.post == nil || !d.usesPosterior() {
		return
	}
	f := &d.fix
	e.post.Refine(loc, &d.track, geo.Fix{T: f.t, Lat: f.lat, Lon: f.lon, AccM: float64(f.acc), SpeedMps: float64(f.speed)}, d.subj.prior)
}

// estimate is refine without a new fix: what the posterior says now.
func (e *Engine) estimate(loc *geo.Location, tr *geo.Track, pr geo.Prior, acc float32, use bool) {
	if e.post == nil || !use {
		return
	}
	e.post.Estimate(loc, tr, pr, float64(acc))
}

func round4(x float32) float64 { return math.Round(float64(x)*1e4) / 1e4 }
