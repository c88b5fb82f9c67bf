package helpdesk

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"dalil/geo"
)

// CaseKind is what a case is about.
type CaseKind string

const (
	// CaseLostPilgrim is a pilgrim reported lost by a guide, a relative or
	// an operator.
	CaseLostPilgrim CaseKind = "lost_pilgrim"
	// CaseSOS is a pilgrim's own call for help from their phone.
	CaseSOS CaseKind = "sos"
)

// CaseState is where a case stands. The normal path is open → located →
// escorted → reunited → closed; a case may be cancelled at any point before
// it is closed (a false alarm, a duplicate).
type CaseState string

const (
	CaseOpen      CaseState = "open"
	CaseLocated   CaseState = "located"
	CaseEscorted  CaseState = "escorted"
	CaseReunited  CaseState = "reunited"
	CaseClosed    CaseState = "closed"
	CaseCancelled CaseState = "cancelled"
)

var caseStateRank = map[CaseState]int{CaseOpen: 0, CaseLocated: 1, CaseEscorted: 2, CaseReunited: 3, CaseClosed: 4}

// Valid reports whether s is a known state.
func (s CaseState) Valid() bool {
	_, ok := caseStateRank[s]
	return ok || s == CaseCancelled
}

// Active reports whether the pilgrim of a case in state s is still not back
// with their group: open, located or escorted.
func (s CaseState) Active() bool { return s == CaseOpen || s == CaseLocated || s == CaseEscorted }

// Terminal reports whether nothing may follow s.
func (s CaseState) Terminal() bool { return s == CaseClosed || s == CaseCancelled }

// ErrInvalidTransition is wrapped by errors for a state change the workflow
// does not allow.
var ErrInvalidTransition = errors.New("invalid case transition")

// ErrInvalidCase is wrapped by errors for a malformed case request; the
// error's Field names the offending field.
var ErrInvalidCase = errors.New("invalid case")

// FieldError is a validation error that names the field at fault.
type FieldError struct {
	Field string
	Err   error // ErrInvalidCase, ErrNotFound, ErrInvalidLuggage, …
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(base error, field, format string, args ...any) error {
	return &FieldError{Field: field, Err: base, Msg: fmt.Sprintf(format, args...)}
}

// CheckTransition reports whether a case may go from one state to another.
// A case only moves forward (skipping steps is allowed: a pilgrim who walks
// back to the tent alone goes straight from open to reunited), closes only
// once reunited, and may be cancelled until it is closed.
func CheckTransition(from, to CaseState) error {
	if !to.Valid() {
		return fmt.Errorf("%w: unknown state %q", ErrInvalidTransition, to)
	}
	if from.Terminal() {
		return fmt.Errorf("%w: the case is %s; nothing may follow", ErrInvalidTransition, from)
	}
	if to == CaseCancelled {
		return nil
	}
	if to == CaseClosed && from != CaseReunited {
		return fmt.Errorf("%w: %s → closed: only a reunited case can be closed (or cancel it)", ErrInvalidTransition, from)
	}
	if caseStateRank[to] <= caseStateRank[from] {
		return fmt.Errorf("%w: %s → %s goes backwards", ErrInvalidTransition, from, to)
	}
	return nil
}

// CasePlace is where a pilgrim was seen, placed in the layout.
type CasePlace struct {
	Time     time.Time `json:"ts"`
	Device   string    `json:"device,omitempty"`
	Source   string    `json:"source,omitempty"` // "osmand", "sighting", …
	Lat      float64   `json:"lat"`
	Lon      float64   `json:"lon"`
	Accuracy float32   `json:"acc,omitempty"`
	Site     geo.Site  `json:"site,omitempty"`
	Camp     string    `json:"camp,omitempty"`
	Tent     string    `json:"tent,omitempty"`
	// Where says it in words: "camp mina-094, tent mina-094/3" or "street
	// between camps mina-094 and mina-095".
	Where string `json:"where"`
}

// CaseRoute is the walk from where the pilgrim was found to their tent.
type CaseRoute struct {
	Tent        string      `json:"tent"`
	Camp        string      `json:"camp,omitempty"`
	LengthM     float64     `json:"length_m"`
	WalkSeconds float64     `json:"walk_s"`
	StraightM   float64     `json:"straight_m"`
	BearingDeg  float64     `json:"bearing_deg"`
	Gate        geo.Point   `json:"gate"`
	Path        []geo.Point `json:"path"`
}

func caseRouteOf(r geo.Route) *CaseRoute {
	return &CaseRoute{Tent: r.Tent, Camp: r.Camp, LengthM: r.LengthM, WalkSeconds: r.WalkSeconds,
		StraightM: r.StraightM, BearingDeg: r.BearingDeg, Gate: r.Gate, Path: r.Path}
}

// Case actions recorded in the timeline.
const (
	ActionOpened     = "opened"
	ActionTransition = "transition"
	ActionAssigned   = "assigned"
	ActionLocated    = "located" // the first position after the case opened
	ActionSeen       = "seen"    // a later position in another camp or tent
	ActionNote       = "note"
)

// CaseEntry is one line of a case's timeline.
type CaseEntry struct {
	Time   time.Time  `json:"ts"`
	By     string     `json:"by"` // "operator:desk-3", "system", …
	Action string     `json:"action"`
	From   CaseState  `json:"from,omitempty"`
	State  CaseState  `json:"state"`
	Note   string     `json:"note,omitempty"`
	Place  *CasePlace `json:"place,omitempty"`
}

// Case is a lost-pilgrim case.
type Case struct {
	ID            string    `json:"id"`
	Kind          CaseKind  `json:"kind"`
	Pilgrim       string    `json:"pilgrim"`
	Group         string    `json:"group,omitempty"`
	ReportedBy    string    `json:"reported_by,omitempty"`
	LastSeenPlace string    `json:"last_seen_place,omitempty"`
	Note          string    `json:"note,omitempty"`
	State         CaseState `json:"state"`
	Assignee      string    `json:"assignee,omitempty"`
	OpenedBy      string    `json:"opened_by"`
	Opened        time.Time `json:"opened"`
	Updated       time.Time `json:"updated"`
	// LastKnown is the pilgrim's newest position when the case was opened
	// (a hint, not a finding).
	LastKnown *CasePlace `json:"last_known,omitempty"`
	// Place is where the pilgrim was found (and followed since).
	Place *CasePlace `json:"place,omitempty"`
	// Route is the walk from Place to the pilgrim's assigned tent.
	Route    *CaseRoute  `json:"route,omitempty"`
	Timeline []CaseEntry `json:"timeline"`
}

// clone copies a case deeply enough that the copy can be changed.
func (c *Case) clone() *Case {
	n := *c
	n.Timeline = slices.Clone(c.Timeline)
	return &n
}

// CaseRequest opens a case.
type CaseRequest struct {
	Kind          CaseKind `json:"kind"`
	Pilgrim       string   `json:"pilgrim"`
	ReportedBy    string   `json:"reported_by"`
	LastSeenPlace string   `json:"last_seen_place"`
	Note          string   `json:"note"`
	Assignee      string   `json:"assignee"`
}

// CaseFilter selects cases in List. Zero fields match everything.
type CaseFilter struct {
	State    CaseState
	Active   bool // open, located or escorted
	Pilgrim  string
	Group    string
	Assignee string
}

func (f CaseFilter) match(c *Case) bool {
	return (f.State == "" || c.State == f.State) && (!f.Active || c.State.Active()) &&
		(f.Pilgrim == "" || c.Pilgrim == f.Pilgrim) && (f.Group == "" || c.Group == f.Group) &&
		(f.Assignee == "" || c.Assignee == f.Assignee)
}
