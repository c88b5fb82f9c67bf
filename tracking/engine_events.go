package tracking

import (
	"strings"
	"time"

	"dalil/geo"
)

// Boundary hysteresis. GPS error (5–13 m) is larger than a tent and as large
// as a street, so a pilgrim standing at a camp fence produces fixes on both
// sides of it. A subject's confirmed site, camp and tent change only when
//
//   - the fix is decisive: it lies farther beyond the nearest camp/tent edge
//     than its accuracy (geo.Location.EdgeDistanceM > accuracy), so the whole
//     accuracy circle is on the new side; or
//   - EngineConfig.EnterFixes consecutive fixes agree on the new place.
//
// A fix that agrees with the confirmed place resets the count. Site changes
// always need the consecutive fixes (EdgeDistanceM measures camps and tents,
// not site outlines). A tent observation counts only when the most likely
// tent has probability >= TentMinProbability; fixes whose circle spans
// several tents leave the tent state alone. The first fix of a subject (and
// Rebuild) sets the state without events.

// levelState is the confirmed value of one level (site, camp or tent) and
// the pending change being counted.
type levelState struct {
	cur  string
	pend string
	n    uint16
}

// observe feeds one observation; it reports whether the confirmed value
// changed and what it was.
func (l *levelState) observe(obs string, decisive bool, need int) (changed bool, old string) {
	return l.observeIf(obs, decisive, need, true)
}

// observeIf counts the observation but confirms it only when allowed (a
// tent waits for its camp to be confirmed).
func (l *levelState) observeIf(obs string, decisive bool, need int, allowed bool) (changed bool, old string) {
	if obs == l.cur {
		l.pend, l.n = "", 0
		return false, ""
	}
	if obs == l.pend {
		if int(l.n) < need {
			l.n++
		}
	} else {
		l.pend, l.n = obs, 1
	}
	if allowed && (decisive || int(l.n) >= need) {
		old = l.cur
		l.cur, l.pend, l.n = obs, "", 0
		return true, old
	}
	return false, ""
}

type hysteresis struct {
	init             bool
	site, camp, tent levelState
}

// maxEventsPerFix bounds the events one fix can raise: exits and enters of
// the three levels.
const maxEventsPerFix = 6

// eventBuf collects the events of one fix without allocating.
type eventBuf struct {
	n   int
	evs [maxEventsPerFix]Event
}

func (b *eventBuf) add(e Event) {
	if b.n < len(b.evs) {
		b.evs[b.n] = e
		b.n++
	}
}

// boundaryRules are the hysteresis settings, from EngineConfig.
type boundaryRules struct {
	need       int
	minTentP   float64
	unknownAcc float64
	campOf     func(tent string) string
}

// observe runs the hysteresis for the subject's new best fix and appends the
// resulting events (exits inner first, then enters outer first).
func (h *hysteresis) observe(loc *geo.Location, acc float32, t time.Time, base Event, rules *boundaryRules, out *eventBuf) {
	obsTent, tentKnown := confidentTent(loc, rules.minTentP)
	if !h.init {
		h.init = true
		h.site.cur, h.camp.cur = string(loc.Site), loc.Camp
		if tentKnown {
			h.tent.cur = obsTent
		}
		return
	}
	decisive := loc.EdgeDistanceM > effAcc(acc, rules.unknownAcc)

	prevSite := geo.Site(h.site.cur)
	siteChanged, oldSite := h.site.observe(string(loc.Site), false, rules.need)
	campChanged, oldCamp := h.camp.observe(loc.Camp, decisive, rules.need)

	var tentChanged bool
	var oldTent string
	if h.tent.cur != "" && rules.campOf(h.tent.cur) != h.camp.cur {
		// Left the camp: the tent goes with it.
		oldTent, tentChanged = h.tent.cur, true
		h.tent = levelState{}
	}
	if tentKnown {
		allowed := obsTent == "" || rules.campOf(obsTent) == h.camp.cur
		if ch, old := h.tent.observeIf(obsTent, decisive, rules.need, allowed); ch {
			if !tentChanged {
				oldTent = old
			}
			tentChanged = true
		}
	}
	if tentChanged && oldTent == h.tent.cur {
		tentChanged = false
	}

	ev := func(kind EventKind, site geo.Site, camp, tent string) {
		e := base
		e.Kind, e.Time, e.Site, e.Camp, e.Tent = kind, t, site, camp, tent
		out.add(e)
	}
	if tentChanged && oldTent != "" {
		ev(EventTentExit, prevSite, rules.campOf(oldTent), oldTent)
	}
	if campChanged && oldCamp != "" {
		ev(EventCampExit, prevSite, oldCamp, "")
	}
	if siteChanged && oldSite != "" {
		ev(EventSiteExit, geo.Site(oldSite), "", "")
	}
	if siteChanged && h.site.cur != "" {
		ev(EventSiteEnter, geo.Site(h.site.cur), "", "")
	}
	if campChanged && h.camp.cur != "" {
		ev(EventCampEnter, geo.Site(h.site.cur), h.camp.cur, "")
	}
	if tentChanged && h.tent.cur != "" {
		ev(EventTentEnter, geo.Site(h.site.cur), h.camp.cur, h.tent.cur)
	}
}

// confidentTent returns the tent the fix names (possibly "" = no tent) and
// whether it is sure enough to count.
func confidentTent(loc *geo.Location, minP float64) (string, bool) {
	if loc.Camp == "" {
		return "", true // outside every camp means outside every tent
	}
	if loc.NumCandidates == 0 {
		return loc.Tent, true
	}
	c := loc.Candidates()
	if loc.Tent == "" {
		return "", loc.StreetProbability >= minP
	}
	for _, tc := range c {
		if tc.Tent == loc.Tent {
			return loc.Tent, tc.Probability >= minP
		}
	}
	return loc.Tent, false
}

// campOfTentID derives a camp ID from a tent ID of the form "camp/number".
func campOfTentID(tent string) string {
	camp, _, _ := strings.Cut(tent, "/")
	return camp
}
