package tracker

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"dalil"
	"dalil/ingest"
)

// h02 is the H02 text protocol of many cheap trackers (Sinotrack and
// relatives): frames
//
//	*HQ,<IMEI>,V1,<hhmmss>,<A|V>,<ddmm.mmmm>,<N|S>,<dddmm.mmmm>,<E|W>,<speed knots>,<course>,<ddmmyy>,<status>…#
//
// V1 is a location (A: valid fix, V: none); heartbeats are XT, HTBT or LINK
// frames. There is no separate login: every frame names the IMEI, which
// must stay the same on one connection. The server confirms each location
// and heartbeat with *HQ,<IMEI>,V4,<type>,<yyyyMMddHHmmss>#, which devices
// that wait for an answer before sending the next frame require and others
// ignore. (The binary variant that starts with '$' is not supported: such a
// connection closes as malformed.)
type h02 struct{}

func (h02) name() string          { return "h02" }
func (h02) kind() ingest.Protocol { return ingest.H02 }

// h02Msg is a decoded frame; strings alias the frame.
type h02Msg struct {
	imei, typ []byte
	fix       bool
	p         dalil.Position
}

// parseH02 decodes one frame, from '*' to '#' inclusive.
func parseH02(b []byte) (h02Msg, error) {
	var m h02Msg
	if len(b) < 2 || b[0] != '*' || b[len(b)-1] != '#' {
		return m, malformed("frame must be *…#")
	}
	f := bytes.Split(b[1:len(b)-1], []byte{','})
	if len(f) < 3 || len(f[1]) == 0 || len(f[1]) > 20 {
		return m, malformed("want *XX,<IMEI>,<type>,…#")
	}
	for _, d := range f[1] {
		if d < '0' || d > '9' {
			return m, malformed("IMEI is not digits")
		}
	}
	m.imei, m.typ = f[1], f[2]
	if string(m.typ) != "V1" {
		return m, nil
	}
	if len(f) < 12 {
		return m, malformed("V1 with %d fields, want at least 12", len(f))
	}
	if len(f[4]) != 1 || (f[4][0] != 'A' && f[4][0] != 'V') {
		return m, malformed("validity %q, want A or V", f[4])
	}
	m.fix = f[4][0] == 'A'
	if !m.fix {
		return m, nil // no fix: the rest is often empty or zeros, and is not stored
	}
	t, err := h02Time(f[3], f[11])
	if err != nil {
		return m, err
	}
	lat, err := h02Coord(f[5], f[6], 'N', 'S', 90)
	if err != nil {
		return m, err
	}
	lon, err := h02Coord(f[7], f[8], 'E', 'W', 180)
	if err != nil {
		return m, err
	}
	m.p = dalil.Position{Time: t, Lat: lat, Lon: lon, Speed: dalil.Unknown, Heading: dalil.Unknown,
		Altitude: dalil.Unknown, Battery: dalil.Unknown}
	if v, err := strconv.ParseFloat(string(f[9]), 64); err == nil && v >= 0 && v < 1000 {
		m.p.Speed = float32(v * 1852 / 3600)
	}
	if v, err := strconv.ParseFloat(string(f[10]), 64); err == nil && v >= 0 && v <= 360 {
		m.p.Heading = float32(v)
		if m.p.Heading == 360 {
			m.p.Heading = 0
		}
	}
	return m, nil
}

// h02Coord turns ddmm.mmmm (or dddmm.mmmm) and a hemisphere into degrees.
func h02Coord(v, hemi []byte, pos, neg byte, limit float64) (float64, error) {
	x, err := strconv.ParseFloat(string(v), 64)
	if err != nil || x < 0 || len(v) > 16 {
		return 0, malformed("coordinate %q", v)
	}
	deg := float64(int(x / 100))
	minutes := x - deg*100
	if minutes >= 60 {
		return 0, malformed("coordinate %q: minutes ≥ 60", v)
	}
	d := deg + minutes/60
	if d > limit {
		return 0, malformed("coordinate %q out of range", v)
	}
	switch {
	case len(hemi) == 1 && hemi[0] == pos:
		return d, nil
	case len(hemi) == 1 && hemi[0] == neg:
		return -d, nil
	}
	return 0, malformed("hemisphere %q", hemi)
}

// h02Time combines hhmmss and ddmmyy, UTC.
func h02Time(hms, dmy []byte) (time.Time, error) {
	if len(hms) < 6 || len(dmy) != 6 {
		return time.Time{}, malformed("time %q date %q", hms, dmy)
	}
	num := func(b []byte) int {
		if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
			return -1
		}
		return int(b[0]-'0')*10 + int(b[1]-'0')
	}
	h, mi, s := num(hms[0:2]), num(hms[2:4]), num(hms[4:6])
	d, mo, y := num(dmy[0:2]), num(dmy[2:4]), num(dmy[4:6])
	if h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 || d < 1 || d > 31 || mo < 1 || mo > 12 || y < 0 {
		return time.Time{}, malformed("time %q date %q out of range", hms, dmy)
	}
	return time.Date(2000+y, time.Month(mo), d, h, mi, s, 0, time.UTC), nil
}

// appendH02Reply appends *HQ,<IMEI>,V4,<type>,<yyyyMMddHHmmss>#.
func appendH02Reply(b, imei, typ []byte, now time.Time) []byte {
	b = append(b, "*HQ,"...)
	b = append(b, imei...)
	b = append(b, ",V4,"...)
	b = append(b, typ...)
	b = append(b, ',')
	b = now.UTC().AppendFormat(b, "20060102150405")
	return append(b, '#')
}

func (h02) serve(ctx context.Context, c *conn) error {
	for {
		if err := c.frameStart(ctx); err != nil {
			return err
		}
		// Skip line breaks some firmwares put between frames.
		for {
			b, err := c.br.Peek(1)
			if err != nil {
				return err
			}
			if b[0] != '\r' && b[0] != '\n' {
				break
			}
			_, _ = c.br.ReadByte()
		}
		frame, err := readH02(c, c.s.cfg.MaxFrame)
		if err != nil {
			return err
		}
		m, err := parseH02(frame)
		if err != nil {
			return err
		}
		if c.dev.ID == "" {
			if err := c.login(string(m.imei)); err != nil {
				return err
			}
		} else if string(m.imei) != c.dev.ID {
			return malformed("frame of another IMEI on this connection")
		}
		switch string(m.typ) {
		case "V1":
			if m.fix {
				c.add(m.p)
			} else {
				c.noFix()
			}
			if err := c.commit(ctx); err != nil {
				return err // unconfirmed: the tracker sends it again
			}
		case "XT", "HTBT", "LINK":
		default:
			continue // other reports and command answers: nothing to store or confirm
		}
		c.out = appendH02Reply(c.out[:0], m.imei, m.typ, time.Now())
		if err := c.write(c.out); err != nil {
			return err
		}
	}
}

// readH02 reads one frame, '*' to '#', of at most max bytes (and at most
// the read buffer's size) into c.buf. It looks only at what has arrived, so
// a frame that never ends is refused as soon as it is too long.
func readH02(c *conn, limit int) ([]byte, error) {
	limit = min(limit, readBufferSize)
	want := 1
	for {
		b, err := c.br.Peek(want)
		if len(b) > 0 && b[0] != '*' {
			return nil, malformed("frame starts with %q, want '*'", b[0])
		}
		if i := bytes.IndexByte(b, '#'); i >= 0 {
			if i+1 > limit {
				return nil, errTooLarge
			}
			c.buf = append(c.buf[:0], b[:i+1]...)
			_, _ = c.br.Discard(i + 1)
			return c.buf, nil
		}
		if len(b) >= limit {
			return nil, errTooLarge
		}
		if err != nil {
			return nil, err
		}
		want = max(len(b)+1, c.br.Buffered())
	}
}
