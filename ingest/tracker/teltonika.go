package tracker

import (
	"context"
	"encoding/binary"
	"io"
	"time"

	"dalil"
	"dalil/ingest"
)

// teltonika is Teltonika's TCP protocol with Codec 8 and Codec 8 Extended.
// The tracker first sends its IMEI (2-byte length, ASCII digits); the server
// answers 01 to accept it or 00 to refuse. Then come AVL data packets
//
//	00000000 | data length (4) | codec id | n (1) | n records | n (1) | CRC-16/IBM (4)
//
// where the CRC covers codec id to the second n. The server answers each
// packet with the number of records it took as a 4-byte integer; a tracker
// that gets another number sends the packet again.
type teltonika struct{}

func (teltonika) name() string          { return "teltonika" }
func (teltonika) kind() ingest.Protocol { return ingest.Teltonika }

const (
	codec8  = 0x08
	codec8E = 0x8E
)

// avlRecord is the part of an AVL record Dalil keeps.
type avlRecord struct {
	time       time.Time
	lat, lon   float64
	alt, angle float32
	speed      float32 // km/h
	satellites uint8
}

// decodeAVL checks the AVL data of one packet (codec id … second count,
// without preamble, length and CRC) and calls fn for each record. It
// returns the record count.
func decodeAVL(data []byte, fn func(avlRecord)) (int, error) {
	if len(data) < 3 {
		return 0, malformed("AVL data of %d bytes", len(data))
	}
	codec, n := data[0], int(data[1])
	if codec != codec8 && codec != codec8E {
		return 0, malformed("codec %#02x, want 0x08 or 0x8E", codec)
	}
	if n2 := int(data[len(data)-1]); n2 != n {
		return 0, malformed("record counts %d and %d differ", n, n2)
	}
	if n == 0 {
		return 0, malformed("no records")
	}
	r := avlReader{b: data[2 : len(data)-1]}
	for range n {
		var rec avlRecord
		ms := r.u64()
		r.skip(1) // priority
		rec.lon = float64(int32(r.u32())) / 1e7
		rec.lat = float64(int32(r.u32())) / 1e7
		rec.alt = float32(int16(r.u16()))
		rec.angle = float32(r.u16())
		rec.satellites = r.u8()
		rec.speed = float32(r.u16())
		if codec == codec8 {
			r.skip(2) // event IO id, total IO count
			for _, size := range [...]int{1, 2, 4, 8} {
				r.skip(int(r.u8()) * (1 + size))
			}
		} else {
			r.skip(4) // event IO id, total IO count
			for _, size := range [...]int{1, 2, 4, 8} {
				r.skip(int(r.u16()) * (2 + size))
			}
			for range int(r.u16()) { // NX: variable-length values
				r.skip(2)
				r.skip(int(r.u16()))
			}
		}
		if r.bad {
			return 0, malformed("record truncated")
		}
		if ms > 1<<53 {
			return 0, malformed("timestamp out of range")
		}
		rec.time = time.UnixMilli(int64(ms)).UTC()
		fn(rec)
	}
	if len(r.b) != 0 {
		return 0, malformed("%d bytes after the records", len(r.b))
	}
	return n, nil
}

// avlReader reads big-endian fields; past the end it reads zeros and sets bad.
type avlReader struct {
	b   []byte
	bad bool
}

func (r *avlReader) take(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.bad, r.b = true, nil
		return make([]byte, 8)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *avlReader) skip(n int)  { r.take(n) }
func (r *avlReader) u8() uint8   { return r.take(1)[0] }
func (r *avlReader) u16() uint16 { return binary.BigEndian.Uint16(r.take(2)) }
func (r *avlReader) u32() uint32 { return binary.BigEndian.Uint32(r.take(4)) }
func (r *avlReader) u64() uint64 { return binary.BigEndian.Uint64(r.take(8)) }

func (teltonika) serve(ctx context.Context, c *conn) error {
	// IMEI: 2-byte length and digits.
	var hdr [8]byte
	if _, err := io.ReadFull(c.br, hdr[:2]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint16(hdr[:2]))
	if n < 1 || n > 32 {
		return malformed("IMEI length %d", n)
	}
	imei := make([]byte, n)
	if _, err := io.ReadFull(c.br, imei); err != nil {
		return err
	}
	for _, d := range imei {
		if d < '0' || d > '9' {
			return malformed("IMEI is not digits")
		}
	}
	if err := c.login(string(imei)); err != nil {
		_ = c.write([]byte{0x00}) // the refusal the protocol defines; the same for every refused IMEI
		return err
	}
	if err := c.write([]byte{0x01}); err != nil {
		return err
	}
	for {
		if err := c.frameStart(ctx); err != nil {
			return err
		}
		if _, err := io.ReadFull(c.br, hdr[:8]); err != nil {
			return err
		}
		if binary.BigEndian.Uint32(hdr[:4]) != 0 {
			return malformed("preamble %x, want 00000000", hdr[:4])
		}
		size := int64(binary.BigEndian.Uint32(hdr[4:8]))
		if size+12 > int64(c.s.cfg.MaxFrame) {
			return errTooLarge
		}
		if size < 3 {
			return malformed("data length %d", size)
		}
		if cap(c.buf) < int(size)+4 {
			c.buf = make([]byte, size+4)
		}
		c.buf = c.buf[:size+4]
		if _, err := io.ReadFull(c.br, c.buf); err != nil {
			return err
		}
		data := c.buf[:size]
		if got, want := binary.BigEndian.Uint32(c.buf[size:]), uint32(crc16IBM(data)); got != want {
			return malformed("CRC %08x, computed %08x", got, want)
		}
		count, err := decodeAVL(data, func(r avlRecord) {
			if r.satellites == 0 { // no fix: the coordinates are the last valid fix's, stale
				c.noFix()
				return
			}
			c.add(dalil.Position{
				Time: r.time, Lat: r.lat, Lon: r.lon,
				Speed: r.speed / 3.6, Heading: r.angle, Altitude: r.alt, Battery: dalil.Unknown,
			})
		})
		if err != nil {
			c.pending = c.pending[:0]
			return err
		}
		if err := c.commit(ctx); err != nil {
			return err // unacknowledged: the tracker sends the packet again
		}
		c.out = binary.BigEndian.AppendUint32(c.out[:0], uint32(count))
		if err := c.write(c.out); err != nil {
			return err
		}
	}
}
