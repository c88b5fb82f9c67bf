package tracker

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"dalil"
)

// The Teltonika wiki's samples: the IMEI message of 356307042441013, one
// Codec 8 packet with one record, one with two, and one Codec 8 Extended
// packet. Their records have no GPS fix (0 satellites, coordinates 0).
const (
	docTeltoIMEI  = "000F333536333037303432343431303133"
	docTeltoC8    = "000000000000003608010000016B40D8EA30010000000000000000000000000000000105021503010101425E0F01F10000601A014E0000000000000000010000C7CF"
	docTeltoC8Two = "000000000000004308020000016B40D57B480100000000000000000000000000000001010101000000000000016B40D5C198010000000000000000000000000000000101010101000000020000252C"
	docTeltoC8E   = "000000000000004A8E010000016B412CEE000100000000000000000000000000000000010005000100010100010011001D00010010015E2C880002000B000000003544C87A000E000000001DD7E06A00000100002994"
)

func TestTeltonikaDocumentedPackets(t *testing.T) {
	r := newRig(t, "teltonika", DefaultConfig(), noMaxAge)
	c := r.dial()
	send(t, c, unhex(t, docTeltoIMEI))
	expect(t, c, []byte{0x01})
	send(t, c, unhex(t, docTeltoC8))
	expect(t, c, []byte{0, 0, 0, 1})
	send(t, c, unhex(t, docTeltoC8Two))
	expect(t, c, []byte{0, 0, 0, 2})
	send(t, c, unhex(t, docTeltoC8E))
	expect(t, c, []byte{0, 0, 0, 1})
	// No fix in any: acknowledged (resending would not give them one), not stored.
	if n := len(r.sink.Stored()); n != 0 {
		t.Errorf("%d fixes stored from records without a fix", n)
	}
	if got := counterSum(r, "dalil_tracker_records_without_fix_total"); got != 4 {
		t.Errorf("records without fix = %v, want 4", got)
	}
	// The decoder reads the wiki's first record as the wiki describes it.
	var recs []avlRecord
	b := unhex(t, docTeltoC8)
	if n, err := decodeAVL(b[8:len(b)-4], func(r avlRecord) { recs = append(recs, r) }); err != nil || n != 1 {
		t.Fatalf("decodeAVL = %d, %v", n, err)
	}
	if want := time.UnixMilli(0x16B40D8EA30).UTC(); !recs[0].time.Equal(want) || recs[0].satellites != 0 {
		t.Errorf("record %+v, want time %v", recs[0], want)
	}
}

func TestTeltonikaLiveSession(t *testing.T) {
	r := newRig(t, "teltonika", DefaultConfig())
	c := r.dial()
	send(t, c, teltonikaIMEI(imeiBand))
	expect(t, c, []byte{0x01})
	now := time.Now().UTC().Truncate(time.Millisecond)
	// Arafat, near the Jabal ar-Rahmah; the second record has no fix.
	send(t, c, teltonikaPacket(codec8,
		avlFix{at: now.Add(-2 * time.Minute), lat: 21.3549, lon: 39.9841, alt: 280, angle: 45, sats: 9, kmh: 4},
		avlFix{at: now.Add(-time.Minute), lat: 21.3550, lon: 39.9842, alt: 281, angle: 50, sats: 0, kmh: 0}))
	expect(t, c, []byte{0, 0, 0, 2})
	send(t, c, teltonikaPacket(codec8E, avlFix{at: now, lat: 21.3551, lon: 39.9843, alt: -3, angle: 359, sats: 11, kmh: 36}))
	expect(t, c, []byte{0, 0, 0, 1})

	ps := r.sink.WaitStored(t, 2, 5*time.Second)
	if len(ps) != 2 {
		t.Fatalf("%d stored, want 2", len(ps))
	}
	p := ps[0]
	if p.Device != imeiBand || !p.Time.Equal(now.Add(-2*time.Minute)) || math.Abs(p.Lat-21.3549) > 1e-7 || math.Abs(p.Lon-39.9841) > 1e-7 ||
		p.Altitude != 280 || p.Heading != 45 || math.Abs(float64(p.Speed)-4/3.6) > 1e-4 || p.Source != dalil.SourceTeltonika {
		t.Errorf("codec 8 fix %+v", p)
	}
	if p := ps[1]; p.Altitude != -3 || p.Heading != 359 || math.Abs(float64(p.Speed)-10) > 1e-4 {
		t.Errorf("codec 8E fix %+v", p)
	}
}

func TestTeltonikaRefusals(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFrame = 1024
	r := newRig(t, "teltonika", cfg)

	// Unknown IMEI and a phone's id get the protocol's refusal, 00, and a close.
	for i, imei := range []string{"999999999999999", imeiPhone} {
		c := r.dial()
		send(t, c, teltonikaIMEI(imei))
		expect(t, c, []byte{0x00})
		expectClosed(t, c)
		r.waitClosed(reasonUnknownDevice, float64(i+1))
	}

	good := teltonikaPacket(codec8, avlFix{at: time.Now().Add(-time.Second), lat: 21.4, lon: 39.9, sats: 5})
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 1
	badCount := append([]byte(nil), good...)
	badCount[len(badCount)-5] = 2 // second count differs (CRC fixed below)
	binary.BigEndian.PutUint32(badCount[len(badCount)-4:], uint32(crc16IBM(badCount[8:len(badCount)-4])))
	huge := binary.BigEndian.AppendUint32(make([]byte, 4), 100000)
	for _, c := range []struct {
		name, reason string
		frame        []byte
	}{
		{"bad CRC", reasonMalformed, badCRC},
		{"counts differ", reasonMalformed, badCount},
		{"bad preamble", reasonMalformed, append([]byte{1}, good[1:]...)},
		{"oversized", reasonTooLarge, huge},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := r.closed(c.reason)
			conn := r.dial()
			send(t, conn, teltonikaIMEI(imeiBand))
			expect(t, conn, []byte{0x01})
			send(t, conn, c.frame)
			expectClosed(t, conn)
			r.waitClosed(c.reason, before+1)
		})
	}
	if n := len(r.sink.Stored()); n != 0 {
		t.Errorf("%d fixes stored from refused packets", n)
	}
}
