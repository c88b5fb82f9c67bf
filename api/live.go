package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"dalil"
	"dalil/live"

	"github.com/gorilla/websocket"
)

// checkOrigin allows requests without an Origin (non-browser clients), from
// the server's own host, and from the configured allow-list. Anything else is
// a page on another site trying to use a visitor's token.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.ContainsFunc(s.cfg.Live.AllowedOrigins, func(a string) bool {
		return strings.EqualFold(strings.TrimRight(a, "/"), origin)
	})
}

// handleLive upgrades GET /v1/live to a websocket. The token comes in the
// Authorization header or, for browsers that cannot set headers on a
// websocket, in ?token=.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	tok := bearer(r)
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	p, ok := s.authorizeToken(w, r, tok, people()...)
	if !ok {
		return
	}
	if !s.checkOrigin(r) {
		writeError(w, http.StatusForbidden, "origin not allowed: "+r.Header.Get("Origin"), "Origin")
		return
	}
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		CheckOrigin:     func(*http.Request) bool { return true }, // checked above, with a JSON error
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered the client
	}
	// r.Context() is valid until this handler returns, which is when the
	// connection ends.
	s.hub.Serve(r.Context(), conn, p.TokenID, livePolicy{s: s, p: p})
}

// livePolicy is what one signed-in subscriber may follow: the hub asks it
// on every subscribe.
type livePolicy struct {
	s *Server
	p Principal
}

func (lp livePolicy) Allow(t live.Topic) (reason, group string) { return lp.s.topicAllowed(lp.p, t) }

// Audit: every topic carries pilgrims' positions or events, so following one
// is a read of personal data by staff, audited like REST and refused when the
// audit log cannot be written.
func (lp livePolicy) Audit(ctx context.Context, topic string) error {
	if !lp.p.staff() {
		return nil
	}
	return lp.s.audit(ctx, lp.p, "live.subscribe", topic)
}

func (lp livePolicy) Snapshot(t live.Topic, limit int) ([]dalil.LiveState, bool) {
	return lp.s.snapshot(lp.p, t, limit)
}

// topicAllowed says why p may not follow t ("" when it may) and, for a
// guide's events subscription, the group it is restricted to.
func (s *Server) topicAllowed(p Principal, t live.Topic) (reason, group string) {
	switch t.Kind {
	case live.TopicPilgrim:
		if _, ok := s.registry.Pilgrim(t.ID); !ok {
			return "no pilgrim " + t.ID, ""
		}
		if !s.canSeePilgrim(p, t.ID) {
			return "role " + string(p.Role) + " may not follow pilgrim " + t.ID, ""
		}
	case live.TopicGroup:
		if _, ok := s.registry.Group(t.ID); !ok {
			return "no group " + t.ID, ""
		}
		if !s.canSeeGroup(p, t.ID) {
			return "role " + string(p.Role) + " may not follow group " + t.ID, ""
		}
	case live.TopicCamp, live.TopicTent, live.TopicBBox:
		if !p.staff() {
			return "role " + string(p.Role) + " may not follow " + string(t.Kind) + " topics", ""
		}
		if t.Kind == live.TopicCamp {
			if _, ok := s.layout.Camp(t.ID); !ok {
				return "no camp " + t.ID, ""
			}
		}
		if t.Kind == live.TopicTent {
			if _, ok := s.layout.Tent(t.ID); !ok {
				return "no tent " + t.ID, ""
			}
		}
	case live.TopicEvents:
		switch p.Role {
		case RoleAdmin, RoleOperator:
		case RoleGuide:
			return "", p.Subject
		default:
			return "role " + string(p.Role) + " may not follow events; follow pilgrim:" + p.Subject, ""
		}
	case live.TopicCase:
		if !s.canSeeCase(p, t.ID) {
			return "role " + string(p.Role) + " may not follow case " + t.ID, ""
		}
	}
	return "", ""
}

// snapshot returns the current positions in a topic's scope.
func (s *Server) snapshot(p Principal, t live.Topic, limit int) ([]dalil.LiveState, bool) {
	var out []dalil.LiveState
	switch t.Kind {
	case live.TopicPilgrim:
		if st, ok := s.engine.Pilgrim(t.ID); ok {
			out = append(out, st)
		}
	case live.TopicGroup:
		for _, m := range s.groupPeople(t.ID) {
			if st, ok := s.engine.Pilgrim(m.PID); ok {
				out = append(out, st)
			}
		}
	case live.TopicCamp:
		out = s.engine.InCamp(t.ID)
	case live.TopicTent:
		out = s.engine.InTent(t.ID)
	case live.TopicBBox:
		out = s.engine.InBBox(t.MinLon, t.MinLat, t.MaxLon, t.MaxLat, limit+1)
	}
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}
