package load

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"dalil"
	"dalil/sim/send"
)

// driveStats count the devices' side of the run.
type driveStats struct {
	due, sent, accepted, rejected, failed, requests atomic.Int64
	mu                                              sync.Mutex
	reasons                                         map[string]int64
}

// maxReasons bounds the distinct rejection reasons kept.
const maxReasons = 50

func (s *driveStats) reason(r string, n int64) {
	s.mu.Lock()
	if s.reasons == nil {
		s.reasons = map[string]int64{}
	}
	if _, ok := s.reasons[r]; !ok && len(s.reasons) >= maxReasons {
		r = "other"
	}
	s.reasons[r] += n
	s.mu.Unlock()
}

// drive sends every device's fixes on schedule until end: device i of N
// sends at i/N of each period (Interval×Batch), so the offered rate is
// steady at N/Interval pings per second. When the server cannot keep up the
// schedule falls behind (the workers block) rather than piling up requests;
// the report shows offered against accepted.
func (r *runner) drive(ctx context.Context, start, end time.Time) {
	n := int64(len(r.cfg.Devices))
	period := r.cfg.Interval * time.Duration(r.cfg.Batch)
	jobs := make(chan int32, r.cfg.Conns*4)
	var wg sync.WaitGroup
	for w := range r.cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.worker(ctx, uint64(w), jobs)
		}()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer func() {
		tick.Stop()
		close(jobs)
		wg.Wait()
	}()
	var next int64 // requests scheduled so far
	dueAt := func(t time.Time) int64 { return int64(float64(t.Sub(start)) / float64(period) * float64(n)) }
	// Whatever stops the loop, the schedule's count runs to the end.
	defer func() { r.drv.due.Store(dueAt(minTime(time.Now(), end)) * int64(r.cfg.Batch)) }()
	for {
		now := time.Now()
		if !now.Before(end) {
			return
		}
		due := dueAt(now)
		for ; next < due; next++ {
			select {
			case jobs <- int32(next % n):
			case <-ctx.Done():
				return
			}
			if time.Now().After(end) {
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// worker sends the requests for the devices it is handed.
func (r *runner) worker(ctx context.Context, id uint64, jobs <-chan int32) {
	rng := rand.New(rand.NewPCG(uint64(r.cfg.Seed), id))
	var body, path []byte
	for i := range jobs {
		d := &r.cfg.Devices[i]
		now := time.Now()
		proto := r.cfg.Protocol.For(d.ID)
		k := 1
		if proto == send.Native {
			k = r.cfg.Batch
		}
		body, path = body[:0], path[:0]
		var newest dalil.Position
		for j := k - 1; j >= 0; j-- {
			p := fixNear(rng, d, now.Add(-time.Duration(j)*r.cfg.Interval))
			newest = p
			switch proto {
			case send.Native:
				body = send.AppendNative(body, p)
			case send.OsmAnd:
				path = append(path, r.osmandPath...)
				path = send.AppendOsmAndQuery(path, p)
			case send.OwnTracks:
				body = append(body, send.OwnTracksJSON(p)...)
			}
		}
		req, err := r.newRequest(ctx, proto, d.ID, i, path, body)
		if err != nil {
			r.drv.failed.Add(int64(k))
			continue
		}
		if slot := r.slotOf[i]; slot >= 0 {
			ts := newest.Time.UnixMilli()
			if proto != send.Native {
				ts = newest.Time.Unix() * 1000 // OsmAnd and OwnTracks carry seconds
			}
			r.clock.sent(slot, ts, time.Now())
		}
		r.drv.sent.Add(int64(k))
		r.drv.requests.Add(1)
		r.answer(proto, k, req)
	}
}

func (r *runner) newRequest(ctx context.Context, proto send.Protocol, device string, i int32, path, body []byte) (*http.Request, error) {
	var req *http.Request
	var err error
	switch proto {
	case send.Native:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, r.nativeURL, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-ndjson")
			req.Header.Set("Authorization", "Bearer "+r.tokens[i])
		}
	case send.OsmAnd:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, r.osmandBase+string(path), nil)
		if err == nil && r.tokens[i] != "" {
			req.Header.Set("Authorization", "Bearer "+r.tokens[i])
		}
	default:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/ingest/owntracks", bytes.NewReader(body))
		if err == nil {
			u, d := send.OwnTracksUser(device)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Limit-U", u)
			req.Header.Set("X-Limit-D", d)
			if r.tokens[i] != "" {
				req.SetBasicAuth(u, r.tokens[i])
			}
		}
	}
	return req, err
}

// answer sends req and counts what the server made of its k pings.
func (r *runner) answer(proto send.Protocol, k int, req *http.Request) {
	resp, err := r.client.Do(req)
	if err != nil {
		r.drv.failed.Add(int64(k))
		if req.Context().Err() == nil {
			r.drv.reason("network: "+shortErr(err), int64(k))
		}
		return
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2 && proto == send.Native:
		var a struct {
			Accepted int `json:"accepted"`
			Rejected []struct {
				Reason string `json:"reason"`
			} `json:"rejected"`
		}
		if json.Unmarshal(data, &a) != nil {
			r.drv.accepted.Add(int64(k))
			return
		}
		r.drv.accepted.Add(int64(a.Accepted))
		r.drv.rejected.Add(int64(len(a.Rejected)))
		for _, x := range a.Rejected {
			r.drv.reason(string(proto)+": "+x.Reason, 1)
		}
	case resp.StatusCode/100 == 2:
		r.drv.accepted.Add(int64(k))
	case resp.StatusCode/100 == 4:
		r.drv.rejected.Add(int64(k))
		r.drv.reason(string(proto)+": "+resp.Status+" "+shortBody(data), int64(k))
	default:
		r.drv.failed.Add(int64(k))
		r.drv.reason(string(proto)+": "+resp.Status, int64(k))
	}
}

// fixNear is a fix a few metres from the device's home: a pilgrim resting in
// their tent, with GPS noise of an 8 m accuracy.
func fixNear(rng *rand.Rand, d *Device, t time.Time) dalil.Position {
	const sigma = 8 / 1.5
	dn, de := rng.NormFloat64()*sigma, rng.NormFloat64()*sigma
	lat := d.Home.Lat + dn/111_195
	lon := d.Home.Lon + de/(111_195*math.Cos(d.Home.Lat*math.Pi/180))
	return dalil.Position{
		Device: d.ID, Time: t.UTC().Truncate(time.Millisecond),
		Lat: round7(lat), Lon: round7(lon), Accuracy: 8,
		Speed: dalil.Unknown, Heading: dalil.Unknown, Altitude: dalil.Unknown, Battery: 80,
	}
}

func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[len(s)-80:]
	}
	return s
}

// shortBody is the "error" of a JSON error body, or the start of the body.
func shortBody(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		b = []byte(e.Error)
	}
	b = bytes.TrimSpace(b)
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
