package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"dalil"
)

// Position value encoding, version 1 (device and time live in the key):
//
//	[0]    format version (1)
//	[1]    source
//	[2]    presence bits: which optional float32 fields follow
//	[3:11] latitude  float64 bits, little-endian
//	[11:19] longitude float64 bits, little-endian
//	then 4 bytes (float32 bits, little-endian) for each present field, in the
//	order accuracy, speed, heading, altitude, battery.
//
// A field is absent when it holds its default (accuracy 0, the others
// tracking.Unknown), which is what a wristband or a sighting usually sends:
// a phone ping is 39 bytes, a bare fix 19. Bits are compared, not values, so
// NaN and -0 read back exactly as written.
const (
	codecVersion   = 1
	valueHeaderLen = 3 + 16
	maxValueLen    = valueHeaderLen + 5*4
)

var errCorrupt = errors.New("embedded: corrupt position value")

var optionalDefaults = [5]uint32{
	0, // accuracy
	math.Float32bits(dalil.Unknown),
	math.Float32bits(dalil.Unknown),
	math.Float32bits(dalil.Unknown),
	math.Float32bits(dalil.Unknown),
}

func optionalFields(p *dalil.Position) [5]float32 {
	return [5]float32{p.Accuracy, p.Speed, p.Heading, p.Altitude, p.Battery}
}

// valueLen is the encoded length of p's value.
func valueLen(p *dalil.Position) int {
	n := valueHeaderLen
	for i, f := range optionalFields(p) {
		if math.Float32bits(f) != optionalDefaults[i] {
			n += 4
		}
	}
	return n
}

// putValue encodes p into b, which must be valueLen(p) long.
func putValue(b []byte, p *dalil.Position) {
	b[0] = codecVersion
	b[1] = byte(p.Source)
	binary.LittleEndian.PutUint64(b[3:], math.Float64bits(p.Lat))
	binary.LittleEndian.PutUint64(b[11:], math.Float64bits(p.Lon))
	var present byte
	n := valueHeaderLen
	for i, f := range optionalFields(p) {
		bits := math.Float32bits(f)
		if bits != optionalDefaults[i] {
			present |= 1 << i
			binary.LittleEndian.PutUint32(b[n:], bits)
			n += 4
		}
	}
	b[2] = present
}

// decodeValue fills the fields of p that live in the value.
func decodeValue(b []byte, p *dalil.Position) error {
	if len(b) < valueHeaderLen || b[0] != codecVersion || b[2]>>5 != 0 {
		return fmt.Errorf("%w (%d bytes)", errCorrupt, len(b))
	}
	p.Source = dalil.Source(b[1])
	p.Lat = math.Float64frombits(binary.LittleEndian.Uint64(b[3:]))
	p.Lon = math.Float64frombits(binary.LittleEndian.Uint64(b[11:]))
	present := b[2]
	n := valueHeaderLen
	var fs [5]float32
	for i := range fs {
		if present&(1<<i) == 0 {
			fs[i] = math.Float32frombits(optionalDefaults[i])
			continue
		}
		if len(b) < n+4 {
			return fmt.Errorf("%w (%d bytes, field %d missing)", errCorrupt, len(b), i)
		}
		fs[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[n:]))
		n += 4
	}
	if n != len(b) {
		return fmt.Errorf("%w (%d trailing bytes)", errCorrupt, len(b)-n)
	}
	p.Accuracy, p.Speed, p.Heading, p.Altitude, p.Battery = fs[0], fs[1], fs[2], fs[3], fs[4]
	return nil
}

// Latest value: time(8) seq(8) then the position value. The first 16 bytes
// compare as bytes in (time, seq) order, which is all the merge operator
// needs to keep the newest.
const latestOrderLen = timeLen + seqLen

func latestValueLen(p *dalil.Position) int { return latestOrderLen + valueLen(p) }

func putLatestValue(b []byte, p *dalil.Position, seq uint64) {
	encodeTime(b, p.Time)
	binary.BigEndian.PutUint64(b[timeLen:], seq)
	putValue(b[latestOrderLen:], p)
}

func decodeLatestValue(device string, b []byte) (dalil.Position, error) {
	var p dalil.Position
	if len(b) < latestOrderLen {
		return p, fmt.Errorf("%w (latest of %q, %d bytes)", errCorrupt, device, len(b))
	}
	p.Device = device
	p.Time = decodeTime(b)
	err := decodeValue(b[latestOrderLen:], &p)
	return p, err
}
