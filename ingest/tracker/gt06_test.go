package tracker

import (
	"fmt"
	"math"
	"testing"
	"time"

	"dalil"
)

// The frames of the GT06 protocol document: login with terminal id
// 0123456789012345 and its answer, a status heartbeat, a location (Shenzhen,
// 2011-08-29 17:46:16 UTC) and the heartbeat answer for serial 0x0011.
const (
	docGT06Login       = "78 78 0D 01 01 23 45 67 89 01 23 45 00 01 8C DD 0D 0A"
	docGT06LoginReply  = "78 78 05 01 00 01 D9 DC 0D 0A"
	docGT06Status      = "78 78 0A 13 40 04 04 00 01 00 0F DC EE 0D 0A"
	docGT06Location    = "78 78 1F 12 0B 08 1D 11 2E 10 CF 02 7A C7 EB 0C 46 58 49 00 14 8F 01 CC 00 28 7D 00 1F B8 00 03 80 81 0D 0A"
	docGT06StatusReply = "78 78 05 13 00 11 F9 70 0D 0A"
)

func TestGT06DocumentedFrames(t *testing.T) {
	if got := appendGT06Reply(nil, 0x13, 0x0011); string(got) != string(unhex(t, docGT06StatusReply)) {
		t.Errorf("heartbeat answer % X, want the document's %s", got, docGT06StatusReply)
	}
	r := newRig(t, "gt06", DefaultConfig(), noMaxAge)
	c := r.dial()
	send(t, c, unhex(t, docGT06Login))
	expect(t, c, unhex(t, docGT06LoginReply))
	send(t, c, unhex(t, docGT06Status))
	expect(t, c, appendGT06Reply(nil, 0x13, 0x000F))
	send(t, c, unhex(t, docGT06Location))
	expect(t, c, appendGT06Reply(nil, 0x12, 0x0003))

	ps := r.sink.WaitStored(t, 1, 5*time.Second)
	p := ps[0]
	want := time.Date(2011, 8, 29, 17, 46, 16, 0, time.UTC)
	if p.Device != imeiGT06 || !p.Time.Equal(want) || math.Abs(p.Lat-23.111668) > 1e-5 || math.Abs(p.Lon-114.409285) > 1e-5 ||
		p.Speed != 0 || p.Heading != 143 || p.Source != dalil.SourceGT06 {
		t.Errorf("stored %+v, want %s at 23.111668,114.409285 on %v heading 143 from gt06", p, imeiGT06, want)
	}
}

func TestGT06LiveSession(t *testing.T) {
	r := newRig(t, "gt06", DefaultConfig())
	c := r.dial()
	send(t, c, gt06LoginFrame(imeiTag, 1))
	expect(t, c, appendGT06Reply(nil, gt06Login, 1))
	now := time.Now().UTC().Truncate(time.Second)
	// Mina, a luggage tag on a bus at 36 km/h heading 270; then a location
	// without a GPS fix (acknowledged, not stored); then a 0x22 location.
	send(t, c, gt06Frame(gt06Location, gt06GPSContent(now.Add(-time.Minute), 21.4133, 39.8933, 36, 270, true), 2))
	expect(t, c, appendGT06Reply(nil, gt06Location, 2))
	send(t, c, gt06Frame(gt06Location, gt06GPSContent(now.Add(-50*time.Second), 21.4134, 39.8934, 0, 0, false), 3))
	expect(t, c, appendGT06Reply(nil, gt06Location, 3))
	send(t, c, gt06Frame(gt06Location2, append(gt06GPSContent(now, 21.4135, 39.8935, 0, 0, true), 1, 0, 0), 4))
	expect(t, c, appendGT06Reply(nil, gt06Location2, 4))
	// A time request gets the server's time.
	send(t, c, gt06Frame(gt06TimeRequest, nil, 5))
	reply := make([]byte, 16)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(reply); err != nil || reply[3] != gt06TimeRequest || int(reply[4])+2000 != time.Now().UTC().Year() {
		t.Errorf("time answer % X, %v", reply, err)
	}

	ps := r.sink.Stored()
	if len(ps) != 2 {
		t.Fatalf("%d fixes stored, want 2: %+v", len(ps), ps)
	}
	if p := ps[0]; p.Device != imeiTag || !p.Time.Equal(now.Add(-time.Minute)) || math.Abs(p.Lat-21.4133) > 1e-6 ||
		math.Abs(p.Lon-39.8933) > 1e-6 || math.Abs(float64(p.Speed)-10) > 1e-3 || p.Heading != 270 {
		t.Errorf("first fix %+v", p)
	}
	if got := counterSum(r, "dalil_tracker_records_without_fix_total"); got != 1 {
		t.Errorf("records without fix = %v, want 1", got)
	}
}

// Frames that break the protocol close their own connection only, each with
// its counted reason; a tracker on another connection carries on.
func TestGT06BadFramesCloseOnlyTheirConnection(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFrame = 512
	r := newRig(t, "gt06", cfg)
	good := r.dial()
	send(t, good, gt06LoginFrame(imeiBand, 1))
	expect(t, good, appendGT06Reply(nil, gt06Login, 1))

	badCRC := gt06LoginFrame(imeiBand, 1)
	badCRC[len(badCRC)-3] ^= 0xFF
	long := append([]byte{0x79, 0x79, 0xEA, 0x60}, make([]byte, 64)...) // announces 60000 bytes
	for _, c := range []struct {
		name, reason string
		frames       [][]byte
	}{
		{"bad CRC", reasonMalformed, [][]byte{badCRC}},
		{"not GT06", reasonMalformed, [][]byte{[]byte("GET / HTTP/1.1\r\n\r\n")}},
		{"oversized", reasonTooLarge, [][]byte{long}},
		{"location before login", reasonNoLogin, [][]byte{gt06Frame(gt06Location, gt06GPSContent(time.Now(), 21.4, 39.9, 0, 0, true), 1)}},
		{"unknown IMEI", reasonUnknownDevice, [][]byte{gt06LoginFrame("999999999999999", 1)}},
		{"a phone's id", reasonUnknownDevice, [][]byte{gt06LoginFrame(imeiPhone, 1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := r.closed(c.reason)
			bad := r.dial()
			for _, f := range c.frames {
				send(t, bad, f)
			}
			expectClosed(t, bad)
			r.waitClosed(c.reason, before+1)
		})
	}
	// Unknown devices are counted as refused pings too, like any protocol's.
	if got := counterOf(r, "dalil_pings_rejected_total", "reason", "unknown_device"); got != 2 {
		t.Errorf("rejected{unknown_device} = %v, want 2", got)
	}
	send(t, good, gt06Frame(gt06Location, gt06GPSContent(time.Now().Add(-time.Second), 21.42, 39.87, 0, 0, true), 2))
	expect(t, good, appendGT06Reply(nil, gt06Location, 2))
	if ps := r.sink.WaitStored(t, 1, 5*time.Second); ps[0].Device != imeiBand {
		t.Errorf("stored %+v", ps[0])
	}
}

// A location the store refuses is not acknowledged: the connection closes
// and the tracker sends it again after reconnecting.
func TestGT06UnstoredLocationIsNotAcknowledged(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RetryStore = 200 * time.Millisecond
	r := newRig(t, "gt06", cfg)
	c := r.dial()
	send(t, c, gt06LoginFrame(imeiBand, 1))
	expect(t, c, appendGT06Reply(nil, gt06Login, 1))
	r.sink.Fail(fmt.Errorf("disk full: %w", dalil.ErrUnavailable))
	loc := gt06Frame(gt06Location, gt06GPSContent(time.Now().Add(-time.Second), 21.42, 39.87, 0, 0, true), 2)
	send(t, c, loc)
	expectClosed(t, c)
	r.waitClosed(reasonStore, 1)

	r.sink.Fail(nil)
	c = r.dial()
	send(t, c, gt06LoginFrame(imeiBand, 1))
	expect(t, c, appendGT06Reply(nil, gt06Login, 1))
	send(t, c, loc)
	expect(t, c, appendGT06Reply(nil, gt06Location, 2))
	r.sink.WaitStored(t, 1, 5*time.Second)
}

// The rate limit delays a flood instead of dropping it.
func TestGT06RateLimitDelays(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FrameRate, cfg.FrameBurst = 50, 2
	r := newRig(t, "gt06", cfg)
	c := r.dial()
	send(t, c, gt06LoginFrame(imeiBand, 1))
	expect(t, c, appendGT06Reply(nil, gt06Login, 1))
	for i := range 6 {
		send(t, c, gt06Frame(gt06Status, []byte{0x40, 4, 4, 0, 1}, uint16(10+i)))
	}
	for i := range 6 {
		expect(t, c, appendGT06Reply(nil, gt06Status, uint16(10+i)))
	}
	if got := counterSum(r, "dalil_tracker_frames_throttled_total"); got < 1 {
		t.Errorf("throttled = %v, want at least 1", got)
	}
}

// Trying IMEIs one connection after another spends the source address's
// budget of failed logins; then its connections are closed at once, known
// IMEI or not, so the answers tell nothing.
func TestFailedLoginsAreRateLimitedPerSource(t *testing.T) {
	cfg := DefaultConfig()
	cfg.FailedLogins, cfg.FailedLoginBurst = 0.001, 3
	r := newRig(t, "gt06", cfg)
	for i := range 3 {
		c := r.dial()
		send(t, c, gt06LoginFrame(fmt.Sprintf("99999999999999%d", i), 1))
		expectClosed(t, c)
	}
	r.waitClosed(reasonUnknownDevice, 3)
	c := r.dial()
	send(t, c, gt06LoginFrame(imeiBand, 1)) // registered, but this source is out of budget
	expectClosed(t, c)
	r.waitClosed(reasonRateLimited, 1)
}
