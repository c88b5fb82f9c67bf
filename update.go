package dalil

import (
	"time"

	"dalil/geo"
)

// LiveState is the newest position of one device, placed in the layout.
type LiveState struct {
	Device   string       `json:"device"`
	Kind     DeviceKind   `json:"kind"`
	Pilgrim  string       `json:"pilgrim,omitempty"` // PID, "" for a luggage tag
	Luggage  string       `json:"luggage,omitempty"`
	Group    string       `json:"group,omitempty"`
	Position Position     `json:"position"`
	Location geo.Location `json:"location"`
	Received time.Time    `json:"received"`
}

// Stale reports whether the position is older than maxAge at now.
func (s *LiveState) Stale(now time.Time, maxAge time.Duration) bool {
	return now.Sub(s.Position.Time) > maxAge
}

// EventKind names what happened.
type EventKind string

const (
	EventCampEnter   EventKind = "camp_enter"
	EventCampExit    EventKind = "camp_exit"
	EventTentEnter   EventKind = "tent_enter"
	EventTentExit    EventKind = "tent_exit"
	EventSiteEnter   EventKind = "site_enter"
	EventSiteExit    EventKind = "site_exit"
	EventSeparation  EventKind = "separation"       // group alert raised
	EventRejoined    EventKind = "separation_clear" // group alert cleared
	EventOutsideCamp EventKind = "outside_camp_night"
	EventCase        EventKind = "case" // a case changed state or was located
)

// Event is something that happened to a pilgrim, a device or a case.
type Event struct {
	Kind    EventKind `json:"kind"`
	Time    time.Time `json:"ts"`
	Pilgrim string    `json:"pilgrim,omitempty"`
	Device  string    `json:"device,omitempty"`
	Group   string    `json:"group,omitempty"`
	Site    geo.Site  `json:"site,omitempty"`
	Camp    string    `json:"camp,omitempty"`
	Tent    string    `json:"tent,omitempty"`
	Case    string    `json:"case,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Update is what the tracker publishes: a moved device or an event.
// Exactly one of State and Event is set.
type Update struct {
	State *LiveState
	Event *Event
}

// Publisher receives every update. Publish must not block: the websocket hub,
// the alert monitor and the case locator all hang off it, and ingest calls it.
type Publisher interface {
	Publish(Update)
}

// Publishers fans one update out to several publishers in order.
type Publishers []Publisher

func (ps Publishers) Publish(u Update) {
	for _, p := range ps {
		p.Publish(u)
	}
}
