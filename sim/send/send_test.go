package send

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/ingest"
)

// sink records what ingest accepted.
type sink struct {
	mu  sync.Mutex
	got []dalil.Position
}

func (s *sink) Accept(_ context.Context, ps []dalil.Position) error {
	s.mu.Lock()
	s.got = append(s.got, ps...)
	s.mu.Unlock()
	return nil
}

// devices knows every id that starts with "dev" (and holds no "/").
type devices struct{}

func (devices) Device(id string) (dalil.Device, bool) {
	if !strings.HasPrefix(id, "dev") || strings.Contains(id, "/") {
		return dalil.Device{}, false
	}
	return dalil.Device{ID: id, Kind: dalil.DevicePhone, Pilgrim: "P" + id}, true
}

// tokens stands in for the api's token store and POST /v1/tokens: the token
// of device d is "tok-" + d, minted only with the admin token.
type tokens struct {
	mu     sync.Mutex
	minted []string
}

func (*tokens) DeviceForToken(_ context.Context, tok string) (string, error) {
	if d, ok := strings.CutPrefix(tok, "tok-"); ok {
		return d, nil
	}
	return "", errors.New("invalid token")
}

func (t *tokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer admin-secret" {
		http.Error(w, `{"error":"admin only"}`, http.StatusForbidden)
		return
	}
	var req struct{ Role, Subject string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Role != "device" {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	t.mu.Lock()
	t.minted = append(t.minted, req.Subject)
	t.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]string{"token": "tok-" + req.Subject, "role": "device"})
}

// server is the real ingest handler behind an httptest server, with its
// default configuration: every device must prove itself.
func server(t *testing.T) (*httptest.Server, *sink, *tokens) {
	return serverWith(t, ingest.DefaultConfig())
}

func serverWith(t *testing.T, cfg ingest.Config) (*httptest.Server, *sink, *tokens) {
	t.Helper()
	s, tk := &sink{}, &tokens{}
	mux := http.NewServeMux()
	ingest.NewHandler(cfg, s, devices{}, tk, nil, nil).Register(mux)
	mux.Handle("POST /v1/tokens", tk)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s, tk
}

// pings are fixes such as the simulator makes, one per device, with every
// optional field, some, or none.
func pings(n int) []dalil.Position {
	now := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Minute)
	var ps []dalil.Position
	for i := range n {
		p := dalil.Position{
			Device: "dev" + string(rune('a'+i%26)) + strings.Repeat("x", i/26),
			Time:   now.Add(time.Duration(i) * 1700 * time.Millisecond),
			Lat:    21.4133 + float64(i)*1e-5, Lon: 39.8933 - float64(i)*1e-5,
			Accuracy: 8.5, Speed: 1.25, Heading: 270.5, Altitude: 380.2, Battery: 76.5,
		}
		if i%3 == 1 { // a wristband: no speed, heading or altitude
			p.Speed, p.Heading, p.Altitude = dalil.Unknown, dalil.Unknown, dalil.Unknown
		}
		if i%5 == 4 {
			p.Battery = dalil.Unknown
		}
		ps = append(ps, p)
	}
	return ps
}

// TestIngestDecodesWhatWeSend sends pings over every protocol (and every
// OsmAnd request style) to the real ingest handler and checks it decoded
// exactly what was sent, within each protocol's precision.
func TestIngestDecodesWhatWeSend(t *testing.T) {
	for _, proto := range Protocols {
		t.Run(string(proto), func(t *testing.T) {
			srv, got, tk := server(t)
			snd, err := New(Config{Target: srv.URL, Protocol: proto, AdminToken: "admin-secret", Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			sent := pings(60)
			if err := snd.Send(context.Background(), sent); err != nil {
				t.Fatalf("Send: %v", err)
			}
			st := snd.Stats()
			if st.Accepted != int64(len(sent)) || st.Rejected != 0 || st.Failed != 0 {
				t.Fatalf("stats %+v, want all %d accepted (reasons %v)", st, len(sent), st.Reasons)
			}
			got.mu.Lock()
			defer got.mu.Unlock()
			if len(got.got) != len(sent) {
				t.Fatalf("ingest stored %d pings, sent %d", len(got.got), len(sent))
			}
			for _, want := range sent {
				i := slices.IndexFunc(got.got, func(p dalil.Position) bool { return p.Device == want.Device })
				if i < 0 {
					t.Fatalf("%s: not stored", want.Device)
				}
				same(t, proto.For(want.Device), want, got.got[i])
			}
			// Every device proves itself with its own token, whatever its protocol.
			if len(tk.minted) != len(sent) {
				t.Fatalf("minted %d device tokens for %d devices", len(tk.minted), len(sent))
			}
		})
	}
}

// same compares a sent and a decoded ping within the protocol's precision.
func same(t *testing.T, proto Protocol, want, got dalil.Position) {
	t.Helper()
	timeStep := time.Millisecond // native and Traccar JSON carry ms
	if proto == OwnTracks || (proto == OsmAnd && hash(want.Device+"/osmand")%3 != 2) {
		timeStep = time.Second
	}
	if !got.Time.Equal(want.Time.Truncate(timeStep)) {
		t.Errorf("%s over %s: time %v, sent %v", want.Device, proto, got.Time, want.Time)
	}
	if math.Abs(got.Lat-want.Lat) > 1e-7 || math.Abs(got.Lon-want.Lon) > 1e-7 {
		t.Errorf("%s over %s: %v,%v, sent %v,%v", want.Device, proto, got.Lat, got.Lon, want.Lat, want.Lon)
	}
	tol := float32(0.06)
	if proto == OwnTracks {
		tol = 0.51 // whole metres, km/h, degrees, percent
	}
	check := func(name string, w, g float32, tol float32) {
		if w == dalil.Unknown {
			if g != dalil.Unknown && g != 0 {
				t.Errorf("%s over %s: %s %v, sent none", want.Device, proto, name, g)
			}
			return
		}
		if math.Abs(float64(g-w)) > float64(tol) {
			t.Errorf("%s over %s: %s %v, sent %v", want.Device, proto, name, g, w)
		}
	}
	check("accuracy", want.Accuracy, got.Accuracy, tol)
	speedTol := tol
	if proto == OwnTracks {
		speedTol = 0.5 / 3.6 * 1.01
	}
	check("speed", want.Speed, got.Speed, speedTol)
	check("heading", want.Heading, got.Heading, tol)
	check("altitude", want.Altitude, got.Altitude, tol)
	battTol := tol
	if proto == OsmAnd && hash(want.Device+"/osmand")%3 == 2 {
		battTol = 0.51 // Traccar JSON carries level 0..1 with two decimals
	}
	check("battery", want.Battery, got.Battery, battTol)
}

func TestSendReportsRejectionsAndRefusals(t *testing.T) {
	// Without the admin token OsmAnd goes out bare: a secure server
	// refuses it with a clear error…
	srv, _, _ := server(t)
	bare, _ := New(Config{Target: srv.URL, Protocol: OsmAnd})
	if err := bare.Send(context.Background(), pings(1)); err == nil || !strings.Contains(err.Error(), "did not prove itself") {
		t.Fatalf("bare OsmAnd to a secure server: %v, want the refusal", err)
	}
	// …and a server run with --open-ingest takes it.
	open := ingest.DefaultConfig()
	open.OpenIngest = true
	srv, _, _ = serverWith(t, open)
	snd, err := New(Config{Target: srv.URL, Protocol: OsmAnd})
	if err != nil {
		t.Fatal(err)
	}
	ps := pings(2)
	ps[0].Device = "unknown-1" // not registered: 400, counted, not an error
	ps[1].Lat = 91             // out of range
	if err := snd.Send(context.Background(), ps); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if st := snd.Stats(); st.Rejected != 2 || st.Accepted != 0 || len(st.Reasons) == 0 {
		t.Fatalf("stats %+v, want 2 rejected with reasons", st)
	}

	// A native sender without the admin token cannot mint: a clear error.
	nat, _ := New(Config{Target: srv.URL, Protocol: Native})
	err = nat.Send(context.Background(), pings(1))
	if err == nil || !strings.Contains(err.Error(), "admin token") {
		t.Fatalf("Send without admin token = %v", err)
	}

	// A server that is down is transient: the simulator retries.
	srv.Close()
	down, _ := New(Config{Target: srv.URL, Protocol: OwnTracks})
	if err := down.Send(context.Background(), pings(1)); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("Send to a closed server = %v, want ErrUnavailable", err)
	}
}

func TestServiceUnavailableIsTransient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	snd, _ := New(Config{Target: srv.URL, Protocol: OsmAnd})
	if err := snd.Send(context.Background(), pings(3)); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("Send = %v, want ErrUnavailable", err)
	}
}

func TestOnlyLoopbackTargets(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:9000", "https://127.0.0.2", "http://LOCALHOST"} {
		if _, err := CheckTarget(ok); err != nil {
			t.Errorf("CheckTarget(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080", "http://example.com", "http://8.8.8.8", "http://127.0.0.1.nip.io", "http://[2001:db8::1]:80", "http://0.0.0.0:8080", "http://192.168.1.5"} {
		_, err := CheckTarget(bad)
		if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("CheckTarget(%q) = %v, want ErrNotLoopback", bad, err)
		}
	}
	for _, bad := range []string{"ftp://127.0.0.1", "127.0.0.1:8080", "http://", "://x"} {
		if _, err := CheckTarget(bad); err == nil {
			t.Errorf("CheckTarget(%q) accepted", bad)
		}
	}
	if _, err := New(Config{Target: "http://93.184.216.34"}); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("New with a remote target = %v", err)
	}
}

func TestEncoders(t *testing.T) {
	p := dalil.Position{Device: "dev a&b", Time: time.Unix(1717660800, 250e6), Lat: 21.4216, Lon: 39.8722,
		Accuracy: 9, Speed: 1, Heading: 90, Altitude: dalil.Unknown, Battery: 55}
	if q, want := OsmAndQuery(p), "id=dev%20a%26b&timestamp=1717660800&lat=21.4216000&lon=39.8722000&speed=1.94&bearing=90.0&accuracy=9.0&batt=55.0"; q != want {
		t.Errorf("OsmAndQuery = %s\nwant %s", q, want)
	}
	var ot map[string]any
	if err := json.Unmarshal(OwnTracksJSON(p), &ot); err != nil {
		t.Fatal(err)
	}
	if ot["_type"] != "location" || ot["tst"] != float64(1717660800) || ot["vel"] != float64(4) || ot["batt"] != float64(55) {
		t.Errorf("OwnTracksJSON = %v", ot)
	}
	if _, has := ot["alt"]; has {
		t.Error("OwnTracks sent an unknown altitude; the app omits zero values")
	}
	line := string(AppendNative(nil, p))
	if want := `{"device":"dev a&b","ts":"2024-06-06T08:00:00.250Z","lat":21.4216000,"lon":39.8722000,"acc":9.0,"speed":1.00,"heading":90.0,"batt":55.0}` + "\n"; line != want {
		t.Errorf("AppendNative = %s want %s", line, want)
	}
	var tj map[string]any
	if err := json.Unmarshal(OsmAndJSON(p), &tj); err != nil {
		t.Fatal(err)
	}
	loc := tj["location"].(map[string]any)
	if tj["device_id"] != "dev a&b" || loc["timestamp"] != "2024-06-06T08:00:00.250Z" || loc["battery"].(map[string]any)["level"] != 0.55 {
		t.Errorf("OsmAndJSON = %v", tj)
	}
	if Mixed.For("x") == Mixed || Native.For("x") != Native {
		t.Error("Protocol.For")
	}
	if _, err := ParseProtocol("mqtt"); err == nil {
		t.Error("ParseProtocol accepted mqtt")
	}
}
