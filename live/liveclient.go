package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// LiveClient is a Go client of the live feed (GET /v1/live), for tests, the
// load tool and integrations. It is not safe for concurrent reads; one
// goroutine reads while another may Subscribe.
type LiveClient struct {
	conn *websocket.Conn
}

// LiveMessage is any message of the live feed, decoded.
type LiveMessage struct {
	Type      string        `json:"type"` // position | event | snapshot | unsubscribed | error
	Topic     string        `json:"topic,omitempty"`
	Error     string        `json:"error,omitempty"`
	Positions []LiveMessage `json:"positions,omitempty"` // snapshot
	Truncated bool          `json:"truncated,omitempty"`
	Pilgrim   string        `json:"pilgrim,omitempty"`
	Device    string        `json:"device,omitempty"`
	Luggage   string        `json:"luggage,omitempty"`
	Group     string        `json:"group,omitempty"`
	Lat       float64       `json:"lat,omitempty"`
	Lon       float64       `json:"lon,omitempty"`
	Accuracy  float64       `json:"acc,omitempty"`
	Time      time.Time     `json:"ts"`
	Site      string        `json:"site,omitempty"`
	Camp      string        `json:"camp,omitempty"`
	Tent      string        `json:"tent,omitempty"`
	TentP     float64       `json:"tent_p,omitempty"`
	Cell      string        `json:"cell,omitempty"`
	Battery   float64       `json:"batt,omitempty"`
	Kind      string        `json:"kind,omitempty"` // event kind
	Case      string        `json:"case,omitempty"`
	Detail    string        `json:"detail,omitempty"`
}

// DialLive connects to baseURL's live feed ("http://host:port") with token.
func DialLive(ctx context.Context, baseURL, token string) (*LiveClient, error) {
	u := strings.TrimRight(baseURL, "/")
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + u[len("https://"):]
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + u[len("http://"):]
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+token)
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, u+"/v1/live", h)
	if err != nil {
		if resp != nil {
			var e struct {
				Error string `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			return nil, fmt.Errorf("live feed: %s: %s", resp.Status, e.Error)
		}
		return nil, fmt.Errorf("live feed: %w", err)
	}
	return &LiveClient{conn: conn}, nil
}

// Subscribe asks for a topic; the answer (snapshot or error) arrives via Read.
func (c *LiveClient) Subscribe(topic string) error {
	return c.conn.WriteJSON(clientOp{Op: "subscribe", Topic: topic})
}

// Unsubscribe stops a topic.
func (c *LiveClient) Unsubscribe(topic string) error {
	return c.conn.WriteJSON(clientOp{Op: "unsubscribe", Topic: topic})
}

// ReadRaw returns the next message undecoded; a close from the server is a
// *websocket.CloseError carrying the reason.
func (c *LiveClient) ReadRaw() ([]byte, error) {
	_, b, err := c.conn.ReadMessage()
	return b, err
}

// Read returns the next message decoded.
func (c *LiveClient) Read() (LiveMessage, error) {
	var m LiveMessage
	b, err := c.ReadRaw()
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// Close closes the connection.
func (c *LiveClient) Close() error { return c.conn.Close() }

// PositionTime extracts "ts" from a position message without decoding the
// rest, so that a load tool can measure ping→client latency for many clients
// cheaply. ok is false for other messages.
func PositionTime(msg []byte) (time.Time, bool) {
	if !bytes.HasPrefix(msg, []byte(`{"type":"position"`)) {
		return time.Time{}, false
	}
	i := bytes.Index(msg, []byte(`"ts":"`))
	if i < 0 {
		return time.Time{}, false
	}
	rest := msg[i+6:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}
