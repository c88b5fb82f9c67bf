package ingest

import (
	"net/http"
	"time"
)

// serveOwnTracks handles POST /ingest/owntracks and /pub: OwnTracks in HTTP
// mode. The answer to a delivered message is a JSON array (OwnTracks reads
// it for friends' positions; ours is always empty).
//
// Identity: with a basic-auth password (required unless Config.OpenIngest)
// the password is the device's token and decides the device (403 if u/d
// name another registered device); it is checked before the body is read,
// and a bad one gets the one refusal of devicetoken.go. In open mode without a password, the user u and device d
// come from the X-Limit-U / X-Limit-D headers, else from ?u=&d=, and u else
// from the basic-auth user name; the device is the first of "u/d", d, u
// that the registry knows ("u/d" first because device names like "phone"
// repeat across users); none: 400 unknown_device.
func (h *Handler) serveOwnTracks(w http.ResponseWriter, r *http.Request) {
	defer h.observe(protoOwnTracks, time.Now())
	rs := h.getState()
	defer h.putState(rs)
	now := h.cfg.Now().UTC() // UTC also drops the monotonic reading: positions hold wall time

	user, pass, _ := r.BasicAuth()
	if pass != "" || !h.cfg.OpenIngest {
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

	// A proven device is its token's device; user and device names that
	// name another registered device are a mix-up (403: two phones'
	// tokens swapped). In open mode the names decide.
	named := h.ownTracksNamed(ownTracksIdentity(r, rs, user))
	dev := rs.tokenDev
	if dev != "" && named != "" && named != dev {
		h.wrongDevice(w, rs)
		return
	}
	if dev == "" {
		dev = named
	}
	if dev == "" {
		h.m.rejected[reasonUnknownDevice].Add(float64(len(rs.items)))
		rs.out = append(rs.out[:0], `unknown_device: no registered device matches the OwnTracks user and device (tried "user/device", device, user)`...)
		h.text(w, rs, http.StatusBadRequest)
		return
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
