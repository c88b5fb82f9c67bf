package tracker

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"dalil"
	"dalil/ingest"
	"dalil/ingest/internal/ingesttest"
)

func FuzzGT06Frame(f *testing.F) {
	for _, s := range []string{docGT06Login, docGT06LoginReply, docGT06Status, docGT06Location, docGT06StatusReply} {
		f.Add(unhex(f, s))
	}
	f.Add(gt06Frame(gt06Location2, append(gt06GPSContent(time.Now(), -21.4, -39.9, 10, 359, true), 1, 0, 0), 9))
	f.Add([]byte{0x79, 0x79, 0x00, 0x05, 0x94, 0x00, 0x01, 0x00, 0x00, 0x0D, 0x0A})
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := parseGT06(b)
		if err != nil {
			return
		}
		if len(pk.content) > len(b) {
			t.Fatalf("content of %d bytes from a frame of %d", len(pk.content), len(b))
		}
		// A frame that parses re-encodes to itself when it is a short one.
		if b[0] == 0x78 {
			re := gt06Frame(pk.proto, pk.content, pk.serial)
			if !bytes.Equal(re, b) {
				t.Fatalf("re-encoded % X, want % X", re, b)
			}
		}
		_, _ = gt06IMEI(pk.content)
		if p, _, err := gt06GPS(pk.content); err == nil {
			if p.Time.IsZero() || p.Heading < 0 || p.Heading > 1023 {
				t.Fatalf("decoded %+v", p)
			}
		}
	})
}

func FuzzTeltonikaAVL(f *testing.F) {
	for _, s := range []string{docTeltoC8, docTeltoC8Two, docTeltoC8E} {
		b := unhex(f, s)
		f.Add(b[8 : len(b)-4])
	}
	b := teltonikaPacket(codec8E, avlFix{at: time.Now(), lat: 21.4, lon: 39.9, sats: 7, kmh: 3})
	f.Add(b[8 : len(b)-4])
	f.Fuzz(func(t *testing.T, data []byte) {
		calls := 0
		n, err := decodeAVL(data, func(avlRecord) { calls++ })
		if err != nil {
			return
		}
		if n != calls || n != int(data[1]) || n != int(data[len(data)-1]) {
			t.Fatalf("count %d, %d records, header %d", n, calls, data[1])
		}
	})
}

func FuzzH02(f *testing.F) {
	f.Add([]byte(docH02V1))
	f.Add([]byte("*HQ,359339075016807,V1,101010,A,2125.2700,S,03949.5400,W,5.40,182,010626,FFFFFBFF#"))
	f.Add([]byte("*HQ,359339075016807,HTBT#"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseH02(b)
		if err != nil || string(m.typ) != "V1" {
			return
		}
		if m.p.Lat < -90 || m.p.Lat > 90 || m.p.Lon < -180 || m.p.Lon > 180 || m.p.Heading >= 360 || m.p.Time.IsZero() {
			t.Fatalf("decoded %+v from %q", m.p, b)
		}
	})
}

// FuzzServe speaks arbitrary bytes to each protocol's connection loop: it
// must end (the input runs out) without panicking, whatever it is sent.
func FuzzServe(f *testing.F) {
	f.Add(byte(0), append(unhex(f, docGT06Login), unhex(f, docGT06Location)...))
	f.Add(byte(1), append(unhex(f, docTeltoIMEI), unhex(f, docTeltoC8E)...))
	f.Add(byte(2), []byte(docH02V1+docH02V1))
	f.Fuzz(func(t *testing.T, which byte, input []byte) {
		devs := ingesttest.Devices{
			imeiGT06:  {ID: imeiGT06, Kind: dalil.DeviceWristband, Pilgrim: "P1"},
			imeiTelto: {ID: imeiTelto, Kind: dalil.DeviceWristband, Pilgrim: "P2"},
			imeiH02:   {ID: imeiH02, Kind: dalil.DeviceLuggageTag, Luggage: "B1"},
		}
		cfg := ingest.DefaultConfig()
		cfg.MaxAge = 0
		h := ingest.NewHandler(cfg, &ingesttest.Sink{}, devs, nil, nil, nil)
		protos := []protocol{gt06{}, teltonika{}, h02{}}
		p := protos[int(which)%len(protos)]
		s := newServer(DefaultConfig(), p, h, devs, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		committed := make(chan struct{})
		go func() { s.group.run(ctx); close(committed) }()
		defer func() { cancel(); <-committed }()
		nc := &fakeConn{r: bytes.NewReader(input)}
		c := &conn{s: s, nc: nc, br: bufio.NewReaderSize(nc, readBufferSize),
			limiter: rate.NewLimiter(rate.Inf, 1), batch: h.NewBatch(p.kind()), done: make(chan error, 1)}
		if err := p.serve(ctx, c); err == nil {
			t.Fatal("serve returned nil at the end of the input")
		}
	})
}

// fakeConn reads from r and discards writes.
type fakeConn struct {
	r *bytes.Reader
}

func (c *fakeConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *fakeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }
