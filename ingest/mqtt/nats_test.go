package mqtt

import (
	"net"
	"strconv"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNATS runs a current nats-server in-process with JetStream and its
// MQTT listener on a loopback port, and returns the MQTT URL.
func startNATS(t *testing.T) string {
	t.Helper()
	mqttPort := freePort(t)
	s, err := natsserver.NewServer(&natsserver.Options{
		ServerName: "dalil-test",
		Host:       "127.0.0.1",
		Port:       -1,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		MQTT:       natsserver.MQTTOpts{Host: "127.0.0.1", Port: mqttPort},
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return "tcp://127.0.0.1:" + strconv.Itoa(mqttPort)
}

// NATS's MQTT listener (v3.1.1, QoS 1 backed by JetStream) has no shared
// subscriptions: Dalil subscribes plainly.
func TestNATSMQTTQoS1LocationIsStored(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a nats-server")
	}
	broker := startNATS(t)
	r := newRig()
	cfg, root := testConfig(t, broker)
	cfg.ShareGroup = ""
	r.start(t, cfg)
	pub := publisher(t, broker)
	waitSubscribed(t, r, pub, root)
	before := len(r.sink.Stored())
	tst := time.Now().Add(-time.Minute).Unix()
	publish(t, pub, root+"/alice/phone", location(21.3549, 39.9841, tst))
	ps := r.sink.WaitStored(t, before+1, 10*time.Second)
	checkFix(t, ps[before], "alice/phone", 21.3549, 39.9841, tst)
}
