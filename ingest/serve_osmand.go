package ingest

import (
	"net/http"
	"time"
)

// serveOsmAnd handles GET|POST /ingest/osmand: the OsmAnd protocol of the
// Traccar Client — parameters in the query string and/or a form body — and
// the JSON body of Traccar Client 9.
//
// The device proves itself with its token or its enrolled id (required
// unless Config.OpenIngest; see devicetoken.go): otherwise 401, the same
// answer whatever was wrong. A token must be that of the device the
// request names (403 otherwise).
func (h *Handler) serveOsmAnd(w http.ResponseWriter, r *http.Request) {
	defer h.observe(protoOsmAnd, time.Now())
	rs := h.getState()
	defer h.putState(rs)
	now := h.cfg.Now().UTC() // UTC also drops the monotonic reading: positions hold wall time

	if !h.readBody(w, r, rs, h.cfg.MaxSingleBodyBytes) {
		return
	}
	o := &rs.osm
	o.reset()
	// The token: an "Authorization: Bearer" header, else a "token" field
	// of the form body or the query (Traccar Client keeps a query string
	// of its server URL, http://host:5055/?token=… , and appends its own
	// fields to it).
	bearer := bearerToken(r.Header.Get("Authorization"))
	if b := trimSpace(rs.body); len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		if bearer != "" {
			o.token = append(o.token[:0], bearer...)
		} else {
			o.token = rs.queryToken(o.token, r.URL.RawQuery)
		}
		rs.r.reset(rs.body)
		if !rs.traccarJSON(&rs.r, now) {
			h.syntaxError(w, rs, "JSON body")
			return
		}
		if h.cfg.MaxBatch > 0 && len(rs.items) > h.cfg.MaxBatch {
			h.m.rejected[reasonTooLarge].Inc()
			rs.out = append(rs.out[:0], "too_large: too many locations in one request"...)
			h.text(w, rs, http.StatusRequestEntityTooLarge)
			return
		}
		if !h.osmandAuth(w, r, rs) {
			return
		}
	} else {
		rs.query = append(rs.query[:0], r.URL.RawQuery...)
		rs.pr.reset(rs.query)
		o.params(&rs.pr)
		if len(b) > 0 {
			rs.pr.reset(b)
			o.params(&rs.pr)
		}
		o.finish(now, h.cfg.HDOPMetres)
		if len(o.id) == 0 {
			o.it.setFault(reasonMalformed, "id", "missing")
		} else {
			o.it.p.Device = string(o.id)
		}
		*rs.addItem(0) = o.it
		if bearer != "" {
			o.token = append(o.token[:0], bearer...)
		}
		if !h.osmandAuth(w, r, rs) {
			return
		}
	}
	if rs.tokenDev != "" {
		for i := range rs.items {
			if d := rs.items[i].p.Device; d != "" && d != rs.tokenDev {
				h.wrongDevice(w, rs)
				return
			}
		}
	}

	if !h.run(r.Context(), w, rs, protoOsmAnd, now, rs.tokenDev != "") {
		return
	}
	if len(rs.items) == 1 {
		it := &rs.items[0]
		if h.singleOutcome(it, protoOsmAnd) {
			w.WriteHeader(http.StatusOK)
			return
		}
		if it.fault.reason == reasonUnknownDevice {
			rs.out = append(rs.out[:0], "unknown_device: the device is not registered"...)
			h.text(w, rs, http.StatusBadRequest)
			return
		}
		h.faultText(w, rs, it.fault)
		return
	}
	if allUnknown(rs) {
		// Nothing of an unregistered device is stored: 400, so that the
		// client keeps its fixes until the device is registered.
		rs.out = append(rs.out[:0], "unknown_device: the device is not registered"...)
		h.text(w, rs, http.StatusBadRequest)
		return
	}
	// A batch: the client deletes what it sent on 2xx, so the answer is 200
	// with the per-item outcome, like /v1/pings.
	rs.out = appendBatchResult(rs.out[:0], rs)
	h.json(w, rs, http.StatusOK)
}

// osmandAuth checks the token in rs.osm.token (see authDevice), or without
// one the decoded items' ids (see proveIDs), and keeps the proven device in
// rs.tokenDev. It answers 401, 429 or 503 itself when it fails.
func (h *Handler) osmandAuth(w http.ResponseWriter, r *http.Request, rs *reqState) bool {
	if len(rs.osm.token) == 0 {
		return h.proveIDs(w, r, rs)
	}
	dev, ok := h.authDevice(w, r, rs, rs.osm.token, challengeBearer)
	rs.tokenDev = dev
	return ok
}

// allUnknown reports whether every item of a non-empty request was refused
// because its device is not registered.
func allUnknown(rs *reqState) bool {
	for i := range rs.items {
		if rs.items[i].fault.reason != reasonUnknownDevice {
			return false
		}
	}
	return len(rs.items) > 0
}
