package tracker

import (
	"bytes"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"dalil"
)

// A V1 location in the form the H02 protocol document gives (Shenzhen,
// 2015-08-10 14:54:52 UTC).
const docH02V1 = "*HQ,865205030330012,V1,145452,A,2240.55181,N,11358.32389,E,0.00,0,100815,FFFFFBFF#"

// expectH02Reply reads one *HQ,<imei>,V4,<typ>,<14 digits># answer.
func expectH02Reply(t *testing.T, r io.Reader, imei, typ string) {
	t.Helper()
	buf := make([]byte, 0, 64)
	one := make([]byte, 1)
	for !bytes.HasSuffix(buf, []byte("#")) && len(buf) < 64 {
		if _, err := r.Read(one); err != nil {
			t.Fatalf("reading answer (have %q): %v", buf, err)
		}
		buf = append(buf, one[0])
	}
	re := regexp.MustCompile(`^\*HQ,` + imei + `,V4,` + typ + `,20\d{12}#$`)
	if !re.Match(buf) {
		t.Fatalf("answer %q, want *HQ,%s,V4,%s,<yyyyMMddHHmmss>#", buf, imei, typ)
	}
}

func TestH02DocumentedFrame(t *testing.T) {
	r := newRig(t, "h02", DefaultConfig(), noMaxAge)
	c := r.dial()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	send(t, c, []byte(docH02V1))
	expectH02Reply(t, c, imeiH02, "V1")
	p := r.sink.WaitStored(t, 1, 5*time.Second)[0]
	want := time.Date(2015, 8, 10, 14, 54, 52, 0, time.UTC)
	if p.Device != imeiH02 || !p.Time.Equal(want) || math.Abs(p.Lat-(22+40.55181/60)) > 1e-9 ||
		math.Abs(p.Lon-(113+58.32389/60)) > 1e-9 || p.Speed != 0 || p.Heading != 0 || p.Source != dalil.SourceH02 {
		t.Errorf("stored %+v", p)
	}
}

func TestH02LiveSession(t *testing.T) {
	r := newRig(t, "h02", DefaultConfig())
	c := r.dial()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	now := time.Now().UTC().Add(-time.Minute)
	hms, dmy := now.Format("150405"), now.Format("020106")
	send(t, c, []byte("*HQ,"+imeiBand+",V1,"+hms+",A,2125.2700,N,03949.5400,E,5.40,182,"+dmy+",FFFFFBFF#\r\n"))
	expectH02Reply(t, c, imeiBand, "V1")
	send(t, c, []byte("*HQ,"+imeiBand+",V1,"+hms+",V,2125.2700,N,03949.5400,E,0.00,0,"+dmy+",FFFFFBFF#")) // no fix
	expectH02Reply(t, c, imeiBand, "V1")
	send(t, c, []byte("*HQ,"+imeiBand+",V1,"+hms+",V,,,,,,,"+dmy+",FFFFFBFF#")) // no fix, fields empty
	expectH02Reply(t, c, imeiBand, "V1")
	send(t, c, []byte("*HQ,"+imeiBand+",HTBT#"))
	expectH02Reply(t, c, imeiBand, "HTBT")
	ps := r.sink.WaitStored(t, 1, 5*time.Second)
	if len(ps) != 1 {
		t.Fatalf("%d stored, want 1 (the second has no fix)", len(ps))
	}
	p := ps[0]
	if p.Device != imeiBand || !p.Time.Equal(now.Truncate(time.Second)) || math.Abs(p.Lat-21.4211667) > 1e-6 ||
		math.Abs(p.Lon-39.8256667) > 1e-6 || math.Abs(float64(p.Speed)-5.4*1852/3600) > 1e-4 || p.Heading != 182 {
		t.Errorf("stored %+v", p)
	}
}

func TestH02Refusals(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxFrame = 256
	r := newRig(t, "h02", cfg)
	v1 := func(imei string) string {
		now := time.Now().UTC().Add(-time.Second)
		return "*HQ," + imei + ",V1," + now.Format("150405") + ",A,2125.2700,N,03949.5400,E,0,0," + now.Format("020106") + ",FFFFFBFF#"
	}
	for _, c := range []struct {
		name, reason, frames string
	}{
		{"unknown IMEI", reasonUnknownDevice, v1("999999999999999")},
		{"a phone's id", reasonUnknownDevice, v1(imeiPhone)},
		{"binary variant", reasonMalformed, "$\x86\x52\x05\x03\x03"},
		{"bad latitude", reasonMalformed, strings.Replace(v1(imeiBand), "2125.2700", "21x5.2700", 1)},
		{"minutes ≥ 60", reasonMalformed, strings.Replace(v1(imeiBand), "2125.2700", "2175.2700", 1)},
		{"no end", reasonTooLarge, "*HQ," + imeiBand + ",V1," + strings.Repeat("9", 400)},
		{"IMEI changes", reasonMalformed, v1(imeiBand) + v1(imeiTag)},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := r.closed(c.reason)
			conn := r.dial()
			send(t, conn, []byte(c.frames))
			if c.name == "IMEI changes" {
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				expectH02Reply(t, conn, imeiBand, "V1")
			}
			expectClosed(t, conn)
			r.waitClosed(c.reason, before+1)
		})
	}
}
