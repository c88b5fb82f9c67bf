package mqtt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"dalil"
	"dalil/ingest"
	"dalil/ingest/internal/ingesttest"
)

// mosquittoURL is the broker of DALIL_TEST_MQTT; the test skips without it.
func mosquittoURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("DALIL_TEST_MQTT")
	if u == "" {
		t.Skip("DALIL_TEST_MQTT is not set (e.g. tcp://127.0.0.1:1883, a Mosquitto); .ci/run sets it")
	}
	return u
}

func randomID(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// rig is a handler with a recording sink and devices "alice/phone" (a phone)
// and "bob" (a user-named device).
type rig struct {
	h    *ingest.Handler
	sink *ingesttest.Sink
	reg  *prometheus.Registry
	devs ingesttest.Devices
}

func newRig() *rig {
	r := &rig{sink: &ingesttest.Sink{}, reg: prometheus.NewRegistry(), devs: ingesttest.Devices{
		"alice/phone": {ID: "alice/phone", Kind: dalil.DevicePhone, Pilgrim: "P1"},
		"bob":         {ID: "bob", Kind: dalil.DevicePhone, Pilgrim: "P2"},
	}}
	r.h = ingest.NewHandler(ingest.DefaultConfig(), r.sink, r.devs, nil, ingest.NewMetrics(r.reg), nil)
	return r
}

// start runs a consumer until the test ends (or stop is called).
func (r *rig) start(t *testing.T, cfg Config) (stop func()) {
	t.Helper()
	c, err := New(cfg, r.h, r.devs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// testConfig subscribes under a topic root of its own, so that tests (and
// other users of a shared broker) do not see each other's messages.
func testConfig(t *testing.T, broker string) (Config, string) {
	root := "dalil-test-" + randomID(t)
	cfg := DefaultConfig()
	cfg.Broker = broker
	cfg.ClientID = root
	cfg.Topic = root + "/+/+"
	t.Cleanup(func() { dropSession(broker, cfg.ClientID) })
	return cfg, root
}

// dropSession ends the persistent session a test left on the broker.
func dropSession(broker, clientID string) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(clientID).SetCleanSession(true))
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(50)
	}
}

// publisher connects as a phone would.
func publisher(t *testing.T, broker string) paho.Client {
	t.Helper()
	c := publisherOrNil(broker, 10*time.Second)
	if c == nil {
		t.Fatalf("publisher cannot connect to %s", broker)
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

// publisherOrNil connects within d, retrying, or returns nil.
func publisherOrNil(broker string, d time.Duration) paho.Client {
	deadline := time.Now().Add(d)
	for {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).
			SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).SetConnectTimeout(2 * time.Second))
		tok := c.Connect()
		if tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
			return c
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// publish sends with QoS 1 and waits for the broker's PUBACK.
func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func location(lat, lon float64, tst int64) string {
	return fmt.Sprintf(`{"_type":"location","lat":%.6f,"lon":%.6f,"tst":%d,"acc":7,"vel":4,"cog":90,"batt":81,"tid":"ph"}`, lat, lon, tst)
}

// waitSubscribed publishes probes until the consumer receives one: the
// subscription is in place from then on.
func waitSubscribed(t *testing.T, r *rig, pub paho.Client, root string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	base := time.Now().Add(-time.Hour).Unix()
	for i := 0; ; i++ {
		n := len(r.sink.Stored())
		publish(t, pub, root+"/alice/phone", location(21.4133, 39.8933+float64(i)*1e-5, base+int64(i)))
		for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
			if len(r.sink.Stored()) > n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the consumer never received a probe: not subscribed")
		}
	}
}

func checkFix(t *testing.T, p dalil.Position, dev string, lat, lon float64, tst int64) {
	t.Helper()
	if p.Device != dev || p.Lat != lat || p.Lon != lon || p.Time.Unix() != tst || p.Accuracy != 7 ||
		p.Battery != 81 || p.Source != dalil.SourceOwnTracksMQTT {
		t.Errorf("stored %+v, want %s at %v,%v t=%d acc 7 batt 81 from owntracks_mqtt", p, dev, lat, lon, tst)
	}
}

func TestMosquittoQoS1LocationIsStored(t *testing.T) {
	broker := mosquittoURL(t)
	r := newRig()
	cfg, root := testConfig(t, broker)
	r.start(t, cfg)
	pub := publisher(t, broker)
	waitSubscribed(t, r, pub, root)
	before := len(r.sink.Stored())

	tst := time.Now().Add(-time.Minute).Unix()
	publish(t, pub, root+"/mallory/phone", location(21.42, 39.88, tst))       // not registered
	publish(t, pub, root+"/alice/phone", `{"_type":"lwt","tst":1}`)           // not a location
	publish(t, pub, root+"/alice/phone", `{"_type":"location","lat":`)        // broken JSON
	publish(t, pub, root+"/alice/phone/event", location(21.42, 39.88, tst))   // not a location topic
	publish(t, pub, root+"/alice/phone", location(21.422487, 39.826206, tst)) // good
	ps := r.sink.WaitStored(t, before+1, 10*time.Second)
	checkFix(t, ps[before], "alice/phone", 21.422487, 39.826206, tst)
	if got := ingesttest.Counter(t, r.reg, "dalil_pings_accepted_total", "protocol", "owntracks_mqtt"); got != float64(before+1) {
		t.Errorf("accepted{owntracks_mqtt} = %v, want %d", got, before+1)
	}
	if got := ingesttest.Counter(t, r.reg, "dalil_pings_rejected_total", "reason", "unknown_device"); got != 1 {
		t.Errorf("rejected{unknown_device} = %v, want 1", got)
	}
	if got := ingesttest.Counter(t, r.reg, "dalil_pings_rejected_total", "reason", "malformed"); got != 1 {
		t.Errorf("rejected{malformed} = %v, want 1", got)
	}
	time.Sleep(200 * time.Millisecond)
	if ps := r.sink.Stored(); len(ps) != before+1 {
		t.Errorf("%d positions stored, want %d: %+v", len(ps), before+1, ps[before:])
	}
}

// A message whose store failed is not acknowledged: the broker delivers it
// again to the next session, which stores it.
func TestMosquittoUnstoredMessageIsDeliveredAgain(t *testing.T) {
	broker := mosquittoURL(t)
	r := newRig()
	cfg, root := testConfig(t, broker)
	stop := r.start(t, cfg)
	pub := publisher(t, broker)
	waitSubscribed(t, r, pub, root)
	before := len(r.sink.Stored())

	r.sink.Fail(fmt.Errorf("disk on fire: %w", dalil.ErrUnavailable))
	attempts := r.sink.Attempts()
	tst := time.Now().Add(-time.Minute).Unix()
	publish(t, pub, root+"/alice/phone", location(21.41, 39.87, tst))
	for deadline := time.Now().Add(10 * time.Second); r.sink.Attempts() < attempts+2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the consumer never tried to store the message")
		}
	}
	stop() // Dalil goes down with the message unacknowledged

	r.sink.Fail(nil)
	r2 := &rig{h: r.h, sink: r.sink, reg: r.reg, devs: r.devs}
	r2.start(t, cfg) // same client id: the broker resumes the session
	ps := r.sink.WaitStored(t, before+1, 15*time.Second)
	checkFix(t, ps[before], "alice/phone", 21.41, 39.87, tst)
}

// Identity "user": the MQTT user name alone names the device.
func TestMosquittoIdentityUser(t *testing.T) {
	broker := mosquittoURL(t)
	r := newRig()
	cfg, root := testConfig(t, broker)
	cfg.Identity = IdentityUser
	r.start(t, cfg)
	pub := publisher(t, broker)
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; len(r.sink.Stored()) == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("nothing stored for bob")
		}
		publish(t, pub, root+"/bob/anything", location(21.4, 39.9+float64(i)*1e-5, time.Now().Add(-time.Hour).Unix()+int64(i)))
		time.Sleep(200 * time.Millisecond)
	}
	if p := r.sink.Stored()[0]; p.Device != "bob" {
		t.Errorf("device %q, want bob", p.Device)
	}
}
