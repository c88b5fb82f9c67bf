package api

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/ingest/tracker"
)

// crcX25 is CRC-ITU as GT06 frames carry it (written out here so that the
// test does not trust the server's own).
func crcX25(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func gt06(proto byte, content []byte, serial uint16) []byte {
	b := append([]byte{0x78, 0x78, byte(len(content) + 5), proto}, content...)
	b = binary.BigEndian.AppendUint16(b, serial)
	b = binary.BigEndian.AppendUint16(b, crcX25(b[2:]))
	return append(b, 0x0D, 0x0A)
}

func crcARC(b []byte) uint16 {
	crc := uint16(0)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// A wristband speaking GT06, H02 or Teltonika over TCP moves its pilgrim:
// the fix is in the trail and on the websocket, and the tracker got the
// acknowledgement its protocol defines.
func TestTrackersOverTCPReachTrailAndLiveFeed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	imeis := map[string]string{"gt06": "359339075016801", "h02": "359339075016802", "teltonika": "359339075016803"}
	pids := map[string]string{"gt06": "a1", "h02": "a2", "teltonika": "a3"}
	for proto, imei := range imeis {
		if err := f.srv.registry.PutDevice(ctx, f.st, dalil.Device{ID: imei, Kind: dalil.DeviceWristband, Pilgrim: pids[proto]}); err != nil {
			t.Fatal(err)
		}
	}
	h := f.srv.Ingest()
	tm := tracker.NewMetrics(f.srv.MetricsRegistry())
	servers := map[string]*tracker.Server{
		"gt06":      tracker.NewGT06(tracker.DefaultConfig(), h, h.Devices(), tm, nil),
		"h02":       tracker.NewH02(tracker.DefaultConfig(), h, h.Devices(), tm, nil),
		"teltonika": tracker.NewTeltonika(tracker.DefaultConfig(), h, h.Devices(), tm, nil),
	}
	addrs := map[string]string{}
	for proto, s := range servers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[proto] = ln.Addr().String()
		runInBackground(t, func(ctx context.Context) { _ = s.Serve(ctx, ln) })
	}
	ws := f.dial("operator")
	send(t, ws, "subscribe", "group:gA")
	if m := recv(t, ws); m.Type != "snapshot" {
		t.Fatalf("first message %+v, want a snapshot", m)
	}

	at := time.Now().UTC().Add(-30 * time.Second).Truncate(time.Second)
	for i, proto := range []string{"gt06", "h02", "teltonika"} {
		t.Run(proto, func(t *testing.T) {
			// Each pilgrim a little apart in tent B's camp.
			c := centroid(f.tentB)
			p := geo.Point{Lat: roundTo(c.Lat+float64(i)*1e-4, 5), Lon: roundTo(c.Lon, 5)}
			conn, err := net.Dial("tcp", addrs[proto])
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			imei := imeis[proto]
			switch proto {
			case "gt06":
				d := "0" + imei
				id := make([]byte, 8)
				for k := range id {
					id[k] = (d[2*k]-'0')<<4 | (d[2*k+1] - '0')
				}
				write(t, conn, gt06(0x01, id, 1))
				if got, want := readExactly(t, conn, 10), ackGT06(0x01, 1); string(got) != string(want) {
					t.Fatalf("login ACK % X, want % X", got, want)
				}
				loc := []byte{byte(at.Year() - 2000), byte(at.Month()), byte(at.Day()), byte(at.Hour()), byte(at.Minute()), byte(at.Second()), 0xC9}
				loc = binary.BigEndian.AppendUint32(loc, uint32(p.Lat*1800000+0.5))
				loc = binary.BigEndian.AppendUint32(loc, uint32(p.Lon*1800000+0.5))
				loc = append(loc, 0, 0x14, 0x00, 0x01, 0xA4, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01)
				write(t, conn, gt06(0x12, loc, 2))
				if got, want := readExactly(t, conn, 10), ackGT06(0x12, 2); string(got) != string(want) {
					t.Fatalf("location ACK % X, want % X", got, want)
				}
			case "h02":
				write(t, conn, fmt.Appendf(nil, "*HQ,%s,V1,%s,A,%s,N,%s,E,0.00,0,%s,FFFFFBFF#", imei, at.Format("150405"),
					ddmm(p.Lat, 2), ddmm(p.Lon, 3), at.Format("020106")))
				got := readExactly(t, conn, len("*HQ,"+imei+",V4,V1,20260101000000#"))
				if want := "*HQ," + imei + ",V4,V1,"; string(got[:len(want)]) != want {
					t.Fatalf("answer %q", got)
				}
			case "teltonika":
				write(t, conn, append(binary.BigEndian.AppendUint16(nil, 15), imei...))
				if got := readExactly(t, conn, 1); got[0] != 1 {
					t.Fatalf("IMEI answer % X, want 01", got)
				}
				d := []byte{0x08, 1}
				d = binary.BigEndian.AppendUint64(d, uint64(at.UnixMilli()))
				d = append(d, 0)
				d = binary.BigEndian.AppendUint32(d, uint32(int32(p.Lon*1e7)))
				d = binary.BigEndian.AppendUint32(d, uint32(int32(p.Lat*1e7)))
				d = append(d, 0, 10, 0, 90, 8, 0, 3, 0, 0, 0, 0, 0, 0, 1)
				pk := binary.BigEndian.AppendUint32(make([]byte, 4), uint32(len(d)))
				pk = binary.BigEndian.AppendUint32(append(pk, d...), uint32(crcARC(d)))
				write(t, conn, pk)
				if got := readExactly(t, conn, 4); binary.BigEndian.Uint32(got) != 1 {
					t.Fatalf("record count answer % X, want 00000001", got)
				}
			}
			if !f.trailHas(pids[proto], p.Lat, p.Lon) {
				t.Fatalf("%s's trail does not have %v", pids[proto], p)
			}
			m := recvPosition(t, ws)
			if m.Type != "position" || m.Pilgrim != pids[proto] || m.Device != imei || m.Camp != f.tentB.Camp {
				t.Errorf("live update %+v, want %s's %s in camp %s", m, pids[proto], imei, f.tentB.Camp)
			}
		})
	}
}

func ackGT06(proto byte, serial uint16) []byte { return gt06(proto, nil, serial) }

// ddmm formats degrees as H02's (d)ddmm.mmmm.
func ddmm(deg float64, width int) string {
	d := int(deg)
	return fmt.Sprintf("%0*d%07.4f", width, d, (deg-float64(d))*60)
}

func write(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readExactly reads n bytes.
func readExactly(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	for got := 0; got < n; {
		k, err := c.Read(b[got:])
		if err != nil {
			t.Fatalf("read %d of %d bytes (% X): %v", got, n, b[:got], err)
		}
		got += k
	}
	return b
}
