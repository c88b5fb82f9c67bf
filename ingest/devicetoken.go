package ingest

import (
	"errors"
	"net/http"

	"dalil/tracking"
)

// Device tokens on the OsmAnd and OwnTracks endpoints.
//
// Traccar and stock OsmAnd/OwnTracks setups identify a device by its id
// alone, so by default a token is optional there. With
// Config.RequireDeviceToken every OsmAnd and OwnTracks request must carry
// the device's token (the one /v1/pings uses), and a token proves only its
// own device: a stranger who learns a pilgrim's device id cannot move the
// pilgrim's position.
//
// Tokens are secrets: they are never logged or echoed in an answer.

// authDevice checks a token presented by a single-ping client. It returns
// the token's device, "" when no token was presented and none is required,
// and ok=false after answering 401 (missing or invalid token) or 503 (token
// store unavailable) itself. challenge is the WWW-Authenticate scheme and
// realm sent with a 401.
func (h *Handler) authDevice(w http.ResponseWriter, r *http.Request, rs *reqState, token []byte, challenge string) (dev string, ok bool) {
	if len(token) == 0 {
		if !h.cfg.RequireDeviceToken {
			return "", true
		}
		detail := missingTokenOsmAnd
		if challenge == challengeBasic {
			detail = missingTokenOwnTracks
		}
		h.unauthorized(w, rs, challenge, detail)
		return "", false
	}
	if h.auth == nil {
		if !h.cfg.RequireDeviceToken {
			return "", true // no token store: a token cannot be checked, and the id decides (as before tokens)
		}
		h.unauthorized(w, rs, challenge+`, error="invalid_token"`, "the device token is not valid")
		return "", false
	}
	return h.tokenDevice(w, r, rs, string(token), challenge)
}

// tokenDevice resolves a token to its device, answering 401 or 503 itself
// when it cannot.
func (h *Handler) tokenDevice(w http.ResponseWriter, r *http.Request, rs *reqState, token, challenge string) (string, bool) {
	dev, err := h.auth.DeviceForToken(r.Context(), token)
	switch {
	case err == nil && dev != "":
		return dev, true
	case errors.Is(err, tracking.ErrUnavailable):
		h.m.unavailable.Inc()
		w.Header().Set("Retry-After", h.retryAfter)
		rs.out = append(rs.out[:0], "unavailable: cannot check the token now, retry later"...)
		h.text(w, rs, http.StatusServiceUnavailable)
	default:
		h.unauthorized(w, rs, challenge+`, error="invalid_token"`, "the device token is not valid")
	}
	return "", false
}

const (
	challengeBearer = `Bearer realm="dalil"`
	challengeBasic  = `Basic realm="dalil"`
)

// The answers to a client without a token say where to put it.
const (
	missingTokenOsmAnd    = "this server requires the device token: add token=<token> to the server URL or the form, or send Authorization: Bearer <token>"
	missingTokenOwnTracks = "this server requires the device token as the HTTP basic-auth password (OwnTracks: Identification > Password)"
)

// wrongDevice answers 403: a valid token presented for a device that is not
// its own. The token's own device is not named, only the one asked for.
func (h *Handler) wrongDevice(w http.ResponseWriter, rs *reqState, asked string) {
	h.m.rejected[reasonWrongDevice].Inc()
	rs.out = append(rs.out[:0], "wrong_device: the token belongs to another device than "...)
	rs.out = appendJSONString(rs.out, asked)
	rs.out = append(rs.out, "; a device may post only its own positions"...)
	h.text(w, rs, http.StatusForbidden)
}

// unauthorized answers 401 with a WWW-Authenticate challenge and a reason.
func (h *Handler) unauthorized(w http.ResponseWriter, rs *reqState, challenge, detail string) {
	h.m.rejected[reasonUnauthorized].Inc()
	w.Header().Set("WWW-Authenticate", challenge)
	rs.out = append(rs.out[:0], "unauthorized: "...)
	rs.out = append(rs.out, detail...)
	h.text(w, rs, http.StatusUnauthorized)
}

// queryToken copies the "token" parameter of a URL query into dst (the
// last one wins, as for every OsmAnd field).
func (rs *reqState) queryToken(dst []byte, rawQuery string) []byte {
	rs.query = append(rs.query[:0], rawQuery...)
	rs.pr.reset(rs.query)
	for {
		k, v, more := rs.pr.next()
		if !more {
			return dst
		}
		if string(k) == "token" {
			dst = append(dst[:0], trimSpace(v)...)
		}
	}
}
