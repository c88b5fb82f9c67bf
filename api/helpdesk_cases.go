package api

import (
	"net/http"
	"time"

	"dalil/helpdesk"
)

// Who may do what with cases:
//   - operators and admins: everything;
//   - a guide: open a case for a member of their group, see and follow its
//     cases, and move them along (a guide often escorts the pilgrim back);
//   - a pilgrim: open an SOS case for themselves and see their own cases.

// canSeeCase is the server's caseAccess: the websocket topic case:<ID> for
// guides and pilgrims.
func (h *desk) canSeeCase(p Principal, id string) bool {
	if h.cases == nil {
		return false
	}
	c, ok := h.cases.Get(id)
	return ok && h.mayFollow(p, &c)
}

func (h *desk) mayFollow(p Principal, c *helpdesk.Case) bool {
	switch p.Role {
	case RoleAdmin, RoleOperator:
		return true
	case RoleGuide:
		return c.Group != "" && c.Group == p.Subject
	case RolePilgrim:
		return c.Pilgrim == p.Subject
	}
	return false
}

// caseFor loads {id} and checks the principal may see it (404 for staff, 403
// otherwise, so that IDs cannot be probed).
func (h *desk) caseFor(w http.ResponseWriter, r *http.Request, p Principal) (helpdesk.Case, bool) {
	id := r.PathValue("id")
	c, ok := h.cases.Get(id)
	if ok && h.mayFollow(p, &c) {
		return c, true
	}
	if !ok && p.staff() {
		writeError(w, http.StatusNotFound, "no case "+id, "id")
	} else {
		writeError(w, http.StatusForbidden, "role "+string(p.Role)+" may not see case "+id, "id")
	}
	return helpdesk.Case{}, false
}

func (h *desk) handleCaseOpen(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide, RolePilgrim)
	if !ok || !h.ready(w) {
		return
	}
	var req helpdesk.CaseRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch p.Role {
	case RolePilgrim:
		if req.Pilgrim == "" {
			req.Pilgrim = p.Subject
		}
		if req.Pilgrim != p.Subject {
			writeError(w, http.StatusForbidden, "a pilgrim may open an SOS case for themselves only", "pilgrim")
			return
		}
		req.Kind = helpdesk.CaseSOS
		req.Assignee = ""
	case RoleGuide:
		if req.Pilgrim != "" && !h.s.canSeePilgrim(p, req.Pilgrim) {
			writeError(w, http.StatusForbidden, "a guide may open cases for members of their own group only", "pilgrim")
			return
		}
		req.Assignee = ""
	}
	// The answer carries the pilgrim's last known place: audited before the
	// case is opened, so a failed audit changes nothing.
	if !h.s.auditOrFail(w, r, p, "case.open", req.Pilgrim) {
		return
	}
	c, created, err := h.cases.OpenOrJoin(r.Context(), req, p.String())
	if err != nil {
		h.domainError(w, "case", err)
		return
	}
	if !created {
		// The pilgrim already has an active case: the report joined it.
		writeJSON(w, http.StatusOK, c)
		return
	}
	h.s.log.Info("case opened", "case", c.ID, "pilgrim", c.Pilgrim, "by", p.String())
	writeJSON(w, http.StatusCreated, c)
}

// CaseList answers GET /v1/cases.
type CaseList struct {
	Cases []helpdesk.Case `json:"cases"`
}

func (h *desk) handleCaseList(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide, RolePilgrim)
	if !ok || !h.ready(w) {
		return
	}
	q := r.URL.Query()
	f := helpdesk.CaseFilter{State: helpdesk.CaseState(q.Get("state")), Pilgrim: q.Get("pilgrim"),
		Group: q.Get("group"), Assignee: q.Get("assignee"), Active: q.Get("active") == "true"}
	if f.State != "" && !f.State.Valid() {
		writeError(w, http.StatusBadRequest, "state must be one of open, located, escorted, reunited, closed, cancelled", "state")
		return
	}
	switch p.Role {
	case RoleGuide:
		if f.Group != "" && f.Group != p.Subject {
			writeError(w, http.StatusForbidden, "a guide sees the cases of their own group only", "group")
			return
		}
		f.Group = p.Subject
	case RolePilgrim:
		if f.Pilgrim != "" && f.Pilgrim != p.Subject {
			writeError(w, http.StatusForbidden, "a pilgrim sees their own cases only", "pilgrim")
			return
		}
		f.Pilgrim = p.Subject
	}
	cases := h.cases.List(f)
	if cases == nil {
		cases = []helpdesk.Case{}
	}
	if !h.s.auditOrFail(w, r, p, "case.list", "cases?"+r.URL.RawQuery) {
		return
	}
	writeJSON(w, http.StatusOK, CaseList{Cases: cases})
}

func (h *desk) handleCaseGet(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide, RolePilgrim)
	if !ok || !h.ready(w) {
		return
	}
	c, ok := h.caseFor(w, r, p)
	if !ok {
		return
	}
	if !h.s.auditOrFail(w, r, p, "case.read", c.ID+":"+c.Pilgrim) {
		return
	}
	writeJSON(w, http.StatusOK, c)
}

type transitionRequest struct {
	To   helpdesk.CaseState `json:"to"`
	Note string             `json:"note"`
}

func (h *desk) handleCaseTransition(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide)
	if !ok || !h.ready(w) {
		return
	}
	old, ok := h.caseFor(w, r, p)
	if !ok {
		return
	}
	var req transitionRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.To == "" {
		writeError(w, http.StatusBadRequest, "to (the new state) is required", "to")
		return
	}
	if !req.To.Valid() {
		writeError(w, http.StatusBadRequest, "to must be one of located, escorted, reunited, closed, cancelled", "to")
		return
	}
	if len(req.Note) > 2000 {
		writeError(w, http.StatusBadRequest, "note is longer than 2000 bytes", "note")
		return
	}
	if !h.s.auditOrFail(w, r, p, "case.transition", old.ID+":"+old.Pilgrim) {
		return
	}
	c, err := h.cases.Transition(r.Context(), r.PathValue("id"), req.To, p.String(), req.Note)
	if err != nil {
		h.domainError(w, "case", err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

type assignRequest struct {
	Operator string `json:"operator"`
	Note     string `json:"note"`
}

func (h *desk) handleCaseAssign(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	old, ok := h.caseFor(w, r, p)
	if !ok {
		return
	}
	var req assignRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Operator) > 200 {
		writeError(w, http.StatusBadRequest, "operator is longer than 200 bytes", "operator")
		return
	}
	if !h.s.auditOrFail(w, r, p, "case.assign", old.ID+":"+old.Pilgrim) {
		return
	}
	c, err := h.cases.Assign(r.Context(), r.PathValue("id"), req.Operator, p.String())
	if err != nil {
		h.domainError(w, "case", err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

type noteRequest struct {
	Note string `json:"note"`
}

func (h *desk) handleCaseNote(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide)
	if !ok || !h.ready(w) {
		return
	}
	old, ok := h.caseFor(w, r, p)
	if !ok {
		return
	}
	var req noteRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Note) > 2000 {
		writeError(w, http.StatusBadRequest, "note is longer than 2000 bytes", "note")
		return
	}
	if !h.s.auditOrFail(w, r, p, "case.note", old.ID+":"+old.Pilgrim) {
		return
	}
	c, err := h.cases.AddNote(r.Context(), r.PathValue("id"), p.String(), req.Note)
	if err != nil {
		h.domainError(w, "case", err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// Handover answers GET /v1/cases/handover.
type Handover struct {
	Generated time.Time               `json:"generated"`
	Items     []helpdesk.HandoverItem `json:"items"`
}

func (h *desk) handleHandover(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok || !h.ready(w) {
		return
	}
	items := h.cases.Handover()
	if items == nil {
		items = []helpdesk.HandoverItem{}
	}
	if !h.s.auditOrFail(w, r, p, "case.handover", "cases") {
		return
	}
	writeJSON(w, http.StatusOK, Handover{Generated: time.Now().UTC(), Items: items})
}
