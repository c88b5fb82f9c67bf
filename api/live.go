package api

import (
	"dalil"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// clientOp is a message from a live-feed client.
type clientOp struct {
	Op    string `json:"op"` // "subscribe" | "unsubscribe"
	Topic string `json:"topic"`
}

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
	c := newClient(s.hub, conn, p)
	c.ctx = r.Context() // valid until this handler returns, which is when the connection ends
	if !s.hub.register(c) {
		msg := websocket.FormatCloseMessage(closeGoingAway, "server shutting down")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	go c.writeLoop()
	s.readLoop(c)
}

// readLoop reads client ops until the connection ends, then unregisters.
func (s *Server) readLoop(c *client) {
	defer func() {
		s.hub.unregister(c)
		c.kill(websocket.CloseNormalClosure, "")
	}()
	cfg := &s.hub.cfg
	pongWait := 2 * cfg.PingInterval
	c.conn.SetReadLimit(4096)
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	// Pongs and the close echo go through the writer, which owns the socket.
	c.conn.SetPingHandler(c.onPing)
	c.conn.SetCloseHandler(func(int, string) error { return nil })
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
		var op clientOp
		if err := json.Unmarshal(data, &op); err != nil {
			c.enqueueControl(encodeControl("error", "", "bad message: want {\"op\":\"subscribe\"|\"unsubscribe\",\"topic\":…}"))
			continue
		}
		switch op.Op {
		case "subscribe":
			s.subscribe(c, op.Topic)
		case "unsubscribe":
			s.unsubscribe(c, op.Topic)
		default:
			c.enqueueControl(encodeControl("error", op.Topic, "unknown op "+jsonQuote(op.Op)+": want subscribe or unsubscribe"))
		}
	}
}

func jsonQuote(s string) string { return string(appendJSONString(nil, s)) }

// topicAllowed says why p may not follow t ("" when it may) and, for a
// guide's events subscription, the group it is restricted to.
func (s *Server) topicAllowed(p Principal, t Topic) (reason, group string) {
	switch t.Kind {
	case TopicPilgrim:
		if _, ok := s.registry.Pilgrim(t.ID); !ok {
			return "no pilgrim " + t.ID, ""
		}
		if !s.canSeePilgrim(p, t.ID) {
			return "role " + string(p.Role) + " may not follow pilgrim " + t.ID, ""
		}
	case TopicGroup:
		if _, ok := s.registry.Group(t.ID); !ok {
			return "no group " + t.ID, ""
		}
		if !s.canSeeGroup(p, t.ID) {
			return "role " + string(p.Role) + " may not follow group " + t.ID, ""
		}
	case TopicCamp, TopicTent, TopicBBox:
		if !p.staff() {
			return "role " + string(p.Role) + " may not follow " + string(t.Kind) + " topics", ""
		}
		if t.Kind == TopicCamp {
			if _, ok := s.layout.Camp(t.ID); !ok {
				return "no camp " + t.ID, ""
			}
		}
		if t.Kind == TopicTent {
			if _, ok := s.layout.Tent(t.ID); !ok {
				return "no tent " + t.ID, ""
			}
		}
	case TopicEvents:
		switch p.Role {
		case RoleAdmin, RoleOperator:
		case RoleGuide:
			return "", p.Subject
		default:
			return "role " + string(p.Role) + " may not follow events; follow pilgrim:" + p.Subject, ""
		}
	case TopicCase:
		if !s.canSeeCase(p, t.ID) {
			return "role " + string(p.Role) + " may not follow case " + t.ID, ""
		}
	}
	return "", ""
}

// subscribe registers the topic and queues its snapshot; updates published
// after registration follow the snapshot in the client's queue.
func (s *Server) subscribe(c *client, topic string) {
	t, err := ParseTopic(topic)
	if err != nil {
		c.enqueueControl(encodeControl("error", topic, err.Error()))
		return
	}
	reason, group := s.topicAllowed(c.p, t)
	if reason != "" {
		c.enqueueControl(encodeControl("error", topic, reason))
		return
	}
	name := t.String()
	if c.p.staff() {
		// Every topic carries pilgrims' positions or events: following one
		// is a read of personal data, audited like REST and refused when
		// the audit log cannot be written.
		if err := s.audit(c.ctx, c.p, "live.subscribe", name); err != nil {
			c.enqueueControl(encodeControl("error", topic, "audit log unavailable; try again"))
			return
		}
	}
	sub := &subscription{c: c, topic: t, group: group}
	s.hub.mu.Lock()
	_, dup := c.subs[name]
	full := len(c.subs) >= s.hub.cfg.MaxSubscriptions
	if !dup && !full {
		c.subs[name] = sub
	}
	s.hub.mu.Unlock()
	if full && !dup {
		c.enqueueControl(encodeControl("error", topic, "too many subscriptions on one connection"))
		return
	}
	if !dup {
		s.hub.add(sub)
	}
	states, truncated := s.snapshot(c.p, t)
	c.enqueueControl(encodeSnapshot(name, states, truncated))
}

func (s *Server) unsubscribe(c *client, topic string) {
	t, err := ParseTopic(topic)
	if err != nil {
		c.enqueueControl(encodeControl("error", topic, err.Error()))
		return
	}
	name := t.String()
	s.hub.mu.Lock()
	sub, ok := c.subs[name]
	if ok {
		delete(c.subs, name)
		s.hub.removeLocked(sub)
	}
	s.hub.mu.Unlock()
	if !ok {
		c.enqueueControl(encodeControl("error", topic, "not subscribed"))
		return
	}
	c.enqueueControl(encodeControl("unsubscribed", name, ""))
}

// snapshot returns the current positions in a topic's scope.
func (s *Server) snapshot(p Principal, t Topic) ([]dalil.LiveState, bool) {
	limit := s.hub.cfg.SnapshotLimit
	var out []dalil.LiveState
	switch t.Kind {
	case TopicPilgrim:
		if st, ok := s.engine.Pilgrim(t.ID); ok {
			out = append(out, st)
		}
	case TopicGroup:
		for _, m := range s.groupPeople(t.ID) {
			if st, ok := s.engine.Pilgrim(m.PID); ok {
				out = append(out, st)
			}
		}
	case TopicCamp:
		out = s.engine.InCamp(t.ID)
	case TopicTent:
		out = s.engine.InTent(t.ID)
	case TopicBBox:
		out = s.engine.InBBox(t.MinLon, t.MinLat, t.MaxLon, t.MaxLat, limit+1)
	}
	if len(out) > limit {
		return out[:limit], true
	}
	return out, false
}
