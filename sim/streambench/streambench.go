// Package streambench drives a running Dalil with the protocols that do not
// come over HTTP — OwnTracks over MQTT through a broker, GT06 trackers on
// persistent TCP connections — and reports what the server's CPU paid per
// fix it stored. It is `dalil bench --protocol mqtt|gt06`.
package streambench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"dalil"
	"dalil/sim/load"
	"dalil/sim/send"
)

// Config describes one run.
type Config struct {
	Protocol string // "mqtt", "gt06" or "teltonika"
	Devices  []load.Device
	Interval time.Duration // each device sends one fix per interval
	Duration time.Duration
	// Target is Dalil's HTTP base URL (its /metrics counts the fixes it
	// stored) and AdminToken reads it.
	Target, AdminToken string
	// Broker and TopicRoot (mqtt): devices publish to
	// <TopicRoot>/<device id>/phone; run the server with --mqtt-identity user.
	Broker, TopicRoot string
	Publishers        int // MQTT client connections the devices share
	// Addr (gt06, teltonika) is the server's port; each device holds its
	// own connection.
	Addr string
	// Records (teltonika) is how many fixes a device buffers into one AVL
	// packet, sent every Records×Interval (trackers are often configured
	// to send several records at once).
	Records   int
	ServerPID int // default: the process listening on Target's port
	Seed      int64
}

// Report is the outcome.
type Report struct {
	Protocol        string        `json:"protocol"`
	Devices         int           `json:"devices"`
	Interval        time.Duration `json:"interval_ns"`
	Duration        time.Duration `json:"duration_ns"`
	Sent            int64         `json:"sent"`
	Acknowledged    int64         `json:"acknowledged"` // mqtt: by the broker; gt06: by Dalil, once durable
	Stored          int64         `json:"stored"`       // dalil_pings_accepted_total growth
	ServerCPU       time.Duration `json:"server_cpu_ns"`
	CPUMicrosPerFix float64       `json:"cpu_us_per_fix"`
	Machine         load.Machine  `json:"machine"`
}

// WriteMarkdown writes the report as a short table.
func (r *Report) WriteMarkdown(w io.Writer) error {
	_, err := fmt.Fprintf(w, "| protocol | devices | interval | duration | sent | acknowledged | stored | server CPU | CPU-µs per fix |\n"+
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|\n| %s | %d | %v | %v | %d | %d | %d | %.2fs | %.1f |\n\n"+
		"Machine: %d CPUs, %s, Go %s.\n",
		r.Protocol, r.Devices, r.Interval, r.Duration, r.Sent, r.Acknowledged, r.Stored, r.ServerCPU.Seconds(), r.CPUMicrosPerFix,
		r.Machine.CPUs, r.Machine.CPUModel, r.Machine.Go)
	return err
}

// Run connects the devices, then sends for Duration and measures.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Devices) == 0 || cfg.Interval <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("streambench: devices, interval and duration are required")
	}
	if _, err := send.CheckTarget(cfg.Target); err != nil {
		return nil, err
	}
	pid := cfg.ServerPID
	if pid == 0 {
		_, port, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(cfg.Target, "http://"), "https://"), ":")
		port, _, _ = strings.Cut(port, "/")
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("streambench: target %q has no port; pass the server pid", cfg.Target)
		}
		if pid, err = load.PIDListening(p); err != nil {
			return nil, err
		}
	}
	var d driver
	var err error
	switch cfg.Protocol {
	case "mqtt":
		d, err = newMQTT(ctx, cfg)
	case "gt06":
		d, err = newGT06(ctx, cfg)
	case "teltonika":
		cfg.Records = max(1, cfg.Records)
		d, err = newTeltonika(ctx, cfg)
	default:
		return nil, fmt.Errorf("streambench: protocol %q: want mqtt, gt06 or teltonika", cfg.Protocol)
	}
	if err != nil {
		return nil, err
	}
	defer d.close()

	name := cfg.Protocol
	if cfg.Protocol == "teltonika" {
		name = fmt.Sprintf("teltonika, %d records per packet", cfg.Records)
	}
	rep := &Report{Protocol: name, Devices: len(cfg.Devices), Interval: cfg.Interval, Duration: cfg.Duration, Machine: load.ThisMachine()}
	stored0, err := storedFixes(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cpu0, err := load.ProcessCPU(pid)
	if err != nil {
		return nil, err
	}
	var sent, acked atomic.Int64
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	n := len(cfg.Devices)
	for i := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(i)))
			var fixes []positionLike
			dev := &cfg.Devices[i]
			// Spread the devices over the interval.
			next := start.Add(cfg.Interval * time.Duration(i) / time.Duration(n))
			for {
				select {
				case <-time.After(time.Until(next)):
				case <-runCtx.Done():
					return
				}
				k := max(1, cfg.Records)
				now := time.Now()
				fixes = fixes[:0]
				for j := k - 1; j >= 0; j-- {
					fixes = append(fixes, load.FixNear(rng, dev, now.Add(-time.Duration(j)*cfg.Interval)))
				}
				sent.Add(int64(k))
				if err := d.send(runCtx, i, fixes); err == nil {
					acked.Add(int64(k))
				} else if runCtx.Err() != nil {
					return
				}
				next = next.Add(cfg.Interval * time.Duration(k))
			}
		})
	}
	wg.Wait()
	// Let the server drain what is in flight: wait until its count stops growing.
	stored := stored0
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		s, err := storedFixes(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if s == stored && s-stored0 >= acked.Load() {
			break
		}
		stored = s
	}
	cpu1, err := load.ProcessCPU(pid)
	if err != nil {
		return nil, err
	}
	rep.Sent, rep.Acknowledged, rep.Stored = sent.Load(), acked.Load(), stored-stored0
	rep.ServerCPU = cpu1 - cpu0
	if rep.Stored > 0 {
		rep.CPUMicrosPerFix = float64(rep.ServerCPU.Microseconds()) / float64(rep.Stored)
	}
	return rep, nil
}

// storedFixes reads dalil_pings_accepted_total of the protocol from /metrics.
func storedFixes(ctx context.Context, cfg Config) (int64, error) {
	label := map[string]string{"mqtt": "owntracks_mqtt", "gt06": "gt06", "teltonika": "teltonika"}[cfg.Protocol]
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(cfg.Target, "/")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	if cfg.AdminToken != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("GET /metrics: %s (pass the admin token)", resp.Status)
	}
	want := `dalil_pings_accepted_total{protocol="` + label + `"} `
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, sc.Err()
}

type driver interface {
	send(ctx context.Context, device int, ps []positionLike) error
	close()
}

type positionLike = dalil.Position

// mqttDriver publishes OwnTracks JSON with QoS 1 over a few connections.
type mqttDriver struct {
	cfg     Config
	clients []paho.Client
}

func newMQTT(ctx context.Context, cfg Config) (driver, error) {
	if cfg.Broker == "" {
		return nil, errors.New("streambench: --mqtt-broker is required")
	}
	k := max(1, cfg.Publishers)
	d := &mqttDriver{cfg: cfg}
	for i := range k {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(cfg.Broker).
			SetClientID(fmt.Sprintf("dalil-bench-%d-%d", time.Now().UnixNano(), i)).
			SetCleanSession(true).SetMaxResumePubInFlight(1000))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			d.close()
			return nil, fmt.Errorf("connect %s: %v", cfg.Broker, tok.Error())
		}
		d.clients = append(d.clients, c)
	}
	return d, nil
}

func (d *mqttDriver) send(ctx context.Context, i int, ps []positionLike) error {
	p := ps[len(ps)-1]
	dev := d.cfg.Devices[i].ID
	tok := d.clients[i%len(d.clients)].Publish(d.cfg.TopicRoot+"/"+dev+"/phone", 1, false, send.OwnTracksJSON(p))
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *mqttDriver) close() {
	for _, c := range d.clients {
		c.Disconnect(100)
	}
}

// gt06Driver holds one logged-in connection per device.
type gt06Driver struct {
	conns []net.Conn
	seq   []uint16
}

func newGT06(ctx context.Context, cfg Config) (driver, error) {
	d := &gt06Driver{conns: make([]net.Conn, len(cfg.Devices)), seq: make([]uint16, len(cfg.Devices))}
	var dialer net.Dialer
	for i, dev := range cfg.Devices {
		if len(dev.ID) != 15 || strings.Trim(dev.ID, "0123456789") != "" {
			d.close()
			return nil, fmt.Errorf("device %q is not an IMEI: GT06 needs trackers registered by 15-digit IMEI (see docs/performance.md)", dev.ID)
		}
		c, err := dialer.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			d.close()
			return nil, err
		}
		d.conns[i] = c
		id := make([]byte, 8)
		s := "0" + dev.ID
		for k := range id {
			id[k] = (s[2*k]-'0')<<4 | (s[2*k+1] - '0')
		}
		if err := d.exchange(c, gt06Frame(0x01, id, 1)); err != nil {
			d.close()
			return nil, fmt.Errorf("login of %s: %w (is it registered as a wristband or luggage tag?)", dev.ID, err)
		}
	}
	return d, nil
}

func (d *gt06Driver) exchange(c net.Conn, frame []byte) error {
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(frame); err != nil {
		return err
	}
	var ack [10]byte
	_, err := io.ReadFull(c, ack[:])
	return err
}

func (d *gt06Driver) send(_ context.Context, i int, ps []positionLike) error {
	p := ps[len(ps)-1]
	d.seq[i]++
	t := p.Time.UTC()
	c := []byte{byte(t.Year() - 2000), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0xC9}
	c = binary.BigEndian.AppendUint32(c, uint32(p.Lat*1800000+0.5))
	c = binary.BigEndian.AppendUint32(c, uint32(p.Lon*1800000+0.5))
	c = append(c, 0, 0x14, 0x00, 0x01, 0xA4, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01)
	return d.exchange(d.conns[i], gt06Frame(0x12, c, d.seq[i]))
}

func (d *gt06Driver) close() {
	for _, c := range d.conns {
		if c != nil {
			c.Close()
		}
	}
}

func gt06Frame(proto byte, content []byte, serial uint16) []byte {
	b := append([]byte{0x78, 0x78, byte(len(content) + 5), proto}, content...)
	b = binary.BigEndian.AppendUint16(b, serial)
	crc := uint16(0xFFFF)
	for _, x := range b[2:] {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	b = binary.BigEndian.AppendUint16(b, ^crc)
	return append(b, 0x0D, 0x0A)
}

// teltonikaDriver holds one connection per device and sends Codec 8 packets.
type teltonikaDriver struct {
	conns []net.Conn
}

func newTeltonika(ctx context.Context, cfg Config) (driver, error) {
	d := &teltonikaDriver{conns: make([]net.Conn, len(cfg.Devices))}
	var dialer net.Dialer
	for i, dev := range cfg.Devices {
		c, err := dialer.DialContext(ctx, "tcp", cfg.Addr)
		if err != nil {
			d.close()
			return nil, err
		}
		d.conns[i] = c
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(dev.ID))), dev.ID...)); err != nil {
			d.close()
			return nil, err
		}
		var ok [1]byte
		if _, err := io.ReadFull(c, ok[:]); err != nil || ok[0] != 1 {
			d.close()
			return nil, fmt.Errorf("IMEI %s refused (%v): register it as a wristband or luggage tag", dev.ID, err)
		}
	}
	return d, nil
}

func (d *teltonikaDriver) send(_ context.Context, i int, ps []positionLike) error {
	data := []byte{0x08, byte(len(ps))}
	for _, p := range ps {
		data = binary.BigEndian.AppendUint64(data, uint64(p.Time.UnixMilli()))
		data = append(data, 0)
		data = binary.BigEndian.AppendUint32(data, uint32(int32(p.Lon*1e7)))
		data = binary.BigEndian.AppendUint32(data, uint32(int32(p.Lat*1e7)))
		data = append(data, 0, 0, 0, 0, 9, 0, 0) // altitude, angle, 9 satellites, speed
		data = append(data, 0, 0, 0, 0, 0, 0)    // no IO elements
	}
	data = append(data, byte(len(ps)))
	pk := binary.BigEndian.AppendUint32(make([]byte, 4), uint32(len(data)))
	pk = append(pk, data...)
	crc := uint16(0)
	for _, x := range data {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	pk = binary.BigEndian.AppendUint32(pk, uint32(crc))
	c := d.conns[i]
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write(pk); err != nil {
		return err
	}
	var n [4]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return err
	}
	if int(binary.BigEndian.Uint32(n[:])) != len(ps) {
		return fmt.Errorf("server took %d of %d records", binary.BigEndian.Uint32(n[:]), len(ps))
	}
	return nil
}

func (d *teltonikaDriver) close() {
	for _, c := range d.conns {
		if c != nil {
			c.Close()
		}
	}
}
