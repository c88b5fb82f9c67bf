package tracker

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"dalil"
	"dalil/ingest"
	"dalil/ingest/internal/ingesttest"
)

// Registered IMEIs: a wristband, a luggage tag, the IMEIs of the protocols'
// documented samples, and a phone (not a tracker: refused like an unknown).
const (
	imeiBand  = "359339075016807"
	imeiTag   = "352094080001234"
	imeiGT06  = "123456789012345" // GT06 document's login sample
	imeiTelto = "356307042441013" // Teltonika wiki's IMEI sample
	imeiH02   = "865205030330012"
	imeiPhone = "490154203237518"
)

type rig struct {
	t    *testing.T
	sink *ingesttest.Sink
	reg  *prometheus.Registry
	srv  *Server
	addr string
}

// newRig serves protocol p on a loopback port. mutate adjusts the ingest
// config (the documented samples are years old: their tests turn MaxAge off).
func newRig(t *testing.T, p string, cfg Config, mutate ...func(*ingest.Config)) *rig {
	t.Helper()
	r := &rig{t: t, sink: &ingesttest.Sink{}, reg: prometheus.NewRegistry()}
	devs := ingesttest.Devices{}
	for _, id := range []string{imeiBand, imeiGT06, imeiTelto, imeiH02} {
		devs[id] = dalil.Device{ID: id, Kind: dalil.DeviceWristband, Pilgrim: "P-" + id}
	}
	devs[imeiTag] = dalil.Device{ID: imeiTag, Kind: dalil.DeviceLuggageTag, Luggage: "BAG-1"}
	devs[imeiPhone] = dalil.Device{ID: imeiPhone, Kind: dalil.DevicePhone, Pilgrim: "P-phone"}
	ic := ingest.DefaultConfig()
	for _, m := range mutate {
		m(&ic)
	}
	h := ingest.NewHandler(ic, r.sink, devs, nil, ingest.NewMetrics(r.reg), nil)
	m := NewMetrics(r.reg)
	switch p {
	case "gt06":
		r.srv = NewGT06(cfg, h, devs, m, nil)
	case "h02":
		r.srv = NewH02(cfg, h, devs, m, nil)
	case "teltonika":
		r.srv = NewTeltonika(cfg, h, devs, m, nil)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.srv.Serve(ctx, ln) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

func noMaxAge(c *ingest.Config) { c.MaxAge = 0 }

func (r *rig) dial() net.Conn {
	r.t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

func (r *rig) closed(reason string) float64 {
	return ingesttest.Counter(r.t, r.reg, "dalil_tracker_connections_closed_total", "reason", reason)
}

// waitClosed waits until the server counted a close for reason.
func (r *rig) waitClosed(reason string, n float64) {
	r.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); r.closed(reason) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			r.t.Fatalf("closes{%s} = %v, want %v", reason, r.closed(reason), n)
		}
	}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func send(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// expect reads exactly len(want) bytes and compares them.
func expect(t *testing.T, c net.Conn, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading reply % X: %v (got % X)", want, err, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("reply % X, want % X", got, want)
	}
}

// expectClosed checks that the server closes c without sending anything.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, err := c.Read(b)
	if n > 0 {
		t.Fatalf("got % X, want the connection closed", b[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection stayed open")
	}
}

// Encoders of the test's own frames (real coordinates, current time).

func gt06Frame(proto byte, content []byte, serial uint16) []byte {
	b := []byte{0x78, 0x78, byte(1 + len(content) + 4), proto}
	b = append(b, content...)
	b = binary.BigEndian.AppendUint16(b, serial)
	b = binary.BigEndian.AppendUint16(b, crcITU(b[2:]))
	return append(b, 0x0D, 0x0A)
}

func gt06LoginFrame(imei string, serial uint16) []byte {
	d := "0" + imei
	c := make([]byte, 8)
	for i := range c {
		c[i] = (d[2*i]-'0')<<4 | (d[2*i+1] - '0')
	}
	return gt06Frame(gt06Login, c, serial)
}

func gt06GPSContent(at time.Time, lat, lon float64, kmh byte, course uint16, fixed bool) []byte {
	at = at.UTC()
	c := []byte{byte(at.Year() - 2000), byte(at.Month()), byte(at.Day()), byte(at.Hour()), byte(at.Minute()), byte(at.Second()), 0xC9}
	flags := course & 0x3FF
	if fixed {
		flags |= 0x1000
	}
	if lat >= 0 {
		flags |= 0x0400
	} else {
		lat = -lat
	}
	if lon < 0 {
		flags |= 0x0800
		lon = -lon
	}
	c = binary.BigEndian.AppendUint32(c, uint32(lat*1800000+0.5))
	c = binary.BigEndian.AppendUint32(c, uint32(lon*1800000+0.5))
	c = append(c, kmh)
	c = binary.BigEndian.AppendUint16(c, flags)
	return append(c, 0x01, 0xA4, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01) // MCC 420 (Saudi Arabia), MNC, LAC, cell
}

func teltonikaIMEI(imei string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(imei))), imei...)
}

type avlFix struct {
	at         time.Time
	lat, lon   float64
	alt, angle int
	sats       byte
	kmh        int
}

func teltonikaPacket(codec byte, fixes ...avlFix) []byte {
	d := []byte{codec, byte(len(fixes))}
	for _, f := range fixes {
		d = binary.BigEndian.AppendUint64(d, uint64(f.at.UnixMilli()))
		d = append(d, 0)
		d = binary.BigEndian.AppendUint32(d, uint32(int32(f.lon*1e7)))
		d = binary.BigEndian.AppendUint32(d, uint32(int32(f.lat*1e7)))
		d = binary.BigEndian.AppendUint16(d, uint16(int16(f.alt)))
		d = binary.BigEndian.AppendUint16(d, uint16(f.angle))
		d = append(d, f.sats)
		d = binary.BigEndian.AppendUint16(d, uint16(f.kmh))
		if codec == codec8 {
			// event 0; 2 IOs: one 1-byte (id 239 ignition = 1), one 2-byte (id 66 = 12.5 V)
			d = append(d, 0, 2, 1, 239, 1, 1, 66, 0x30, 0xD4, 0, 0)
		} else {
			// 8E: 2-byte ids and counts, and one variable-length IO
			d = append(d, 0, 0, 0, 3, 0, 1, 0, 239, 1, 0, 1, 0, 66, 0x30, 0xD4, 0, 0, 0, 0, 0, 1, 0x01, 0x2C, 0, 3, 'a', 'b', 'c')
		}
	}
	d = append(d, byte(len(fixes)))
	b := binary.BigEndian.AppendUint32(make([]byte, 4), uint32(len(d)))
	b = append(b, d...)
	return binary.BigEndian.AppendUint32(b, uint32(crc16IBM(d)))
}

func counterSum(r *rig, name string) float64 {
	return ingesttest.Counter(r.t, r.reg, name, "", "")
}

func counterOf(r *rig, name, label, value string) float64 {
	return ingesttest.Counter(r.t, r.reg, name, label, value)
}
