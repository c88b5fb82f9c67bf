package api

import (
	"encoding/json"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/live"
	"dalil/registry"
)

// PositionView is a live position as the REST API shows it.
type PositionView struct {
	Device            string              `json:"device"`
	Kind              dalil.DeviceKind    `json:"kind,omitempty"`
	Pilgrim           string              `json:"pilgrim,omitempty"`
	Luggage           string              `json:"luggage,omitempty"`
	Group             string              `json:"group,omitempty"`
	Lat               float64             `json:"lat"`
	Lon               float64             `json:"lon"`
	Accuracy          float32             `json:"acc"`
	Time              time.Time           `json:"ts"`
	Received          time.Time           `json:"received"`
	AgeSeconds        float64             `json:"age_s"`
	Stale             bool                `json:"stale"`
	Site              geo.Site            `json:"site,omitempty"`
	Zone              int                 `json:"zone,omitempty"`
	Camp              string              `json:"camp,omitempty"`
	CampNumber        int                 `json:"camp_number,omitempty"`
	Tent              string              `json:"tent,omitempty"`
	TentProbability   float64             `json:"tent_p,omitempty"`
	CampProbability   float64             `json:"camp_p,omitempty"` // of camp ("" : of no camp)
	Candidates        []geo.TentCandidate `json:"candidates,omitempty"`
	StreetProbability float64             `json:"street_p,omitempty"`
	NearCamps         []string            `json:"near_camps,omitempty"`
	EdgeDistanceM     float64             `json:"edge_distance_m"`
	Cell              string              `json:"cell,omitempty"` // H3, hex
	Battery           *float32            `json:"batt,omitempty"`
	Speed             *float32            `json:"speed,omitempty"`
	Heading           *float32            `json:"heading,omitempty"`
	Source            string              `json:"source,omitempty"`
}

func known(v float32) *float32 {
	if v < 0 {
		return nil
	}
	return &v
}

// locationFields copies a Location into a view.
func locationFields(v *PositionView, loc *geo.Location) {
	v.Site, v.Zone, v.Camp, v.CampNumber, v.Tent = loc.Site, loc.Zone, loc.Camp, loc.CampNumber, loc.Tent
	if cs := loc.Candidates(); len(cs) > 0 {
		v.Candidates = append([]geo.TentCandidate(nil), cs...)
		v.TentProbability = live.TentProbability(loc)
	} else if loc.Tent != "" {
		v.TentProbability = live.TentProbability(loc)
		if !loc.Posterior {
			v.TentProbability = 1
		}
	}
	v.CampProbability = loc.CampProbability
	v.StreetProbability = loc.StreetProbability
	for _, c := range loc.NearCamps {
		if c != "" {
			v.NearCamps = append(v.NearCamps, c)
		}
	}
	v.EdgeDistanceM = loc.EdgeDistanceM
	v.Cell = live.CellHex(loc.Cell)
}

func (s *Server) positionView(st *dalil.LiveState, now time.Time) *PositionView {
	p := &st.Position
	v := &PositionView{
		Device: st.Device, Kind: st.Kind, Pilgrim: st.Pilgrim, Luggage: st.Luggage, Group: st.Group,
		Lat: p.Lat, Lon: p.Lon, Accuracy: p.Accuracy, Time: p.Time.UTC(), Received: st.Received.UTC(),
		AgeSeconds: now.Sub(p.Time).Seconds(), Stale: st.Stale(now, s.cfg.StaleAfter),
		Battery: known(p.Battery), Speed: known(p.Speed), Heading: known(p.Heading),
		Source: p.Source.String(),
	}
	locationFields(v, &st.Location)
	return v
}

// LocationView is the answer of /v1/locate: the queried point and where it
// is, in geo.Location's JSON — the very fields `dalil locate` prints
// (accuracy_m, street_probability, cell as a decimal string, candidates,
// description), so one client reads both. Live positions (PositionView) use
// the shorter names of the websocket feed instead; docs/api.md maps them.
type LocationView struct {
	Lat float64
	Lon float64
	geo.Location
}

type latLon struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// MarshalJSON writes {"lat":…,"lon":…, then geo.Location's fields}.
func (v LocationView) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(latLon{v.Lat, v.Lon})
	if err != nil {
		return nil, err
	}
	loc, err := json.Marshal(v.Location)
	if err != nil {
		return nil, err
	}
	if len(loc) <= 2 { // "{}"
		return head, nil
	}
	out := append(head[:len(head)-1:len(head)-1], ',')
	return append(out, loc[1:]...), nil
}

// UnmarshalJSON reads what MarshalJSON writes (clients and tests in Go).
func (v *LocationView) UnmarshalJSON(b []byte) error {
	var ll latLon
	if err := json.Unmarshal(b, &ll); err != nil {
		return err
	}
	v.Lat, v.Lon = ll.Lat, ll.Lon
	return json.Unmarshal(b, &v.Location)
}

// PersonView is a pilgrim in a list: who and where.
type PersonView struct {
	PID      string        `json:"pid"`
	Name     string        `json:"name_en,omitempty"`
	NameBN   string        `json:"name_bn,omitempty"`
	Phone    string        `json:"phone,omitempty"`
	Group    string        `json:"group,omitempty"`
	Camp     string        `json:"assigned_camp,omitempty"`
	Tent     string        `json:"assigned_tent,omitempty"`
	Position *PositionView `json:"position,omitempty"`
	// DistanceM is from the guide (group view) or the query point (nearby).
	DistanceM *float64 `json:"distance_m,omitempty"`
	Guide     bool     `json:"guide,omitempty"`
}

func (s *Server) personView(pg registry.Pilgrim, st *dalil.LiveState, now time.Time) PersonView {
	v := PersonView{PID: pg.PID, Name: pg.NameEN, NameBN: pg.NameBN, Phone: pg.Phone, Group: pg.Group, Camp: pg.Camp, Tent: pg.Tent}
	if st != nil {
		v.Position = s.positionView(st, now)
	}
	return v
}

// DeviceView is a device with its last position.
type DeviceView struct {
	dalil.Device
	LastSeen *time.Time    `json:"last_seen,omitempty"`
	Position *PositionView `json:"position,omitempty"`
}

// PilgrimView is GET /v1/pilgrims/{pid}: the profile, the best live
// position, where they belong, and who looks after them.
type PilgrimView struct {
	Pilgrim  registry.Pilgrim `json:"pilgrim"`
	Position *PositionView    `json:"position"` // best over the devices; null when never seen
	// Assigned camp and tent, and whether the live position is in them.
	Assigned struct {
		Camp       string   `json:"camp,omitempty"`
		CampNumber int      `json:"camp_number,omitempty"`
		Tent       string   `json:"tent,omitempty"`
		InCamp     *bool    `json:"in_camp,omitempty"`
		InTent     *bool    `json:"in_tent,omitempty"`
		DistanceM  *float64 `json:"distance_m,omitempty"` // straight line from the position to the tent
	} `json:"assigned"`
	Group   *registry.Group `json:"group,omitempty"`
	Guide   *PersonView     `json:"guide,omitempty"`
	Mahram  *PersonView     `json:"mahram,omitempty"`
	Devices []DeviceView    `json:"devices"`
}
