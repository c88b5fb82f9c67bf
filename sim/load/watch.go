package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// watcher is one websocket client following one topic.
type watcher struct {
	topic string
	url   string
	conn  *websocket.Conn
}

// watchStats are shared by every watcher.
type watchStats struct {
	positions, snapshots, events, errors, matched atomic.Int64
	disconnects                                   atomic.Int64
	lastError                                     atomic.Pointer[string]
}

// liveURL turns the http base into the websocket URL with the token.
func liveURL(base *url.URL, token string) string {
	u := *base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += "/v1/live"
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// connect dials and subscribes, and waits for the snapshot (or an error).
func (w *watcher) connect(ctx context.Context, d *websocket.Dialer) error {
	c, resp, err := d.DialContext(ctx, w.url, nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("websocket %s: %s", w.topic, resp.Status)
		}
		return fmt.Errorf("websocket %s: %w", w.topic, err)
	}
	msg, _ := json.Marshal(map[string]string{"op": "subscribe", "topic": w.topic})
	if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
		c.Close()
		return fmt.Errorf("websocket %s: subscribe: %w", w.topic, err)
	}
	// The first answer is the snapshot, or an error saying why not.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			c.Close()
			return fmt.Errorf("websocket %s: waiting for the snapshot: %w", w.topic, err)
		}
		switch typ := msgType(data); typ {
		case "snapshot":
			c.SetReadDeadline(time.Time{})
			w.conn = c
			return nil
		case "error":
			c.Close()
			return fmt.Errorf("websocket %s: refused: %s", w.topic, data)
		}
	}
}

// read counts messages until the connection closes, measuring the latency of
// each position whose device and timestamp it recognises.
func (w *watcher) read(r *runner, res *reservoir) {
	st := &r.watch
	for {
		_, data, err := w.conn.ReadMessage()
		now := time.Now()
		if err != nil {
			if !r.stopping.Load() {
				st.disconnects.Add(1)
				s := err.Error()
				st.lastError.Store(&s)
			}
			return
		}
		switch msgType(data) {
		case "position":
			st.positions.Add(1)
			dev, ts, ok := deviceAndTime(data)
			if !ok {
				continue
			}
			slot, ok := r.watched[string(dev)]
			if !ok {
				continue
			}
			if lat, ok := r.clock.latency(slot, ts, now); ok {
				st.matched.Add(1)
				res.add(lat)
			}
		case "snapshot":
			st.snapshots.Add(1)
		case "event":
			st.events.Add(1)
		case "error":
			st.errors.Add(1)
			s := string(data)
			st.lastError.Store(&s)
		}
	}
}

// close says goodbye and closes the connection.
func (w *watcher) close() {
	if w.conn == nil {
		return
	}
	w.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench done"), time.Now().Add(time.Second))
	w.conn.Close()
}

// msgType reads the "type" field, which the server writes first.
func msgType(b []byte) string {
	v, ok := stringField(b, `"type":"`)
	if !ok {
		return ""
	}
	return string(v)
}

// deviceAndTime pulls "device" and "ts" (RFC 3339) out of a position
// message without decoding it all: watchers may read 100,000 a second.
func deviceAndTime(b []byte) (dev []byte, tsMs int64, ok bool) {
	dev, ok = stringField(b, `"device":"`)
	if !ok {
		return nil, 0, false
	}
	ts, ok := stringField(b, `"ts":"`)
	if !ok {
		return nil, 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return nil, 0, false
	}
	return dev, t.UnixMilli(), true
}

// stringField returns the JSON string value after key (which ends in ':"'),
// assuming it holds no escapes (ids and timestamps do not).
func stringField(b []byte, key string) ([]byte, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return nil, false
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil, false
	}
	return rest[:j], true
}
