package live

import (
	"context"
	"encoding/json"
	"time"

	"dalil"

	"github.com/gorilla/websocket"
)

// Policy is what the hub asks the server about one connection's subscriber.
type Policy interface {
	// Allow says why the subscriber may not follow t ("" when it may) and,
	// for a guide's events topic, the group it is restricted to.
	Allow(t Topic) (reason, group string)
	// Audit records that the subscriber follows topic; an error refuses the
	// subscription.
	Audit(ctx context.Context, topic string) error
	// Snapshot returns the current positions in t's scope, at most limit,
	// and whether there were more.
	Snapshot(t Topic, limit int) ([]dalil.LiveState, bool)
}

// clientOp is a message from a live-feed client.
type clientOp struct {
	Op    string `json:"op"` // "subscribe" | "unsubscribe"
	Topic string `json:"topic"`
}

// Serve runs one upgraded websocket connection until it ends: token is the
// id of the token its subscriber signed in with (DisconnectToken ends it),
// pol decides what it may follow, and ctx (the upgraded request's) carries
// its audit writes.
func (h *Hub) Serve(ctx context.Context, conn *websocket.Conn, token string, pol Policy) {
	c := newClient(h, conn, token, pol)
	c.ctx = ctx
	if !h.register(c) {
		msg := websocket.FormatCloseMessage(closeGoingAway, "server shutting down")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	go c.writeLoop()
	h.readLoop(c)
}

// readLoop reads client ops until the connection ends, then unregisters.
func (h *Hub) readLoop(c *client) {
	defer func() {
		h.unregister(c)
		c.kill(websocket.CloseNormalClosure, "")
	}()
	cfg := &h.cfg
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
			h.subscribe(c, op.Topic)
		case "unsubscribe":
			h.unsubscribe(c, op.Topic)
		default:
			c.enqueueControl(encodeControl("error", op.Topic, "unknown op "+jsonQuote(op.Op)+": want subscribe or unsubscribe"))
		}
	}
}

func jsonQuote(s string) string { return string(appendJSONString(nil, s)) }

// subscribe registers the topic and queues its snapshot; updates published
// after registration follow the snapshot in the client's queue.
func (h *Hub) subscribe(c *client, topic string) {
	t, err := ParseTopic(topic)
	if err != nil {
		c.enqueueControl(encodeControl("error", topic, err.Error()))
		return
	}
	reason, group := c.pol.Allow(t)
	if reason != "" {
		c.enqueueControl(encodeControl("error", topic, reason))
		return
	}
	name := t.String()
	if err := c.pol.Audit(c.ctx, name); err != nil {
		c.enqueueControl(encodeControl("error", topic, "audit log unavailable; try again"))
		return
	}
	sub := &subscription{c: c, topic: t, group: group}
	h.mu.Lock()
	_, dup := c.subs[name]
	full := len(c.subs) >= h.cfg.MaxSubscriptions
	if !dup && !full {
		c.subs[name] = sub
	}
	h.mu.Unlock()
	if full && !dup {
		c.enqueueControl(encodeControl("error", topic, "too many subscriptions on one connection"))
		return
	}
	if !dup {
		h.add(sub)
	}
	states, truncated := c.pol.Snapshot(t, h.cfg.SnapshotLimit)
	c.enqueueControl(encodeSnapshot(name, states, truncated))
}

func (h *Hub) unsubscribe(c *client, topic string) {
	t, err := ParseTopic(topic)
	if err != nil {
		c.enqueueControl(encodeControl("error", topic, err.Error()))
		return
	}
	name := t.String()
	h.mu.Lock()
	sub, ok := c.subs[name]
	if ok {
		delete(c.subs, name)
		h.removeLocked(sub)
	}
	h.mu.Unlock()
	if !ok {
		c.enqueueControl(encodeControl("error", topic, "not subscribed"))
		return
	}
	c.enqueueControl(encodeControl("unsubscribed", name, ""))
}
