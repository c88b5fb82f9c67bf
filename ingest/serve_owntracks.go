package ingest

import (
	"errors"
	"net/http"
	"time"

	"dalil/tracking"
)

// serveOwnTracks handles POST /ingest/owntracks and /pub: OwnTracks in HTTP
// mode. The answer to a delivered message is a JSON array (OwnTracks reads
// it for friends' positions; ours is always empty).
//
// Identity: the user u and device d come from the X-Limit-U / X-Limit-D
// headers, else from ?u=&d=, and u else from the basic-auth user name.
//   - With a basic-auth password and a TokenAuth, the password is the
//     device's token: the token alone decides the device (401 if invalid).
//   - Otherwise the registered device id is the first of "u/d", d, u that
//     the registry knows. "u/d" comes first because device names like
//     "phone" repeat across users; registering OwnTracks devices as
//     "user/device" is unambiguous.
func (h *Handler) serveOwnTracks(w http.ResponseWriter, r *http.Request) {
	defer h.observe(protoOwnTracks, time.Now())
	rs := h.getState()
	defer h.putState(rs)
	now := h.cfg.Now().UTC() // UTC also drops the monotonic reading: positions hold wall time

	if !h.readBody(w, r, rs, h.cfg.MaxSingleBodyBytes) {
		return
	}
	rs.r.reset(rs.body)
	if !rs.ownTracksJSON(&rs.r, now) {
		h.syntaxError(w, rs, "JSON body")
		return
	}
	if len(rs.items) == 0 { // transition, waypoint, lwt, card, …: accepted and ignored
		h.emptyArray(w, rs)
		return
	}
	if h.cfg.MaxBatch > 0 && len(rs.items) > h.cfg.MaxBatch {
		h.m.rejected[reasonTooLarge].Inc()
		rs.out = append(rs.out[:0], "too_large: too many messages in one request"...)
		h.text(w, rs, http.StatusRequestEntityTooLarge)
		return
	}

	dev, vouched, ok := h.ownTracksDevice(w, r, rs)
	if !ok {
		return
	}
	for i := range rs.items {
		rs.items[i].p.Device = dev
	}
	if !h.run(r.Context(), w, rs, protoOwnTracks, now, vouched) {
		return
	}
	if len(rs.items) == 1 && !h.singleOutcome(&rs.items[0], protoOwnTracks) {
		h.faultText(w, rs, rs.items[0].fault)
		return
	}
	h.emptyArray(w, rs)
}

func (h *Handler) emptyArray(w http.ResponseWriter, rs *reqState) {
	rs.out = append(rs.out[:0], "[]"...)
	h.json(w, rs, http.StatusOK)
}

// ownTracksDevice resolves the request's device id (see serveOwnTracks). It
// answers 401, 400 or 503 itself when it fails.
func (h *Handler) ownTracksDevice(w http.ResponseWriter, r *http.Request, rs *reqState) (dev string, vouched, ok bool) {
	user, pass, hasBasic := r.BasicAuth()
	if hasBasic && pass != "" && h.auth != nil {
		dev, err := h.auth.DeviceForToken(r.Context(), pass)
		switch {
		case err == nil && dev != "":
			return dev, true, true
		case errors.Is(err, tracking.ErrUnavailable):
			h.m.unavailable.Inc()
			w.Header().Set("Retry-After", h.retryAfter)
			rs.out = append(rs.out[:0], "unavailable: cannot check the token now, retry later"...)
			h.text(w, rs, http.StatusServiceUnavailable)
		default:
			h.unauthorized(w, rs, `Basic realm="dalil"`)
		}
		return "", false, false
	}

	u, d := r.Header.Get("X-Limit-U"), r.Header.Get("X-Limit-D")
	if u == "" || d == "" {
		rs.query = append(rs.query[:0], r.URL.RawQuery...)
		rs.pr.reset(rs.query)
		for {
			k, v, more := rs.pr.next()
			if !more {
				break
			}
			switch string(k) {
			case "u":
				if u == "" {
					u = string(v)
				}
			case "d":
				if d == "" {
					d = string(v)
				}
			}
		}
	}
	if u == "" && hasBasic {
		u = user
	}
	if h.devices != nil {
		if u != "" && d != "" {
			if id := u + "/" + d; h.known(id) {
				return id, false, true
			}
		}
		if d != "" && h.known(d) {
			return d, false, true
		}
		if u != "" && h.known(u) {
			return u, false, true
		}
	}
	h.m.rejected[reasonUnknownDevice].Add(float64(len(rs.items)))
	rs.out = append(rs.out[:0], "unknown_device: no registered device matches user "...)
	rs.out = appendJSONString(rs.out, u)
	rs.out = append(rs.out, " device "...)
	rs.out = appendJSONString(rs.out, d)
	rs.out = append(rs.out, ` (tried "user/device", device, user)`...)
	h.text(w, rs, http.StatusBadRequest)
	return "", false, false
}

func (h *Handler) known(id string) bool {
	_, ok := h.devices.Device(id)
	return ok
}

// unauthorized answers 401 with a WWW-Authenticate challenge.
func (h *Handler) unauthorized(w http.ResponseWriter, rs *reqState, challenge string) {
	h.m.rejected[reasonUnauthorized].Inc()
	w.Header().Set("WWW-Authenticate", challenge)
	rs.out = append(rs.out[:0], "unauthorized: "...)
	rs.out = append(rs.out, reasonDetails[reasonUnauthorized]...)
	h.text(w, rs, http.StatusUnauthorized)
}
