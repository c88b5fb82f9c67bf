package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Role is what a token may do.
type Role string

const (
	RoleAdmin    Role = "admin"    // everything, and tokens and the audit log
	RoleOperator Role = "operator" // helpdesk: every pilgrim, case and bag (audited)
	RoleGuide    Role = "guide"    // own group only (Subject = group ID)
	RolePilgrim  Role = "pilgrim"  // self only (Subject = PID)
	RoleDevice   Role = "device"   // ingest only (Subject = device ID)
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleOperator, RoleGuide, RolePilgrim, RoleDevice:
		return true
	}
	return false
}

// Principal is who a request acts as: the role and subject of its token.
type Principal struct {
	Role    Role   `json:"role"`
	Subject string `json:"subject,omitempty"` // PID, group ID or device ID; "" for admin/operator
	TokenID string `json:"token_id,omitempty"`
}

// String names the principal in logs and the audit log: "operator:desk-3".
func (p Principal) String() string {
	if p.Subject == "" {
		return string(p.Role) + "@" + p.TokenID
	}
	return string(p.Role) + ":" + p.Subject + "@" + p.TokenID
}

// staff reports whether the principal sees every pilgrim (admin, operator).
func (p Principal) staff() bool { return p.Role == RoleAdmin || p.Role == RoleOperator }

// people are the roles of persons: everyone but devices.
func people() []Role { return []Role{RoleAdmin, RoleOperator, RoleGuide, RolePilgrim} }

// bearer extracts the token from "Authorization: Bearer …".
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authorize authenticates the request's bearer token and checks that its role
// is one of roles (any role when none are given). It answers 401 (no or bad
// token) or 403 (wrong role) itself and returns false then.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, roles ...Role) (Principal, bool) {
	return s.authorizeToken(w, r, bearer(r), roles...)
}

func (s *Server) authorizeToken(w http.ResponseWriter, r *http.Request, token string, roles ...Role) (Principal, bool) {
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dalil"`)
		writeError(w, http.StatusUnauthorized, "missing bearer token", "Authorization")
		return Principal{}, false
	}
	p, ok := s.tokens.principal(token)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="dalil", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid or revoked token", "Authorization")
		return Principal{}, false
	}
	if len(roles) > 0 && !slices.Contains(roles, p.Role) {
		writeError(w, http.StatusForbidden, "role "+string(p.Role)+" may not use this endpoint", "")
		return Principal{}, false
	}
	return p, true
}

// canSeePilgrim reports whether p may read pilgrim pid's data: staff see
// everyone, a guide sees the members (and the guide) of their group, a pilgrim
// sees only themself. It does not check that pid exists.
func (s *Server) canSeePilgrim(p Principal, pid string) bool {
	switch p.Role {
	case RoleAdmin, RoleOperator:
		return true
	case RolePilgrim:
		return pid == p.Subject
	case RoleGuide:
		if pg, ok := s.registry.Pilgrim(pid); ok && pg.Group == p.Subject {
			return true
		}
		g, ok := s.registry.Group(p.Subject)
		return ok && g.GuidePID == pid
	}
	return false
}

// canSeeGroup reports whether p may read group gid: staff and the group's guide.
func (s *Server) canSeeGroup(p Principal, gid string) bool {
	return p.staff() || (p.Role == RoleGuide && p.Subject == gid)
}

// canSeeCase reports whether p may follow case id; the helpdesk widens it for
// guides and pilgrims through caseAccess.
func (s *Server) canSeeCase(p Principal, id string) bool {
	if p.staff() {
		return true
	}
	return s.caseAccess != nil && s.caseAccess(p, id)
}

// audit records that p did action on target (a PID, "camp:mina-094", …) in
// the audit log, but only for staff: reads by guides and pilgrims are scoped
// to their own people and not audited. Handlers call it before answering with
// personal data and refuse to answer when it fails, so nothing is disclosed
// unaudited.
func (s *Server) audit(ctx context.Context, p Principal, action, target string) error {
	if !p.staff() {
		return nil
	}
	return s.audits.write(ctx, p, action, target)
}
