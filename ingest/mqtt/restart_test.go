package mqtt

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ownMosquitto is a Mosquitto the test starts and restarts itself, with
// persistence in a temporary directory (never the system broker).
type ownMosquitto struct {
	t    *testing.T
	conf string
	cmd  *exec.Cmd
	url  string
}

func startOwnMosquitto(t *testing.T) *ownMosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		t.Skip("mosquitto is not installed")
	}
	dir := t.TempDir()
	port := freePort(t)
	m := &ownMosquitto{t: t, conf: filepath.Join(dir, "mosquitto.conf"), url: fmt.Sprintf("tcp://127.0.0.1:%d", port)}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\n", port, dir)
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		// Run as root, mosquitto drops to user "mosquitto", which cannot
		// write its persistence file in the test's private directory.
		conf += "user " + u.Username + "\n"
	}
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.cmd = exec.Command(bin, "-c", m.conf)
	m.start(bin)
	t.Cleanup(m.stop)
	return m
}

func (m *ownMosquitto) start(bin string) {
	m.t.Helper()
	m.cmd = exec.Command(bin, "-c", m.conf)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatal(err)
	}
	c := publisherOrNil(m.url, 10*time.Second)
	if c == nil {
		m.t.Fatal("own mosquitto did not start")
	}
	c.Disconnect(10)
}

// stop ends the broker gracefully (SIGTERM: it writes its persistence file).
func (m *ownMosquitto) stop() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	_ = m.cmd.Wait()
	m.cmd = nil
}

func (m *ownMosquitto) restart() {
	bin := m.cmd.Path
	m.stop()
	m.start(bin)
}

// A broker restart loses nothing the broker acknowledged: a fix published
// while Dalil was away reaches it after the broker restarted, and Dalil
// reconnects on its own after a restart while it runs.
func TestMosquittoRestartLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own mosquitto")
	}
	m := startOwnMosquitto(t)
	r := newRig()
	cfg, root := testConfig(t, m.url)
	stop := r.start(t, cfg)
	pub := publisher(t, m.url)
	waitSubscribed(t, r, pub, root)
	stop() // Dalil away; its persistent session and subscription stay
	pub.Disconnect(10)
	before := len(r.sink.Stored())

	// The phone publishes; the broker acknowledges (PUBACK) and queues it.
	pub = publisher(t, m.url)
	tst := time.Now().Add(-time.Minute).Unix()
	publish(t, pub, root+"/alice/phone", location(21.4001, 39.9001, tst))
	pub.Disconnect(10)
	m.restart()

	r.start(t, cfg)
	ps := r.sink.WaitStored(t, before+1, 20*time.Second)
	checkFix(t, ps[before], "alice/phone", 21.4001, 39.9001, tst)

	// A restart while Dalil is connected: it reconnects and resubscribes.
	m.restart()
	pub = publisher(t, m.url)
	tst2 := tst + 30
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; len(r.sink.Stored()) < before+2; i++ {
		if time.Now().After(deadline) {
			t.Fatal("nothing stored after the broker restarted under a running consumer")
		}
		publish(t, pub, root+"/alice/phone", location(21.4002, 39.9002, tst2+int64(i)))
		time.Sleep(300 * time.Millisecond)
	}
}
