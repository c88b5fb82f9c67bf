package ingest

import (
	"net/http"
	"time"
)

// serveOsmAnd handles GET|POST /ingest/osmand: the OsmAnd protocol of the
// Traccar Client — parameters in the query string and/or a form body — and
// the JSON body of Traccar Client 9.
func (h *Handler) serveOsmAnd(w http.ResponseWriter, r *http.Request) {
	defer h.observe(protoOsmAnd, time.Now())
	rs := h.getState()
	defer h.putState(rs)
	now := h.cfg.Now().UTC() // UTC also drops the monotonic reading: positions hold wall time

	if !h.readBody(w, r, rs, h.cfg.MaxSingleBodyBytes) {
		return
	}
	if b := trimSpace(rs.body); len(b) > 0 && (b[0] == '{' || b[0] == '[') {
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
	} else {
		o := &rs.osm
		o.reset()
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
	}

	if !h.run(r.Context(), w, rs, protoOsmAnd, now, false) {
		return
	}
	if len(rs.items) == 1 {
		it := &rs.items[0]
		if h.singleOutcome(it, protoOsmAnd) {
			w.WriteHeader(http.StatusOK)
			return
		}
		if it.fault.reason == reasonUnknownDevice {
			rs.out = append(rs.out[:0], "unknown_device: device "...)
			rs.out = appendJSONString(rs.out, it.p.Device)
			rs.out = append(rs.out, " is not registered"...)
			h.text(w, rs, http.StatusBadRequest)
			return
		}
		h.faultText(w, rs, it.fault)
		return
	}
	if allUnknown(rs) {
		// Nothing of an unregistered device is stored: 400, so that the
		// client keeps its fixes until the device is registered.
		rs.out = append(rs.out[:0], "unknown_device: device "...)
		rs.out = appendJSONString(rs.out, rs.items[0].p.Device)
		rs.out = append(rs.out, " is not registered"...)
		h.text(w, rs, http.StatusBadRequest)
		return
	}
	// A batch: the client deletes what it sent on 2xx, so the answer is 200
	// with the per-item outcome, like /v1/pings.
	rs.out = appendBatchResult(rs.out[:0], rs)
	h.json(w, rs, http.StatusOK)
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
