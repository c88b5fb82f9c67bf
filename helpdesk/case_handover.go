package helpdesk

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// caseQuietAfter is how long without news makes a handover line say so.
const caseQuietAfter = time.Hour

// HandoverItem is one active case as the next shift needs to see it: what
// it is, how long it has been going, and what to do next.
type HandoverItem struct {
	Case     string     `json:"case"`
	Pilgrim  string     `json:"pilgrim"`
	Name     string     `json:"name,omitempty"`
	Group    string     `json:"group,omitempty"`
	State    CaseState  `json:"state"`
	Assignee string     `json:"assignee,omitempty"`
	Opened   time.Time  `json:"opened"`
	Updated  time.Time  `json:"updated"`
	AgeS     float64    `json:"age_s"`   // since opened
	QuietS   float64    `json:"quiet_s"` // since the last change
	Place    *CasePlace `json:"place,omitempty"`
	Tent     string     `json:"tent,omitempty"` // assigned tent
	// Next is the next step, in words.
	Next string `json:"next"`
}

// Handover lists every case that is not closed or cancelled, the ones most
// in need first: unassigned before assigned, then open before located before
// escorted before reunited, then oldest first.
func (b *CaseBook) Handover() []HandoverItem {
	now := b.d.Now().UTC()
	b.mu.RLock()
	var out []HandoverItem
	for _, c := range b.cases {
		if c.State.Terminal() {
			continue
		}
		it := HandoverItem{Case: c.ID, Pilgrim: c.Pilgrim, Group: c.Group, State: c.State, Assignee: c.Assignee,
			Opened: c.Opened, Updated: c.Updated, AgeS: now.Sub(c.Opened).Seconds(), QuietS: now.Sub(c.Updated).Seconds(), Place: c.Place}
		var tent string
		if p, ok := b.d.Pilgrims.Pilgrim(c.Pilgrim); ok {
			it.Name, it.Tent, tent = p.NameEN, p.Tent, p.Tent
		}
		it.Next = nextStep(c, tent, now)
		out = append(out, it)
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(a, b HandoverItem) int {
		if ua, ub := a.Assignee == "", b.Assignee == ""; ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(caseStateRank[a.State], caseStateRank[b.State]); c != 0 {
			return c
		}
		if c := a.Opened.Compare(b.Opened); c != 0 {
			return c
		}
		return cmp.Compare(a.Case, b.Case)
	})
	return out
}

// nextStep says what a case needs next.
func nextStep(c *Case, tent string, now time.Time) string {
	var s string
	switch c.State {
	case CaseOpen:
		s = "search: ask Scouts' points and nearby helpdesks, scan wristbands"
		if c.LastSeenPlace != "" {
			s += "; last seen at " + c.LastSeenPlace
		}
		if c.LastKnown != nil {
			s += fmt.Sprintf("; last device fix %s at %s", c.LastKnown.Time.Format("15:04 UTC"), c.LastKnown.Where)
		}
	case CaseLocated:
		s = "send an escort to " + placeWhere(c.Place)
		if c.Route != nil {
			s += fmt.Sprintf(" and walk %.0f m (about %.0f min) to tent %s", c.Route.LengthM, c.Route.WalkSeconds/60, c.Route.Tent)
		} else if tent != "" {
			s += " and walk to tent " + tent
		}
		s += "; then mark escorted"
	case CaseEscorted:
		s = "confirm arrival"
		if tent != "" {
			s += " at tent " + tent
		}
		s += " with the guide, then mark reunited"
	case CaseReunited:
		s = "confirm with the family or guide, then close"
	}
	if c.Assignee == "" {
		s = "assign an operator; " + s
	}
	if q := now.Sub(c.Updated); q >= caseQuietAfter {
		s += fmt.Sprintf(" (no news for %s)", q.Round(time.Minute))
	}
	return s
}

func placeWhere(p *CasePlace) string {
	if p == nil {
		return "the pilgrim"
	}
	return p.Where
}
