package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"dalil"
)

// GET /healthz: the process is up. No auth: it says nothing.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// GET /readyz: the store answers. No auth, for load balancers.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		writeError(w, http.StatusServiceUnavailable, "store unreachable: "+err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// MeView is GET /v1/me: who the token is and, for a pilgrim, their own
// profile and tent; for a guide, their group.
type MeView struct {
	Principal              // role, subject, token_id at the top level
	Pilgrim   *PilgrimView `json:"pilgrim,omitempty"`
	Group     *GroupView   `json:"group,omitempty"`
	Device    *DeviceView  `json:"device,omitempty"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r)
	if !ok {
		return
	}
	me := MeView{Principal: p}
	now := time.Now()
	switch p.Role {
	case RolePilgrim:
		if pg, ok := s.registry.Pilgrim(p.Subject); ok {
			v := s.pilgrimView(p, pg, now)
			me.Pilgrim = &v
		}
	case RoleGuide:
		if g, ok := s.registry.Group(p.Subject); ok {
			v := s.groupView(g, now)
			me.Group = &v
		}
	case RoleDevice:
		if d, ok := s.registry.Device(p.Subject); ok {
			me.Device = s.deviceView(d, now)
		}
	}
	writeJSON(w, http.StatusOK, me)
}

// tokenRequest is POST /v1/tokens.
type tokenRequest struct {
	Role    Role   `json:"role"`
	Subject string `json:"subject"`
}

// TokenCreated answers POST /v1/tokens; Token is shown only this once.
type TokenCreated struct {
	Token string `json:"token"`
	TokenInfo
}

func (s *Server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, RoleAdmin)
	if !ok {
		return
	}
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error(), "")
		return
	}
	if !req.Role.Valid() {
		writeError(w, http.StatusBadRequest, "role must be one of admin, operator, guide, pilgrim, device", "role")
		return
	}
	switch req.Role {
	case RolePilgrim, RoleGuide, RoleDevice:
		if req.Subject == "" {
			writeError(w, http.StatusBadRequest, "subject is required for a "+string(req.Role)+" token (PID, group ID or device ID)", "subject")
			return
		}
	}
	if len(req.Subject) > 200 {
		writeError(w, http.StatusBadRequest, "subject longer than 200 characters", "subject")
		return
	}
	secret, ti, err := s.tokens.mint(r.Context(), req.Role, req.Subject, p.TokenID)
	if errors.Is(err, errSubject) {
		writeError(w, http.StatusUnprocessableEntity, err.Error(), "subject")
		return
	}
	if err != nil {
		s.storeError(w, "token", err)
		return
	}
	s.log.Info("token minted", "id", ti.ID, "role", ti.Role, "subject", ti.Subject, "by", p.TokenID)
	ti.Hash = ""
	writeJSON(w, http.StatusCreated, TokenCreated{Token: secret, TokenInfo: ti})
}

func (s *Server) handleTokenList(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r, RoleAdmin); !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": s.tokens.list()})
}

func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, RoleAdmin)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := s.tokens.revoke(r.Context(), id)
	if errors.Is(err, dalil.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no token "+id, "id")
		return
	}
	if err != nil {
		s.storeError(w, "token", err)
		return
	}
	s.log.Info("token revoked", "id", id, "by", p.TokenID)
	s.hub.DisconnectToken(id)
	w.WriteHeader(http.StatusNoContent)
}

// GET /v1/audit?since=&until=&after=&limit=&target=&subject=&action=&token_id=:
// the audit log, oldest first (admin). A full page (count == limit) carries
// "next", its last entry's id, to pass as after= for the next page.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r, RoleAdmin); !ok {
		return
	}
	q, err := auditParams(r, time.Now())
	if err != nil {
		badParam(w, err)
		return
	}
	es, err := s.audits.find(r.Context(), q)
	if err != nil {
		s.storeError(w, "audit", err)
		return
	}
	resp := map[string]any{"entries": es, "count": len(es)}
	if len(es) > 0 && len(es) == q.Limit {
		resp["next"] = es[len(es)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
}

// auditParams reads GET /v1/audit's query. until is exclusive; since
// defaults to the 24 hours before until (or before now), so "until=" alone
// pages back a day at a time, unless after (an entry id: the page starts past
// it) is given, which is the start by itself; with both, the later one
// starts. after is refused when empty or not of an id's exact shape: a cursor
// that silently fell back to a default start would page the log forever. The
// filters are exact matches.
func auditParams(r *http.Request, now time.Time) (auditQuery, error) {
	var q auditQuery
	var err error
	if q.Until, err = timeParam(r, "until", time.Time{}); err != nil {
		return q, err
	}
	if r.URL.Query().Has("after") {
		q.After = r.URL.Query().Get("after")
		if _, _, ok := parseAuditID(q.After); !ok {
			return q, &paramError{"after", fmt.Sprintf(
				"after must be an audit entry id (20 digits, \"-\", 6 digits: a previous answer's next), got %q", q.After)}
		}
	}
	since := now.Add(-24 * time.Hour)
	switch {
	case q.After != "":
		since = time.Time{} // after starts the page by itself
	case !q.Until.IsZero():
		since = q.Until.Add(-24 * time.Hour)
	}
	if q.Since, err = timeParam(r, "since", since); err != nil {
		return q, err
	}
	if !q.Until.IsZero() && !q.Until.After(q.Since) {
		return q, &paramError{"until", fmt.Sprintf("until must be after since (%s), got %s",
			q.Since.UTC().Format(time.RFC3339Nano), q.Until.UTC().Format(time.RFC3339Nano))}
	}
	if q.Limit, err = intParam(r, "limit", 1000, 1, 100000); err != nil {
		return q, err
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"target", &q.Target}, {"subject", &q.Subject}, {"action", &q.Action}, {"token_id", &q.TokenID}} {
		v := r.URL.Query().Get(f.name)
		// Entries are stored as JSON, which holds only valid UTF-8: any other
		// value could never match, so it is a mistake worth naming.
		if !utf8.ValidString(v) {
			return q, &paramError{f.name, f.name + " is not valid UTF-8"}
		}
		*f.dst = v
	}
	return q, nil
}

// storeError answers a store failure: 503 with Retry-After when the store is
// unavailable, 500 otherwise. The detail goes to the log, not the client.
func (s *Server) storeError(w http.ResponseWriter, what string, err error) {
	s.log.Error("store", "what", what, "err", err)
	if errors.Is(err, dalil.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "store unavailable; try again", "")
		return
	}
	writeError(w, http.StatusInternalServerError, "internal error reading "+what, "")
}
