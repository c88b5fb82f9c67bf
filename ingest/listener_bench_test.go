package ingest

import (
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// benchConn is a connection that reads an endless keep-alive stream of
// one-fix OsmAnd requests (each device's next fix one second after its
// last) and discards the answers, so that the listener's own work per
// request can be measured without the kernel's.
type benchConn struct {
	net.Conn
	b      *testing.B
	n, max int
	buf    []byte
	off    int
	ids    []string
	answer int
}

func (c *benchConn) Read(p []byte) (int, error) {
	if c.off == len(c.buf) {
		if c.n == c.max {
			return 0, io.EOF
		}
		k := c.n % benchDevices
		lap := c.n / benchDevices
		ts := testNow.Unix() - 3600 + int64(lap)
		c.buf = append(c.buf[:0], "GET /?id="...)
		c.buf = append(c.buf, c.ids[k]...)
		c.buf = append(c.buf, "&timestamp="...)
		c.buf = strconv.AppendInt(c.buf, ts, 10)
		c.buf = append(c.buf, "&lat=21.4133&lon=39.8933&speed=0.0&bearing=0.0&altitude=12.0&accuracy=10.0&batt=80.0 HTTP/1.1\r\nHost: 127.0.0.1:5055\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 14)\r\nConnection: Keep-Alive\r\nAccept-Encoding: gzip\r\n\r\n"...)
		c.off = 0
		c.n++
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

func (c *benchConn) Write(p []byte) (int, error) {
	if len(p) < 12 || string(p[9:12]) != "200" {
		c.b.Fatalf("answer %q", p)
	}
	c.answer++
	return len(p), nil
}

func (c *benchConn) Close() error                    { return nil }
func (c *benchConn) SetReadDeadline(time.Time) error { return nil }
func (c *benchConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *benchConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkOsmAndListenerOneFix is one Traccar Client request per op on a
// keep-alive connection of the lean listener (no kernel, a no-op sink):
// read, parse, authenticate by the device's id, decode, filter, answer.
func BenchmarkOsmAndListenerOneFix(b *testing.B) {
	h := benchHandler(b)
	h.cfg.OpenIngest = true
	ids := make([]string, benchDevices)
	for i := range ids {
		ids[i] = "dev" + strconv.Itoa(i)
	}
	s := h.OsmAndListener()
	s.wg.Add(1)
	c := &benchConn{b: b, max: b.N, ids: ids}
	oc := newOsmConn(s, c)
	s.conns[oc] = struct{}{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	oc.serve(context.Background())
	cpu.report(b, b.N)
	if c.answer != b.N {
		b.Fatalf("%d answers for %d requests", c.answer, b.N)
	}
}
