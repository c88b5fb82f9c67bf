package api

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"dalil"
	"dalil/ingest/mqtt"
)

// runInBackground runs fn until the test ends.
func runInBackground(t *testing.T, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { fn(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// trailHas reports whether pilgrim pid's trail holds a point at lon,lat.
func (f *fixture) trailHas(pid string, lat, lon float64) bool {
	f.t.Helper()
	code, body := f.do("GET", "/v1/pilgrims/"+pid+"/trail", "operator", "")
	if code != 200 {
		f.t.Fatalf("trail of %s: %d %s", pid, code, body)
	}
	return strings.Contains(string(body), fmt.Sprintf("[%g,%g", lon, lat))
}

// An OwnTracks phone publishing with QoS 1 to Mosquitto moves its pilgrim:
// the fix is in the trail and on the websocket.
func TestOwnTracksOverMQTTReachesTrailAndLiveFeed(t *testing.T) {
	broker := os.Getenv("DALIL_TEST_MQTT")
	if broker == "" {
		t.Skip("DALIL_TEST_MQTT is not set (e.g. tcp://127.0.0.1:1883, a Mosquitto); .ci/run sets it")
	}
	ownTracksOverMQTT(t, broker, "dalil")
}

// The same through NATS's MQTT listener (a current nats-server in-process,
// JetStream on), which has no shared subscriptions.
func TestOwnTracksOverNATSMQTTReachesTrailAndLiveFeed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats-server")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ns, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "dalil-api-test", Host: "127.0.0.1", Port: -1, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
		MQTT: natsserver.MQTTOpts{Host: "127.0.0.1", Port: port},
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	ownTracksOverMQTT(t, fmt.Sprintf("tcp://127.0.0.1:%d", port), "")
}

func ownTracksOverMQTT(t *testing.T, broker, shareGroup string) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.srv.registry.PutDevice(ctx, f.st, dalil.Device{ID: "fatima/phone", Kind: dalil.DevicePhone, Pilgrim: "a1"}); err != nil {
		t.Fatal(err)
	}
	root := fmt.Sprintf("dalil-api-test-%d", time.Now().UnixNano())
	cfg := mqtt.DefaultConfig()
	cfg.Broker, cfg.ClientID, cfg.Topic, cfg.ShareGroup = broker, root, root+"/+/+", shareGroup
	c, err := mqtt.New(cfg, f.srv.Ingest(), f.srv.Ingest().Devices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	runInBackground(t, func(ctx context.Context) { _ = c.Run(ctx) })
	t.Cleanup(func() { // end the persistent session on the shared broker
		cl := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(root).SetCleanSession(true))
		if tok := cl.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
			cl.Disconnect(50)
		}
	})

	ws := f.dial("operator")
	send(t, ws, "subscribe", "pilgrim:a1")
	if m := recv(t, ws); m.Type != "snapshot" {
		t.Fatalf("first message %+v, want a snapshot", m)
	}

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(root + "-phone"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer pub.Disconnect(50)
	p := centroid(f.tentB)
	lat, lon := roundTo(p.Lat, 6), roundTo(p.Lon, 6)
	// Publish until the consumer's subscription is in place (each message a
	// new fix a second later, as a phone would send).
	start := time.Now().Add(-time.Minute)
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		body := fmt.Sprintf(`{"_type":"location","lat":%v,"lon":%v,"tst":%d,"acc":6,"batt":77,"tid":"fa"}`, lat, lon, start.Unix()+int64(i))
		if tok := pub.Publish(root+"/fatima/phone", 1, false, body); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		if f.trailHas("a1", lat, lon) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the MQTT fix never reached the trail")
		}
		time.Sleep(200 * time.Millisecond)
	}
	m := recvPosition(t, ws)
	if m.Type != "position" || m.Pilgrim != "a1" || m.Device != "fatima/phone" || m.Lat != lat || m.Camp != f.tentB.Camp {
		t.Errorf("live update %+v, want a1's fatima/phone at %v in camp %s", m, lat, f.tentB.Camp)
	}
}
