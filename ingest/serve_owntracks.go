package ingest

import (
	"net/http"
	"time"
)

// serveOwnTracks handles POST /ingest/owntracks and /pub: OwnTracks in HTTP
// mode. The answer to a delivered message is a JSON array (OwnTracks reads
// it for friends' positions; ours is always empty).
//
// Identity: the user u and device d come from the X-Limit-U / X-Limit-D
// headers, else from ?u=&d=, and u else from the basic-auth user name. The
// device they name is the first of "u/d", d, u that the registry knows
// ("u/d" first because device names like "phone" repeat across users;
// registering OwnTracks devices as "user/device" is unambiguous).
//   - With a basic-auth password and a TokenAuth, the password is the
//     device's token and decides the device: 401 if it is not valid, 403
//     if u/d name another registered device. The token is checked before
//     the body is read.
//   - With Config.RequireDeviceToken a request without a password is
//     refused (401), whatever message it carries.
//   - Otherwise the named device is the device; none: 400 unknown_device.
func (h *Handler) serveOwnTracks(w http.ResponseWriter, r *http.Request) {
	defer h.observe(protoOwnTracks, time.Now())
	rs := h.getState()
	defer h.putState(rs)
	now := h.cfg.Now().UTC() // UTC also drops the monotonic reading: positions hold wall time

	user, pass, _ := r.BasicAuth()
	if pass != "" && h.auth != nil || h.cfg.RequireDeviceToken {
		rs.osm.token = append(rs.osm.token[:0], pass...)
		dev, ok := h.authDevice(w, r, rs, rs.osm.token, challengeBasic)
		if !ok {
			return
		}
		rs.tokenDev = dev
	}

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

	u, d := ownTracksIdentity(r, rs, user)
	named := h.ownTracksNamed(u, d)
	dev := rs.tokenDev
	switch {
	case dev != "" && named != "" && named != dev:
		h.wrongDevice(w, rs, named)
		return
	case dev == "" && named == "":
		h.m.rejected[reasonUnknownDevice].Add(float64(len(rs.items)))
		rs.out = append(rs.out[:0], "unknown_device: no registered device matches user "...)
		rs.out = appendJSONString(rs.out, u)
		rs.out = append(rs.out, " device "...)
		rs.out = appendJSONString(rs.out, d)
		rs.out = append(rs.out, ` (tried "user/device", device, user)`...)
		h.text(w, rs, http.StatusBadRequest)
		return
	case dev == "":
		dev = named
	}
	for i := range rs.items {
		rs.items[i].p.Device = dev
	}
	if !h.run(r.Context(), w, rs, protoOwnTracks, now, rs.tokenDev != "") {
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

// ownTracksIdentity returns the OwnTracks user and device of a request:
// X-Limit-U / X-Limit-D, else ?u=&d=, and the user else the basic-auth
// user name.
func ownTracksIdentity(r *http.Request, rs *reqState, basicUser string) (u, d string) {
	u, d = r.Header.Get("X-Limit-U"), r.Header.Get("X-Limit-D")
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
	if u == "" {
		u = basicUser
	}
	return u, d
}

// ownTracksNamed returns the registered device that u and d name: the
// first of "u/d", d, u the registry knows, "" if none.
func (h *Handler) ownTracksNamed(u, d string) string {
	if h.devices == nil {
		return ""
	}
	if u != "" && d != "" {
		if id := u + "/" + d; h.known(id) {
			return id
		}
	}
	if d != "" && h.known(d) {
		return d
	}
	if u != "" && h.known(u) {
		return u
	}
	return ""
}

func (h *Handler) known(id string) bool {
	_, ok := h.devices.Device(id)
	return ok
}
