package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"dalil"
	"dalil/geo"
)

// wsMsg is any live-feed message.
type wsMsg struct {
	Type      string    `json:"type"`
	Topic     string    `json:"topic"`
	Error     string    `json:"error"`
	Positions []wsMsg   `json:"positions"`
	Truncated bool      `json:"truncated"`
	Pilgrim   string    `json:"pilgrim"`
	Device    string    `json:"device"`
	Lat       float64   `json:"lat"`
	Lon       float64   `json:"lon"`
	TS        time.Time `json:"ts"`
	Camp      string    `json:"camp"`
	Tent      string    `json:"tent"`
	Cell      string    `json:"cell"`
	Kind      string    `json:"kind"`
	Case      string    `json:"case"`
	Group     string    `json:"group"`
}

func (f *fixture) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(f.ts.URL, "http") + "/v1/live" + query
}

// dial opens the live feed with the named token in the header.
func (f *fixture) dial(token string) *websocket.Conn {
	f.t.Helper()
	h := http.Header{}
	h.Set("Authorization", "Bearer "+f.tokens[token])
	c, resp, err := websocket.DefaultDialer.Dial(f.wsURL(""), h)
	if err != nil {
		f.t.Fatalf("dial as %s: %v (%v)", token, err, resp)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

func send(t testing.TB, c *websocket.Conn, op, topic string) {
	t.Helper()
	if err := c.WriteJSON(map[string]string{"op": op, "topic": topic}); err != nil {
		t.Fatal(err)
	}
}

func recv(t testing.TB, c *websocket.Conn) wsMsg {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m wsMsg
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("bad message %s: %v", data, err)
	}
	return m
}

// recvPosition reads past events to the next position.
func recvPosition(t testing.TB, c *websocket.Conn) wsMsg {
	t.Helper()
	for {
		if m := recv(t, c); m.Type != "event" {
			return m
		}
	}
}

func TestLiveSnapshotThenUpdates(t *testing.T) {
	f := newFixture(t)
	f.place("a1", centroid(f.tentA))

	c := f.dial("operator")
	send(t, c, "subscribe", "pilgrim:a1")
	m := recv(t, c)
	if m.Type != "snapshot" || m.Topic != "pilgrim:a1" || len(m.Positions) != 1 {
		t.Fatalf("first message = %+v, want a snapshot with a1", m)
	}
	if p := m.Positions[0]; p.Pilgrim != "a1" || p.Device != "ph-a1" || p.Camp != f.tentA.Camp || p.Cell == "" {
		t.Errorf("snapshot position = %+v", p)
	}

	b := centroid(f.tentB)
	f.place("a1", b)
	m = recvPosition(t, c)
	if m.Type != "position" || m.Pilgrim != "a1" || m.Lat != roundTo(b.Lat, 7) || m.TS.IsZero() {
		t.Errorf("update = %+v, want a1 at %v", m, b)
	}

	// A guide follows their group: snapshot of members, then members' moves.
	g := f.dial("guideA")
	send(t, g, "subscribe", "group:gA")
	m = recv(t, g)
	if m.Type != "snapshot" || len(m.Positions) != 1 || m.Positions[0].Pilgrim != "a1" {
		t.Fatalf("group snapshot = %+v", m)
	}
	f.place("a2", centroid(f.tentA))
	m = recvPosition(t, g)
	if m.Type != "position" || m.Pilgrim != "a2" || m.Group != "gA" {
		t.Errorf("group update = %+v", m)
	}
	send(t, g, "unsubscribe", "group:gA")
	if m = recvPosition(t, g); m.Type != "unsubscribed" {
		t.Errorf("unsubscribe answer = %+v", m)
	}
}

func roundTo(v float64, digits int) float64 {
	var out float64
	fmt.Sscanf(fmt.Sprintf("%.*f", digits, v), "%g", &out)
	return out
}

func TestLiveRefusesWhatTheTokenMayNotSee(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct{ token, topic, want string }{
		{"pilgrimA", "pilgrim:b1", "may not follow pilgrim"},
		{"pilgrimA", "group:gA", "may not follow group"},
		{"pilgrimA", "events", "may not follow events"},
		{"pilgrimA", "camp:" + f.tentA.Camp, "may not follow camp"},
		{"guideA", "group:gB", "may not follow group"},
		{"guideA", "pilgrim:b1", "may not follow pilgrim"},
		{"guideA", "bbox:39.8,21.3,40.0,21.5", "may not follow bbox"},
		{"guideA", "tent:" + f.tentA.ID, "may not follow tent"},
		{"guideA", "case:c1", "may not follow case"},
		{"operator", "pilgrim:nobody", "no pilgrim"},
		{"operator", "camp:nowhere", "no camp"},
		{"operator", "bbox:1,2,3", "bbox wants"},
		{"operator", "bbox:40,21,39,22", "min greater than max"},
		{"operator", "planet:earth", "unknown kind"},
	} {
		ws := f.dial(c.token)
		send(t, ws, "subscribe", c.topic)
		m := recv(t, ws)
		if m.Type != "error" || !strings.Contains(m.Error, c.want) {
			t.Errorf("%s subscribing %s: %+v, want error containing %q", c.token, c.topic, m, c.want)
		}
	}
	// Unknown op and garbage get errors, and the connection stays usable.
	ws := f.dial("pilgrimA")
	send(t, ws, "dance", "pilgrim:a1")
	if m := recv(t, ws); m.Type != "error" {
		t.Errorf("unknown op: %+v", m)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("{"))
	if m := recv(t, ws); m.Type != "error" {
		t.Errorf("garbage: %+v", m)
	}
	send(t, ws, "subscribe", "pilgrim:a1")
	if m := recv(t, ws); m.Type != "snapshot" {
		t.Errorf("own pilgrim after errors: %+v", m)
	}
}

func TestLiveConnectAuth(t *testing.T) {
	f := newFixture(t)
	_, resp, err := websocket.DefaultDialer.Dial(f.wsURL(""), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %v %v", err, resp)
	}
	_, resp, err = websocket.DefaultDialer.Dial(f.wsURL("?token="+f.tokens["device"]), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("device token: %v %v", err, resp)
	}
	// Token in the query, browser-style, from the same host: allowed.
	h := http.Header{}
	h.Set("Origin", f.ts.URL)
	c, _, err := websocket.DefaultDialer.Dial(f.wsURL("?token="+f.tokens["pilgrimA"]), h)
	if err != nil {
		t.Fatalf("same-origin query token: %v", err)
	}
	c.Close()
	// Another site's page using a visitor's token: refused.
	h.Set("Origin", "https://evil.example")
	_, resp, err = websocket.DefaultDialer.Dial(f.wsURL("?token="+f.tokens["pilgrimA"]), h)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %v %v", err, resp)
	}
	// Unless allow-listed.
	f2 := newFixture(t, func(c *Config, _ *Deps) { c.AllowedOrigins = []string{"https://console.example"} })
	h.Set("Origin", "https://console.example")
	c, _, err = websocket.DefaultDialer.Dial(f2.wsURL("?token="+f2.tokens["pilgrimA"]), h)
	if err != nil {
		t.Fatalf("allow-listed origin: %v", err)
	}
	c.Close()
}

func TestLiveBBoxCampAndEvents(t *testing.T) {
	f := newFixture(t)
	a := centroid(f.tentA)
	box := fmt.Sprintf("bbox:%f,%f,%f,%f", a.Lon-0.0005, a.Lat-0.0005, a.Lon+0.0005, a.Lat+0.0005)
	c := f.dial("operator")
	send(t, c, "subscribe", box)
	if m := recv(t, c); m.Type != "snapshot" || len(m.Positions) != 0 {
		t.Fatalf("bbox snapshot = %+v", m)
	}
	f.place("b1", centroid(f.tentB)) // outside the box: not sent
	f.place("a3", a)                 // inside
	if m := recvPosition(t, c); m.Type != "position" || m.Pilgrim != "a3" {
		t.Errorf("bbox update = %+v, want a3 only", m)
	}

	send(t, c, "subscribe", "camp:"+f.tentB.Camp)
	if m := recv(t, c); m.Type != "snapshot" || len(m.Positions) != 1 || m.Positions[0].Pilgrim != "b1" {
		t.Errorf("camp snapshot = %+v", m)
	}

	// Events: a guide's events subscription carries only their group's.
	g := f.dial("guideA")
	send(t, g, "subscribe", "events")
	if m := recv(t, g); m.Type != "snapshot" {
		t.Fatalf("events subscribe: %+v", m)
	}
	send(t, c, "subscribe", "case:c-42")
	if m := recv(t, c); m.Type != "snapshot" {
		t.Fatalf("case subscribe: %+v", m)
	}
	f.srv.Hub().Publish(dalil.Update{Event: &dalil.Event{Kind: dalil.EventSeparation, Time: time.Now(), Pilgrim: "b2"}})
	f.srv.Hub().PublishCase(dalil.Event{Time: time.Now(), Pilgrim: "a2", Case: "c-42", Detail: "located"})
	m := recv(t, g)
	if m.Type != "event" || m.Pilgrim != "a2" || m.Case != "c-42" || m.Kind != "case" {
		t.Errorf("guide A got %+v, want only the case event of a2", m)
	}
	m = recv(t, c)
	if m.Type != "event" || m.Case != "c-42" {
		t.Errorf("case subscriber got %+v", m)
	}
}

// startReadingLater returns a connection subscribed to topic whose messages
// are not read until the test reads them: a slow client.
func (f *fixture) slowClient(topic string) *websocket.Conn {
	c := f.dial("operator")
	send(f.t, c, "subscribe", topic)
	if m := recv(f.t, c); m.Type != "snapshot" {
		f.t.Fatalf("subscribe %s: %+v", topic, m)
	}
	return c
}

func liveState(pid string, p geo.Point, ts time.Time) *dalil.LiveState {
	return &dalil.LiveState{
		Device: "ph-" + pid, Pilgrim: pid, Group: "gA", Kind: dalil.DevicePhone,
		Position: dalil.Position{Device: "ph-" + pid, Time: ts, Lat: p.Lat, Lon: p.Lon, Accuracy: 5, Battery: dalil.Unknown},
	}
}

// A client that does not read gets the newest position per pilgrim, while
// Publish keeps going: it never waits for the socket.
func TestLiveCoalescesForSlowClient(t *testing.T) {
	f := newFixture(t)
	c := f.slowClient("group:gA")
	pids := []string{"a1", "a2", "a3"}
	base := time.Now().Truncate(time.Second)
	const n = 20000
	a := centroid(f.tentA)
	for i := range n {
		pid := pids[i%len(pids)]
		f.srv.Hub().Publish(dalil.Update{State: liveState(pid, a, base.Add(time.Duration(i)*time.Millisecond))})
	}
	st := f.srv.Hub().Stats()
	if st.Coalesced == 0 {
		t.Errorf("stats %+v: nothing coalesced for a client that did not read", st)
	}
	// Read until the newest position of every pilgrim arrived.
	newest := map[string]time.Time{}
	for i := n - len(pids); i < n; i++ {
		newest[pids[i%len(pids)]] = base.Add(time.Duration(i) * time.Millisecond)
	}
	got := map[string]time.Time{}
	received := 0
	for len(got) < len(pids) {
		m := recv(t, c)
		received++
		if m.Type != "position" {
			t.Fatalf("unexpected %+v", m)
		}
		if m.TS.Equal(newest[m.Pilgrim]) {
			got[m.Pilgrim] = m.TS
		}
	}
	if received >= n {
		t.Errorf("received %d of %d positions: not coalesced", received, n)
	}
	t.Logf("published %d, received %d, coalesced %d", n, received, f.srv.Hub().Stats().Coalesced)
}

// A client that stays behind beyond its queue is disconnected with a reason.
func TestLiveDropsClientThatStaysBehind(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.Live.QueueSize = 4 })
	c := f.slowClient("bbox:39.0,21.0,40.5,22.0")
	a := centroid(f.tentA)
	for i := range 20000 {
		f.srv.Hub().Publish(dalil.Update{State: liveState(fmt.Sprintf("p%05d", i), a, time.Now())})
	}
	if f.srv.Hub().Stats().Dropped != 1 {
		t.Fatalf("stats %+v, want one client dropped", f.srv.Hub().Stats())
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !asCloseError(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "too slow") {
			t.Errorf("close = %v, want 1008 too slow", err)
		}
		break
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	e, ok := err.(*websocket.CloseError)
	*ce = e
	return ok
}

func TestLiveRevocationDisconnects(t *testing.T) {
	f := newFixture(t)
	secret, info, err := f.srv.MintToken(t.Context(), RoleOperator, "")
	if err != nil {
		t.Fatal(err)
	}
	f.tokens["victim"] = secret
	c := f.dial("victim")
	send(t, c, "subscribe", "events")
	recv(t, c)
	if code, _ := f.do("DELETE", "/v1/tokens/"+info.ID, "admin", ""); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !asCloseError(err, &ce) || !strings.Contains(ce.Text, "revoked") {
		t.Errorf("after revocation: %v, want a close with reason", err)
	}
	if d := f.srv.Hub().Stats().Dropped; d != 0 {
		t.Errorf("a revocation counted as %d slow clients", d)
	}
}

// Serve's shutdown closes websockets with "going away" and returns.
func TestServeGracefulShutdown(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln, nil) }()
	url := "http://" + ln.Addr().String()
	waitUp(t, url+"/healthz")
	h := http.Header{}
	h.Set("Authorization", "Bearer "+f.tokens["operator"])
	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/v1/live", h)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !asCloseError(err, &ce) || ce.Code != websocket.CloseGoingAway {
		t.Errorf("websocket at shutdown: %v, want 1001", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("still accepting after shutdown")
	}
}

func waitUp(t *testing.T, url string) {
	t.Helper()
	for range 200 {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never came up", url)
}

// Pings from the client are answered with pongs carrying the same data.
func TestLivePongs(t *testing.T) {
	f := newFixture(t)
	c := f.dial("operator")
	got := make(chan string, 1)
	c.SetPongHandler(func(s string) error { got <- s; return nil })
	if err := c.WriteControl(websocket.PingMessage, []byte("hello"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { _, _, _ = c.ReadMessage() }() // pongs are handled inside reads
	select {
	case s := <-got:
		if s != "hello" {
			t.Errorf("pong %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

// The server pings idle clients and drops one that does not answer.
func TestLivePingsAndPongWait(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) {
		c.Live.PingInterval = 50 * time.Millisecond
		c.Live.WriteTimeout = 300 * time.Millisecond
	})
	c := f.dial("operator")
	pinged := make(chan struct{}, 1)
	c.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-time.After(5 * time.Second):
		t.Fatal("no ping from the server")
	}

	// A client that answers no ping is dropped after two intervals.
	f.slowClient("group:gA")
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.Hub().Stats().Clients > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.srv.Hub().Stats().Clients; n != 1 {
		t.Errorf("%d clients, want the silent one dropped", n)
	}
}

func TestLiveWriteTimeoutDropsStuckClient(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.Live.WriteTimeout = 300 * time.Millisecond })
	f.slowClient("group:gA")         // never reads again
	reader := f.slowClient("events") // registered once its snapshot arrived
	go func() {
		for {
			if _, _, err := reader.ReadMessage(); err != nil {
				return
			}
		}
	}()
	a := centroid(f.tentA)
	deadline := time.Now().Add(20 * time.Second)
	for f.srv.Hub().Stats().Clients > 1 && time.Now().Before(deadline) {
		for i := range 2000 { // until the stuck client's socket is full
			f.srv.Hub().Publish(dalil.Update{State: liveState([]string{"a1", "a2", "a3"}[i%3], a, time.Now())})
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := f.srv.Hub().Stats(); st.Clients != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v, want the stuck client dropped and the reading one kept", st)
	}
}

// Publishing from several goroutines while clients come, subscribe,
// unsubscribe and go is race-free (run with -race) and loses no client.
func TestLiveConcurrentPublishAndSubscribe(t *testing.T) {
	f := newFixture(t)
	a := centroid(f.tentA)
	stop := make(chan struct{})
	done := make(chan struct{})
	for g := range 3 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pid := []string{"a1", "a2", "a3", "b1"}[(i+g)%4]
				f.srv.Hub().Publish(dalil.Update{State: liveState(pid, a, time.Now())})
				if i%100 == 0 {
					f.srv.Hub().Publish(dalil.Update{Event: &dalil.Event{Kind: dalil.EventCampExit, Pilgrim: pid, Time: time.Now()}})
				}
			}
		}()
	}
	for range 10 {
		c := f.dial("operator")
		for _, topic := range []string{"group:gA", "events", fmt.Sprintf("bbox:%f,%f,%f,%f", a.Lon-0.01, a.Lat-0.01, a.Lon+0.01, a.Lat+0.01), "pilgrim:a1"} {
			send(t, c, "subscribe", topic)
		}
		snapshots := 0
		for snapshots < 4 {
			if recv(t, c).Type == "snapshot" {
				snapshots++
			}
		}
		send(t, c, "unsubscribe", "events")
		c.Close()
	}
	close(stop)
	for range 3 {
		<-done
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.Hub().Stats().Subscriptions != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := f.srv.Hub().Stats(); st.Subscriptions != 0 || st.Clients != 0 {
		t.Errorf("after every client left: %+v", st)
	}
}
