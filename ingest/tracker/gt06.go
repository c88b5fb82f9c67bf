package tracker

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"time"

	"dalil"
	"dalil/ingest"
)

// gt06 is the Concox GT06 protocol: binary frames
//
//	78 78 | len (1) | protocol (1) | content | serial (2) | CRC-ITU (2) | 0D 0A
//	79 79 | len (2) | …                                      (long frames)
//
// where len counts protocol number to CRC and the CRC covers len to serial.
// The tracker logs in (0x01, its IMEI in BCD), sends status heartbeats (0x13)
// and locations (0x12; 0x22 on newer models; 0x16 alarms carry one too).
// The server answers login, heartbeat and location with
// 78 78 05 <protocol> <serial> <CRC> 0D 0A; a tracker that gets no login
// answer within seconds reconnects, and one whose heartbeats go unanswered
// reconnects too.
type gt06 struct{}

func (gt06) name() string          { return "gt06" }
func (gt06) kind() ingest.Protocol { return ingest.GT06 }

// GT06 protocol numbers.
const (
	gt06Login       = 0x01
	gt06Location    = 0x12
	gt06Status      = 0x13
	gt06Alarm       = 0x16
	gt06Location2   = 0x22 // GT06N / JM01 GPS location
	gt06TimeRequest = 0x8A
)

// gt06Packet is a decoded frame; content aliases the frame.
type gt06Packet struct {
	proto   byte
	content []byte
	serial  uint16
}

// readGT06 reads one frame into buf (grown as needed, at most max bytes).
func readGT06(br *bufio.Reader, buf []byte, max int) ([]byte, error) {
	hdr, err := br.Peek(4)
	if err != nil {
		if len(hdr) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf, err
	}
	var n int
	switch {
	case hdr[0] == 0x78 && hdr[1] == 0x78:
		n = 2 + 1 + int(hdr[2]) + 2
	case hdr[0] == 0x79 && hdr[1] == 0x79:
		n = 2 + 2 + int(binary.BigEndian.Uint16(hdr[2:4])) + 2
	default:
		return buf, malformed("start bytes %02x %02x, want 78 78 or 79 79", hdr[0], hdr[1])
	}
	if n > max {
		return buf, errTooLarge
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err = io.ReadFull(br, buf)
	return buf, err
}

// parseGT06 checks a whole frame (start bytes, length, CRC, stop bytes) and
// splits it.
func parseGT06(b []byte) (gt06Packet, error) {
	var hl int // start bytes + length field
	switch {
	case len(b) >= 3 && b[0] == 0x78 && b[1] == 0x78:
		hl = 3
		if int(b[2])+hl+2 != len(b) {
			return gt06Packet{}, malformed("length %d does not match the frame", b[2])
		}
	case len(b) >= 4 && b[0] == 0x79 && b[1] == 0x79:
		hl = 4
		if int(binary.BigEndian.Uint16(b[2:4]))+hl+2 != len(b) {
			return gt06Packet{}, malformed("length does not match the frame")
		}
	default:
		return gt06Packet{}, malformed("bad start bytes")
	}
	// protocol (1) + serial (2) + CRC (2) at least
	if len(b) < hl+5+2 {
		return gt06Packet{}, malformed("frame of %d bytes is too short", len(b))
	}
	if b[len(b)-2] != 0x0D || b[len(b)-1] != 0x0A {
		return gt06Packet{}, malformed("stop bytes %02x %02x, want 0D 0A", b[len(b)-2], b[len(b)-1])
	}
	end := len(b) - 2 // CRC end
	if got, want := binary.BigEndian.Uint16(b[end-2:end]), crcITU(b[2:end-2]); got != want {
		return gt06Packet{}, malformed("CRC %04x, computed %04x", got, want)
	}
	return gt06Packet{
		proto:   b[hl],
		content: b[hl+1 : end-4],
		serial:  binary.BigEndian.Uint16(b[end-4 : end-2]),
	}, nil
}

// gt06IMEI decodes the login's 8-byte BCD terminal id: 16 digits, the first
// a padding 0 before the 15-digit IMEI.
func gt06IMEI(content []byte) (string, error) {
	if len(content) < 8 {
		return "", malformed("login of %d bytes, want 8 for the IMEI", len(content))
	}
	var d [16]byte
	for i, c := range content[:8] {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return "", malformed("IMEI is not BCD")
		}
		d[2*i], d[2*i+1] = '0'+hi, '0'+lo
	}
	if d[0] == '0' {
		return string(d[1:]), nil
	}
	return string(d[:]), nil
}

// gt06GPS decodes the GPS block that starts a location or alarm packet:
// date-time (6, UTC), length/satellites (1), latitude and longitude (4 each,
// in 1/30000 minutes), speed (1, km/h), course and status (2). ok is false
// when the tracker says it has no fix.
func gt06GPS(content []byte) (p dalil.Position, ok bool, err error) {
	if len(content) < 18 {
		return p, false, malformed("location of %d bytes, want at least 18", len(content))
	}
	t, err := gt06Time(content[0:6])
	if err != nil {
		return p, false, err
	}
	lat := float64(binary.BigEndian.Uint32(content[7:11])) / 1800000
	lon := float64(binary.BigEndian.Uint32(content[11:15])) / 1800000
	speed := content[15]
	flags := binary.BigEndian.Uint16(content[16:18])
	if flags&0x0400 == 0 { // bit 10: north latitude
		lat = -lat
	}
	if flags&0x0800 != 0 { // bit 11: west longitude
		lon = -lon
	}
	p = dalil.Position{
		Time: t, Lat: lat, Lon: lon,
		Speed:    float32(speed) / 3.6,
		Heading:  float32(flags & 0x03FF),
		Altitude: dalil.Unknown,
		Battery:  dalil.Unknown,
	}
	return p, flags&0x1000 != 0, nil // bit 12: GPS positioned
}

// gt06Time decodes GT06's date-time: six binary bytes YY MM DD hh mm ss
// (not BCD), UTC.
func gt06Time(b []byte) (time.Time, error) {
	y, mo, d, h, mi, s := int(b[0]), int(b[1]), int(b[2]), int(b[3]), int(b[4]), int(b[5])
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, malformed("date-time %02d-%02d-%02d %02d:%02d:%02d out of range", y, mo, d, h, mi, s)
	}
	return time.Date(2000+y, time.Month(mo), d, h, mi, s, 0, time.UTC), nil
}

// appendGT06Reply appends the short answer 78 78 05 <proto> <serial> <CRC> 0D 0A.
func appendGT06Reply(b []byte, proto byte, serial uint16) []byte {
	start := len(b)
	b = append(b, 0x78, 0x78, 0x05, proto, byte(serial>>8), byte(serial))
	crc := crcITU(b[start+2:])
	return append(b, byte(crc>>8), byte(crc), 0x0D, 0x0A)
}

// appendGT06Time answers a time request with the server's UTC time.
func appendGT06Time(b []byte, serial uint16, now time.Time) []byte {
	start := len(b)
	now = now.UTC()
	b = append(b, 0x78, 0x78, 0x0B, gt06TimeRequest,
		byte(now.Year()-2000), byte(now.Month()), byte(now.Day()), byte(now.Hour()), byte(now.Minute()), byte(now.Second()),
		byte(serial>>8), byte(serial))
	crc := crcITU(b[start+2:])
	return append(b, byte(crc>>8), byte(crc), 0x0D, 0x0A)
}

func (gt06) serve(ctx context.Context, c *conn) error {
	for {
		if err := c.frameStart(ctx); err != nil {
			return err
		}
		var err error
		c.buf, err = readGT06(c.br, c.buf, c.s.cfg.MaxFrame)
		if err != nil {
			return err
		}
		pk, err := parseGT06(c.buf)
		if err != nil {
			return err
		}
		if c.dev.ID == "" && pk.proto != gt06Login {
			return errNoLogin
		}
		c.out = c.out[:0]
		switch pk.proto {
		case gt06Login:
			imei, err := gt06IMEI(pk.content)
			if err != nil {
				return err
			}
			if c.dev.ID != "" && imei != c.dev.ID {
				return malformed("second login as another IMEI")
			}
			if err := c.login(imei); err != nil {
				return err
			}
			c.out = appendGT06Reply(c.out, pk.proto, pk.serial)
		case gt06Status:
			c.out = appendGT06Reply(c.out, pk.proto, pk.serial)
		case gt06Location, gt06Location2, gt06Alarm:
			p, fixed, err := gt06GPS(pk.content)
			if err != nil {
				return err
			}
			if fixed {
				c.add(p)
			} else {
				c.noFix()
			}
			if err := c.commit(ctx); err != nil {
				return err // unacknowledged: the tracker sends it again
			}
			c.out = appendGT06Reply(c.out, pk.proto, pk.serial)
		case gt06TimeRequest:
			c.out = appendGT06Time(c.out, pk.serial, time.Now())
		default:
			// Information, LBS-only and command-answer packets: nothing to
			// store and no answer expected.
			continue
		}
		if err := c.write(c.out); err != nil {
			return err
		}
	}
}
