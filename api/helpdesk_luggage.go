package api

import (
	"dalil"
	"net/http"
	"time"

	"dalil/tracking"
)

// Luggage: operators and admins do everything; a pilgrim may see their own
// bags and report one lost.

// BagView answers GET /v1/luggage/{tag}: the bag, and where its tracker and
// its latest sighting put it.
type BagView struct {
	tracking.LuggageItem
	Tracker  *TrackerView `json:"tracker_state,omitempty"`
	Sighting *TrackerView `json:"sighting_state,omitempty"`
}

// TrackerView is a device's live position and recent trail.
type TrackerView struct {
	Position *PositionView    `json:"position"`
	Trail    []dalil.Position `json:"trail"`
}

func (h *helpdesk) trackerView(device string) *TrackerView {
	st, ok := h.s.engine.Device(device)
	if !ok {
		return nil
	}
	trail := h.s.engine.RecentTrail(device)
	if trail == nil {
		trail = []dalil.Position{}
	}
	return &TrackerView{Position: h.s.positionView(&st, time.Now()), Trail: trail}
}

func (h *helpdesk) bagView(it tracking.LuggageItem) BagView {
	v := BagView{LuggageItem: it}
	if it.Tracker != "" {
		v.Tracker = h.trackerView(it.Tracker)
	}
	v.Sighting = h.trackerView(tracking.LuggageSightingDevice(it.Tag))
	return v
}

// bagFor loads {tag} for a principal: staff see every bag, a pilgrim only
// their own (403 otherwise, whether or not the tag exists).
func (h *helpdesk) bagFor(w http.ResponseWriter, r *http.Request, p Principal) (tracking.LuggageItem, bool) {
	tag := r.PathValue("tag")
	it, ok := h.luggage.Get(tag)
	if p.Role == RolePilgrim && (!ok || it.Owner != p.Subject) {
		writeError(w, http.StatusForbidden, "a pilgrim may see their own bags only", "tag")
		return it, false
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no bag with tag "+tag, "tag")
		return it, false
	}
	return it, true
}

func (h *helpdesk) handleLuggageRegister(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	var req tracking.LuggageRequest
	if !decodeBody(w, r, &req) {
		return
	}
	// The answer carries the tracker's position and trail.
	if !h.s.auditOrFail(w, r, p, "luggage.register", dalil.NormalizeTag(req.Tag)+":"+req.Owner) {
		return
	}
	it, err := h.luggage.Register(r.Context(), req, p.String())
	if err != nil {
		h.domainError(w, "luggage", err)
		return
	}
	writeJSON(w, http.StatusCreated, h.bagView(it))
}

// BagList answers GET /v1/luggage.
type BagList struct {
	Luggage []tracking.LuggageItem `json:"luggage"`
}

func (h *helpdesk) handleLuggageList(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RolePilgrim)
	if !ok || !h.ready(w) {
		return
	}
	owner := r.URL.Query().Get("owner")
	status := tracking.LuggageStatus(r.URL.Query().Get("status"))
	switch status {
	case "", tracking.LuggageRegistered, tracking.LuggageLost, tracking.LuggageFound, tracking.LuggageReturned:
	default:
		writeError(w, http.StatusBadRequest, "status must be one of registered, lost, found, returned", "status")
		return
	}
	if p.Role == RolePilgrim {
		if owner != "" && owner != p.Subject {
			writeError(w, http.StatusForbidden, "a pilgrim may see their own bags only", "owner")
			return
		}
		owner = p.Subject
	}
	if !h.s.auditOrFail(w, r, p, "luggage.list", "luggage?"+r.URL.RawQuery) {
		return
	}
	items := h.luggage.List(owner, status)
	if items == nil {
		items = []tracking.LuggageItem{}
	}
	writeJSON(w, http.StatusOK, BagList{Luggage: items})
}

func (h *helpdesk) handleLuggageGet(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RolePilgrim)
	if !ok || !h.ready(w) {
		return
	}
	it, ok := h.bagFor(w, r, p)
	if !ok {
		return
	}
	if !h.s.auditOrFail(w, r, p, "luggage.read", it.Tag+":"+it.Owner) {
		return
	}
	writeJSON(w, http.StatusOK, h.bagView(it))
}

type lostRequest struct {
	Place string `json:"place"`
	Note  string `json:"note"`
}

func (h *helpdesk) handleLuggageLost(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RolePilgrim)
	if !ok || !h.ready(w) {
		return
	}
	bag, ok := h.bagFor(w, r, p)
	if !ok {
		return
	}
	var req lostRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Place) > 2000 || len(req.Note) > 2000 {
		writeError(w, http.StatusBadRequest, "place and note must be at most 2000 bytes", "note")
		return
	}
	if !h.s.auditOrFail(w, r, p, "luggage.lost", bag.Tag+":"+bag.Owner) {
		return
	}
	it, err := h.luggage.ReportLost(r.Context(), r.PathValue("tag"), req.Place, req.Note, p.String())
	if err != nil {
		h.domainError(w, "luggage", err)
		return
	}
	writeJSON(w, http.StatusOK, h.bagView(it))
}

func (h *helpdesk) handleLuggageHandover(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	var req tracking.HandoverRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !h.s.auditOrFail(w, r, p, "luggage.handover", dalil.NormalizeTag(r.PathValue("tag"))) {
		return
	}
	it, err := h.luggage.Handover(r.Context(), r.PathValue("tag"), req, p.String())
	if err != nil {
		h.domainError(w, "luggage", err)
		return
	}
	h.s.log.Info("bag handed over", "tag", it.Tag, "to", req.To, "by", p.String())
	writeJSON(w, http.StatusOK, h.bagView(it))
}

// FoundRecorded answers POST /v1/found-items: the item and the bags it may be.
type FoundRecorded struct {
	Found       tracking.FoundItem      `json:"found"`
	Suggestions []tracking.LuggageMatch `json:"suggestions"`
}

func (h *helpdesk) handleFoundRecord(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	var req tracking.FoundRequest
	if !decodeBody(w, r, &req) {
		return
	}
	// The suggestions name the owners of lost bags.
	if !h.s.auditOrFail(w, r, p, "found.record", "found:"+req.Where) {
		return
	}
	f, sug, err := h.luggage.RecordFound(r.Context(), req, p.String())
	if err != nil {
		h.domainError(w, "found item", err)
		return
	}
	if sug == nil {
		sug = []tracking.LuggageMatch{}
	}
	writeJSON(w, http.StatusCreated, FoundRecorded{Found: f, Suggestions: sug})
}

// FoundList answers GET /v1/found-items.
type FoundList struct {
	Items []tracking.FoundItem `json:"items"`
}

func (h *helpdesk) handleFoundList(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	status := tracking.FoundStatus(r.URL.Query().Get("status"))
	switch status {
	case "", tracking.FoundUnmatched, tracking.FoundMatched, tracking.FoundReturned:
	default:
		writeError(w, http.StatusBadRequest, "status must be one of unmatched, matched, returned", "status")
		return
	}
	if !h.s.auditOrFail(w, r, p, "found.list", "found-items?"+r.URL.RawQuery) {
		return
	}
	items := h.luggage.FoundItems(status)
	if items == nil {
		items = []tracking.FoundItem{}
	}
	writeJSON(w, http.StatusOK, FoundList{Items: items})
}

func (h *helpdesk) handleFoundGet(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	id := r.PathValue("id")
	f, ok := h.luggage.Found(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no found item "+id, "id")
		return
	}
	if !h.s.auditOrFail(w, r, p, "found.read", "found:"+f.ID) {
		return
	}
	sug, _ := h.luggage.Suggest(id)
	if sug == nil {
		sug = []tracking.LuggageMatch{}
	}
	writeJSON(w, http.StatusOK, FoundRecorded{Found: f, Suggestions: sug})
}

type matchRequest struct {
	Tag string `json:"tag"`
}

// FoundMatched answers POST /v1/found-items/{id}/match.
type FoundMatched struct {
	Found   tracking.FoundItem `json:"found"`
	Luggage BagView            `json:"luggage"`
}

func (h *helpdesk) handleFoundMatch(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	var req matchRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !h.s.auditOrFail(w, r, p, "found.match", "found:"+r.PathValue("id")+" tag:"+dalil.NormalizeTag(req.Tag)) {
		return
	}
	f, it, err := h.luggage.Match(r.Context(), r.PathValue("id"), req.Tag, p.String())
	if err != nil {
		h.domainError(w, "found item", err)
		return
	}
	writeJSON(w, http.StatusOK, FoundMatched{Found: f, Luggage: h.bagView(it)})
}
