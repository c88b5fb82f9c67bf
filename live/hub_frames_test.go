package live

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dalil"

	"github.com/gorilla/websocket"
)

// openPolicy lets a test subscriber follow anything, with nothing to snapshot.
type openPolicy struct{}

func (openPolicy) Allow(Topic) (string, string)                  { return "", "" }
func (openPolicy) Audit(context.Context, string) error           { return nil }
func (openPolicy) Snapshot(Topic, int) ([]dalil.LiveState, bool) { return nil, false }

// Frames of every length encoding (7-bit, 16-bit, 64-bit) arrive intact,
// also when batched into one write.
func TestLiveFrameLengths(t *testing.T) {
	h := NewHub(DefaultHubConfig(), nil)
	up := websocket.Upgrader{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		h.Serve(r.Context(), conn, "t1", openPolicy{})
	}))
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Close(ctx)
	}()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Wait until the server side is registered: the subscribe's snapshot.
	if err := c.WriteJSON(map[string]string{"op": "subscribe", "topic": "events"}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	h.mu.RLock()
	var sc *client
	for x := range h.clients {
		sc = x
	}
	h.mu.RUnlock()
	var want [][]byte
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 200_000} {
		m := []byte(`{"type":"test","pad":"` + strings.Repeat("x", n) + `"}`)
		want = append(want, m)
		sc.enqueueControl(m)
	}
	for i, w := range want {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if string(got) != string(w) {
			t.Fatalf("message %d: got %d bytes, want %d", i, len(got), len(w))
		}
	}
}
