package ingest

import (
	"errors"
	"io"
	"slices"

	"dalil"
)

// reqState is everything one request needs, pooled so that the hot path
// reuses its buffers instead of allocating them per request.
type reqState struct {
	body     []byte
	query    []byte
	items    []item
	ok       []dalil.Position // the pings handed to the sink
	sessions []session
	id       []byte
	out      []byte
	r        jsonReader
	pr       paramReader
	osm      osmandPing
	tokenDev string // the device of the request's valid token, "" if none
}

// session is the filter state of one device for the duration of a request.
type session struct {
	dev      string
	st       devState
	maxSpeed float64
	known    bool // the device is registered (or the token vouched for it)
	resolved bool // known has been decided
	used     bool // st changed and must be stored
}

// maxPooledBody keeps one huge request from pinning its buffer forever.
const maxPooledBody = 8 << 20

func (rs *reqState) clear() {
	if cap(rs.body) > maxPooledBody {
		rs.body = nil
	}
	rs.body = rs.body[:0]
	rs.query = rs.query[:0]
	clear(rs.items) // drop Device strings for the collector
	rs.items = rs.items[:0]
	clear(rs.ok)
	rs.ok = rs.ok[:0]
	clear(rs.sessions)
	rs.sessions = rs.sessions[:0]
	rs.id = rs.id[:0]
	clear(rs.osm.token) // a secret: do not leave it in a pooled buffer
	rs.osm.token = rs.osm.token[:0]
	rs.tokenDev = ""
	rs.out = rs.out[:0]
	rs.r.reset(nil)
	rs.pr.reset(nil)
}

// addItem appends a fresh item, reusing the slice's capacity.
func (rs *reqState) addItem(src dalil.Source) *item {
	if len(rs.items) < cap(rs.items) {
		rs.items = rs.items[:len(rs.items)+1]
	} else {
		rs.items = append(rs.items, item{})
	}
	it := &rs.items[len(rs.items)-1]
	it.reset(src)
	return it
}

// session returns the request's session for dev, loading the filter state
// on first use. Requests carry one device almost always, so a linear search
// beats a map.
func (rs *reqState) session(f *filter, dev string, defaultMaxSpeed float64) *session {
	for i := range rs.sessions {
		if rs.sessions[i].dev == dev {
			return &rs.sessions[i]
		}
	}
	rs.sessions = append(rs.sessions, session{dev: dev, st: f.load(dev), maxSpeed: defaultMaxSpeed})
	return &rs.sessions[len(rs.sessions)-1]
}

var errTooLarge = errors.New("body too large")

// readBody reads at most limit bytes of body into buf, returning errTooLarge
// as soon as the body is known to be longer.
func readBody(body io.Reader, contentLength int64, buf []byte, limit int64) ([]byte, error) {
	buf = buf[:0]
	if contentLength > limit {
		return buf, errTooLarge
	}
	if body == nil {
		return buf, nil
	}
	if contentLength > 0 {
		buf = slices.Grow(buf, int(contentLength)+1)
	} else if cap(buf) < 512 {
		buf = slices.Grow(buf, 512)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), int(limit)+1))
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
