package api

import (
	"net/http"
	"time"

	"dalil"
	"dalil/helpdesk"
)

// Luggage: operators and admins do everything; a pilgrim may see their own
// bags and report one lost.

// BagView answers GET /v1/luggage/{tag}: the bag, and where its tracker and
// its latest sighting put it.
type BagView struct {
	helpdesk.LuggageItem
	Tracker  *TrackerView `json:"tracker_state,omitempty"`
	Sighting *TrackerView `json:"sighting_state,omitempty"`
}

// TrackerView is a device's live position and recent trail.
type TrackerView struct {
	Position *PositionView    `json:"position"`
	Trail    []dalil.Position `json:"trail"`
}

func (h *desk) trackerView(device string) *TrackerView {
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

func (h *desk) bagView(it helpdesk.LuggageItem) BagView {
	v := BagView{LuggageItem: it}
	if it.Tracker != "" {
		v.Tracker = h.trackerView(it.Tracker)
	}
	v.Sighting = h.trackerView(helpdesk.LuggageSightingDevice(it.Tag))
	return v
}

// bagFor loads {tag} for a principal: staff see every bag, a pilgrim only
// their own (403 otherwise, whether or not the tag exists).
func (h *desk) bagFor(w http.ResponseWriter, r *http.Request, p Principal) (helpdesk.LuggageItem, bool) {
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

func (h *desk) handleLuggageRegister(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	var req helpdesk.LuggageRequest
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
	Luggage []helpdesk.LuggageItem `json:"luggage"`
}

func (h *desk) handleLuggageList(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RolePilgrim)
	if !ok || !h.ready(w) {
		return
	}
	owner := r.URL.Query().Get("owner")
	status := helpdesk.LuggageStatus(r.URL.Query().Get("status"))
	switch status {
	case "", helpdesk.LuggageRegistered, helpdesk.LuggageLost, helpdesk.LuggageFound, helpdesk.LuggageReturned:
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
		items = []helpdesk.LuggageItem{}
	}
	writeJSON(w, http.StatusOK, BagList{Luggage: items})
}

func (h *desk) handleLuggageGet(w http.ResponseWriter, r *http.Request) {
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

func (h *desk) handleLuggageLost(w http.ResponseWriter, r *http.Request) {
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

func (h *desk) handleLuggageHandover(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	var req helpdesk.HandoverRequest
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
	Found       helpdesk.FoundItem      `json:"found"`
	Suggestions []helpdesk.LuggageMatch `json:"suggestions"`
}

func (h *desk) handleFoundRecord(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	var req helpdesk.FoundRequest
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
		sug = []helpdesk.LuggageMatch{}
	}
	writeJSON(w, http.StatusCreated, FoundRecorded{Found: f, Suggestions: sug})
}

// FoundList answers GET /v1/found-items.
type FoundList struct {
	Items []helpdesk.FoundItem `json:"items"`
}

func (h *desk) handleFoundList(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	status := helpdesk.FoundStatus(r.URL.Query().Get("status"))
	switch status {
	case "", helpdesk.FoundUnmatched, helpdesk.FoundMatched, helpdesk.FoundReturned:
	default:
		writeError(w, http.StatusBadRequest, "status must be one of unmatched, matched, returned", "status")
		return
	}
	if !h.s.auditOrFail(w, r, p, "found.list", "found-items?"+r.URL.RawQuery) {
		return
	}
	items := h.luggage.FoundItems(status)
	if items == nil {
		items = []helpdesk.FoundItem{}
	}
	writeJSON(w, http.StatusOK, FoundList{Items: items})
}

func (h *desk) handleFoundGet(w http.ResponseWriter, r *http.Request) {
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
		sug = []helpdesk.LuggageMatch{}
	}
	writeJSON(w, http.StatusOK, FoundRecorded{Found: f, Suggestions: sug})
}

type matchRequest struct {
	Tag string `json:"tag"`
}

// FoundMatched answers POST /v1/found-items/{id}/match.
type FoundMatched struct {
	Found   helpdesk.FoundItem `json:"found"`
	Luggage BagView            `json:"luggage"`
}

func (h *desk) handleFoundMatch(w http.ResponseWriter, r *http.Request) {
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
