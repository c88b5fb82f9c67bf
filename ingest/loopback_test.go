package ingest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// Over a real loopback connection, with the headers the real clients set.
func TestLoopbackClients(t *testing.T) {
	rg := newRig(t)
	rg.now = time.Now().UTC()
	srv := httptest.NewServer(rg.mux)
	defer srv.Close()
	osm := httptest.NewServer(rg.h.OsmAndRoot())
	defer osm.Close()
	now := rg.now

	// Traccar Client (Android): POST, fields in the query, no body.
	resp := post(t, osm.URL+"/?id=dev1&timestamp="+itoa(now.Unix()-5)+"&lat=21.4133&lon=39.8933&speed=0.0&bearing=0.0&altitude=400.0&accuracy=10.0&batt=90.0", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("traccar android: %d", resp.StatusCode)
	}
	// Traccar Client 9: JSON.
	body := `{"location":{"timestamp":"` + now.Add(-4*time.Second).Format(time.RFC3339Nano) + `","coords":{"latitude":21.41331,"longitude":39.8933,"accuracy":5,"speed":0.5,"heading":-1,"altitude":400},"battery":{"level":0.9,"is_charging":false},"is_moving":true,"odometer":3,"event":"","activity":{"type":"on_foot"},"extras":{}},"device_id":"dev1"}`
	if resp = post(t, srv.URL+"/ingest/osmand", body, map[string]string{"Content-Type": "application/json"}); resp.StatusCode != 200 {
		t.Fatalf("traccar 9: %d", resp.StatusCode)
	}
	// OwnTracks Android.
	ot := ownTracksLocation(now.Unix()-3, "21.41332")
	resp = post(t, srv.URL+"/pub", ot, map[string]string{
		"Content-Type": "application/json; charset=utf-8", "User-Agent": "Owntracks-Android/gms/420412000",
		"X-Limit-U": "ali", "X-Limit-D": "phone"})
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "[]" {
		t.Fatalf("owntracks: %d %q", resp.StatusCode, b)
	}
	// Native NDJSON batch.
	nd := nativePing("", now.Add(-2*time.Second), 21.41333) + "\n" + nativePing("dev1", now.Add(-time.Second), 21.41334) + "\n"
	resp = post(t, srv.URL+"/v1/pings", nd, map[string]string{"Content-Type": "application/x-ndjson", "Authorization": "Bearer tok1"})
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != `{"accepted":2,"rejected":[]}`+"\n" {
		t.Fatalf("native: %d %q", resp.StatusCode, b)
	}
	if n := len(rg.sink.all()); n != 5 {
		t.Fatalf("stored %d pings, want 5", n)
	}
}

func post(t *testing.T, url, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// BenchmarkLoopbackNative posts native batches over loopback HTTP/1.1 with
// keep-alive to a no-op sink: the whole HTTP cost included.
func BenchmarkLoopbackNative(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h := benchHandler(b)
			mux := http.NewServeMux()
			h.Register(mux)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			client := srv.Client()
			body := nativeBody(n, true) // stamped relative to testNow, the handler's clock
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for i := range b.N {
				k := i % benchDevices
				if k == 0 && i > 0 {
					freshFilter(b, h)
				}
				req, _ := http.NewRequest("POST", srv.URL+"/v1/pings", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer tok"+strconv.Itoa(k))
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "pings/s")
			cpu.report(b, b.N*n)
		})
	}
}
