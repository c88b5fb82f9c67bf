package api

import (
	"net/http"
	"strings"
	"time"

	"dalil/geo"
	"dalil/helpdesk"
	"dalil/registry"
	"dalil/tracking"
)

// SearchResult answers GET /v1/search.
type SearchResult struct {
	Query string               `json:"query"`
	Hits  []helpdesk.SearchHit `json:"hits"`
}

func (h *desk) handleSearch(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		writeError(w, http.StatusBadRequest, "q is required: a PID, tracking or passport number, phone or name", "q")
		return
	}
	if len(q) > 200 {
		writeError(w, http.StatusBadRequest, "q is longer than 200 bytes", "q")
		return
	}
	limit, err := intParam(r, "limit", 20, 1, 200)
	if err != nil {
		badParam(w, err)
		return
	}
	if !h.s.auditOrFail(w, r, p, "search", q) {
		return
	}
	hits := h.search.Search(q, limit)
	if hits == nil {
		hits = []helpdesk.SearchHit{}
	}
	writeJSON(w, http.StatusOK, SearchResult{Query: q, Hits: hits})
}

type foundPersonRequest struct {
	Q         string   `json:"q"`
	PID       string   `json:"pid"`
	Wristband string   `json:"wristband"`
	Lat       *float64 `json:"lat"`
	Lon       *float64 `json:"lon"`
	Note      string   `json:"note"`
}

// ContactView is someone to call about a pilgrim.
type ContactView struct {
	PID   string `json:"pid"`
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

// FoundPerson answers POST /v1/found-person: everything a helpdesk needs to
// send a pilgrim home, in one answer. When the query matches several
// pilgrims, only Candidates is set.
type FoundPerson struct {
	Pilgrim    *registry.Pilgrim    `json:"pilgrim,omitempty"`
	Camp       string               `json:"camp,omitempty"`
	CampNumber int                  `json:"camp_number,omitempty"`
	Zone       int                  `json:"zone,omitempty"`
	Tent       string               `json:"tent,omitempty"`
	Guide      *ContactView         `json:"guide,omitempty"`
	Mahram     *ContactView         `json:"mahram,omitempty"`
	Position   *PositionView        `json:"position,omitempty"`
	Route      *helpdesk.CaseRoute  `json:"route,omitempty"`
	RouteError string               `json:"route_error,omitempty"`
	Cases      []helpdesk.Case      `json:"cases,omitempty"` // active cases, now located by this sighting
	Sighting   *helpdesk.Sighting   `json:"sighting,omitempty"`
	Candidates []helpdesk.SearchHit `json:"candidates,omitempty"`
}

// ambiguousGap is how far the best name hit must lead the next for a
// free-text query to pick one pilgrim.
const ambiguousGap = 40

func (h *desk) handleFoundPerson(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok {
		return
	}
	var req foundPersonRequest
	if !decodeBody(w, r, &req) {
		return
	}
	given := 0
	for _, v := range []string{req.Q, req.PID, req.Wristband} {
		if strings.TrimSpace(v) != "" {
			given++
		}
	}
	if given != 1 {
		writeError(w, http.StatusBadRequest, "give exactly one of q, pid and wristband", "q")
		return
	}
	if (req.Lat == nil) != (req.Lon == nil) {
		writeError(w, http.StatusBadRequest, "give both lat and lon (where the helpdesk is), or neither", "lat")
		return
	}
	var pid string
	switch {
	case req.PID != "":
		pid = req.PID
	case req.Wristband != "":
		d, ok := h.s.registry.Device(req.Wristband)
		if !ok || d.Pilgrim == "" {
			writeError(w, http.StatusNotFound, "no pilgrim wears device "+req.Wristband, "wristband")
			return
		}
		pid = d.Pilgrim
	default:
		if !h.s.auditOrFail(w, r, p, "search", req.Q) {
			return
		}
		hits := h.search.Search(req.Q, 10)
		switch {
		case len(hits) == 0:
			writeError(w, http.StatusNotFound, "nobody matches "+req.Q, "q")
			return
		case len(hits) == 1,
			hits[0].Match != helpdesk.MatchName && hits[1].Score < hits[0].Score,
			hits[0].Score-hits[1].Score >= ambiguousGap:
			pid = hits[0].PID
		default:
			writeJSON(w, http.StatusOK, FoundPerson{Candidates: hits})
			return
		}
	}
	pg, ok := h.s.registry.Pilgrim(pid)
	if !ok {
		writeError(w, http.StatusNotFound, "no pilgrim with PID "+pid, "pid")
		return
	}
	if !h.s.auditOrFail(w, r, p, "found_person", pg.PID) {
		return
	}
	out := FoundPerson{Pilgrim: &pg, Camp: pg.Camp, Tent: pg.Tent}
	if c, ok := h.s.layout.Camp(pg.Camp); ok {
		out.CampNumber, out.Zone = c.Number, c.Zone
	}
	out.Guide = h.contact(pg.GuidePID)
	if out.Guide == nil {
		if g, ok := h.s.registry.Group(pg.Group); ok {
			out.Guide = h.contact(g.GuidePID)
		}
	}
	out.Mahram = h.contact(pg.MahramPID)

	var from *geo.Point
	var inCamp string
	if req.Lat != nil {
		// The pilgrim stands at the helpdesk: that is a sighting, and it
		// locates any open case.
		source := helpdesk.SightingOperator
		if req.Wristband != "" {
			source = helpdesk.SightingQRScan
		}
		sg, err := h.sightings.Record(r.Context(), helpdesk.SightingRequest{Pilgrim: pg.PID, Lat: req.Lat, Lon: req.Lon,
			Source: source, Note: req.Note}, p.String())
		if err != nil {
			h.domainError(w, "sighting", err)
			return
		}
		out.Sighting = &sg
		from = &geo.Point{Lat: *req.Lat, Lon: *req.Lon}
		inCamp = h.s.index.Locate(from.Lat, from.Lon, helpdesk.SightingAccuracyM).Camp
	}
	now := time.Now()
	if st, ok := h.s.engine.Pilgrim(pg.PID); ok {
		out.Position = h.s.positionView(&st, now)
		if from == nil {
			from = &geo.Point{Lat: st.Position.Lat, Lon: st.Position.Lon}
			inCamp = st.Location.Camp
		}
	}
	if from != nil && pg.Tent != "" {
		rt, err := helpdesk.WalkToTent(h.s.index, *from, inCamp, pg.Tent)
		if err != nil {
			out.RouteError = err.Error()
		} else {
			cr := routeView(rt)
			out.Route = cr
		}
	}
	if h.cases != nil {
		out.Cases = h.cases.List(helpdesk.CaseFilter{Pilgrim: pg.PID, Active: true})
	}
	writeJSON(w, http.StatusOK, out)
}

func routeView(r geo.Route) *helpdesk.CaseRoute {
	return &helpdesk.CaseRoute{Tent: r.Tent, Camp: r.Camp, LengthM: r.LengthM, WalkSeconds: r.WalkSeconds,
		StraightM: r.StraightM, BearingDeg: r.BearingDeg, Gate: r.Gate, Path: r.Path}
}

func (h *desk) contact(pid string) *ContactView {
	if pid == "" {
		return nil
	}
	g, ok := h.s.registry.Pilgrim(pid)
	if !ok {
		return nil
	}
	return &ContactView{PID: g.PID, Name: g.NameEN, Phone: g.Phone}
}

// SightingResult answers POST /v1/sightings.
type SightingResult struct {
	Sighting helpdesk.Sighting `json:"sighting"`
	Position *PositionView     `json:"position,omitempty"`
}

func (h *desk) handleSighting(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide)
	if !ok {
		return
	}
	var req helpdesk.SightingRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if p.Role == RoleGuide {
		if req.Luggage != "" || (req.Pilgrim != "" && !h.s.canSeePilgrim(p, req.Pilgrim)) {
			writeError(w, http.StatusForbidden, "a guide may report sightings of their own group's members only", "pilgrim")
			return
		}
	}
	// The answer carries the position: audited before the sighting is stored.
	target := req.Pilgrim
	if req.Luggage != "" {
		target = "luggage:" + req.Luggage
	}
	if !h.s.auditOrFail(w, r, p, "sighting", target) {
		return
	}
	sg, err := h.sightings.Record(r.Context(), req, p.String())
	if err != nil {
		h.domainError(w, "sighting", err)
		return
	}
	out := SightingResult{Sighting: sg}
	if st, ok := h.s.engine.Device(sg.Device); ok {
		out.Position = h.s.positionView(&st, time.Now())
	}
	writeJSON(w, http.StatusCreated, out)
}

// AlertList answers GET /v1/alerts.
type AlertList struct {
	Alerts []tracking.Alert `json:"alerts"`
}

func (h *desk) handleAlerts(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide)
	if !ok {
		return
	}
	group := r.URL.Query().Get("group")
	if p.Role == RoleGuide {
		if group != "" && group != p.Subject {
			writeError(w, http.StatusForbidden, "a guide sees their own group's alerts only", "group")
			return
		}
		group = p.Subject
	}
	if !h.s.auditOrFail(w, r, p, "alert.list", "alerts?group="+group) {
		return
	}
	alerts := h.alerts.Active(group)
	if alerts == nil {
		alerts = []tracking.Alert{}
	}
	writeJSON(w, http.StatusOK, AlertList{Alerts: alerts})
}
