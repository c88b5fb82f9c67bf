package ingest

import (
	"errors"
	"net/http"
	"strconv"

	"dalil"
)

// How a device proves itself (docs/ingest.md).
//
// By default (Config.OpenIngest off) a fix is accepted only from a device
// that proved itself:
//   - native /v1/pings: its device token as "Authorization: Bearer";
//   - OsmAnd: its device token (a "token" query or form field, or
//     "Authorization: Bearer"), or — for Traccar Client, which can send
//     nothing but an id — the unguessable id it was enrolled with, which is
//     a device token used as the id;
//   - OwnTracks: its device token as the HTTP basic-auth password.
//
// Every device that did not prove itself gets one and the same answer —
// unknown id, wrong token, no token, revoked token — so that the answer
// never tells a stranger which ids exist. Each refusal is counted
// (dalil_pings_rejected_total{reason="unauthorized"}) and spends the
// source address's failure budget (authLimiter).
//
// With Config.OpenIngest a device may still be named by its registered id
// alone, as in Traccar; a token that is presented is checked either way.
//
// Tokens and enrolled ids are secrets: never logged or echoed in an answer.

// notProven is the one answer to every device that did not prove itself.
const notProven = "unauthorized: the device did not prove itself; send the device id it was enrolled with or its device token" +
	" (OsmAnd: token=<token> or Authorization: Bearer; OwnTracks: the HTTP password); see docs/ingest.md"

const (
	challengeBearer = `Bearer realm="dalil"`
	challengeBasic  = `Basic realm="dalil"`
)

// authDevice checks a token presented by a single-ping client (none: in
// open mode the id decides, else the request is refused). It returns the
// token's device ("" when the id decides) and ok=false after answering 401,
// 429 or 503 itself. challenge is the WWW-Authenticate value of a 401.
func (h *Handler) authDevice(w http.ResponseWriter, r *http.Request, rs *reqState, token []byte, challenge string) (dev string, ok bool) {
	if len(token) == 0 {
		if h.cfg.OpenIngest {
			return "", true
		}
		if !h.limited(w, rs, r) {
			h.refuse(w, r, rs, challenge)
		}
		return "", false
	}
	if h.auth == nil && h.cfg.OpenIngest {
		return "", true // no token store: a token cannot be checked, and the id decides (as before tokens)
	}
	return h.tokenDevice(w, r, rs, string(token), challenge)
}

// tokenDevice resolves a token (or an enrolled id, which is a token) to its
// device, answering 401, 429 or 503 itself when it cannot.
func (h *Handler) tokenDevice(w http.ResponseWriter, r *http.Request, rs *reqState, token, challenge string) (string, bool) {
	if h.limited(w, rs, r) {
		return "", false
	}
	if h.auth == nil {
		h.refuse(w, r, rs, challenge)
		return "", false
	}
	dev, err := h.auth.DeviceForToken(r.Context(), token)
	switch {
	case err == nil && dev != "":
		return dev, true
	case errors.Is(err, dalil.ErrUnavailable):
		h.m.unavailable.Inc()
		w.Header().Set("Retry-After", h.retryAfter)
		rs.out = append(rs.out[:0], "unavailable: cannot check the device's credential now, retry later"...)
		h.text(w, rs, http.StatusServiceUnavailable)
	default:
		h.refuse(w, r, rs, challenge)
	}
	return "", false
}

// proveIDs authenticates an OsmAnd request that carries no token: in open
// mode the ids decide later (run); otherwise every item's id must be an
// enrolled id, and is replaced by the device it was enrolled for. It
// answers 401, 429 or 503 itself and returns false when it fails.
func (h *Handler) proveIDs(w http.ResponseWriter, r *http.Request, rs *reqState) bool {
	if h.cfg.OpenIngest {
		return true
	}
	var lastID, lastDev string
	for i := range rs.items {
		p := &rs.items[i].p
		if p.Device == "" {
			continue // malformed already: no id to prove
		}
		if p.Device != lastID {
			dev, ok := h.tokenDevice(w, r, rs, p.Device, challengeBearer)
			if !ok {
				return false
			}
			lastID, lastDev = p.Device, dev
		}
		p.Device = lastDev
		if rs.tokenDev == "" {
			rs.tokenDev = lastDev
		}
	}
	return true
}

// limited answers 429 when the request's source has spent its failure
// budget; the credential is then not checked at all.
func (h *Handler) limited(w http.ResponseWriter, rs *reqState, r *http.Request) bool {
	wait, blocked := h.limiter.blocked(r)
	if !blocked {
		return false
	}
	h.m.rejected[reasonRateLimited].Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+999_999_999)/1_000_000_000)))
	rs.out = append(rs.out[:0], "rate_limited: too many failed device authentications from this address, retry later"...)
	h.text(w, rs, http.StatusTooManyRequests)
	return true
}

// refuse answers 401 to a device that did not prove itself, always with
// the same challenge and text, counts it and spends the source's budget.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, rs *reqState, challenge string) {
	h.limiter.failed(r)
	h.m.rejected[reasonUnauthorized].Inc()
	w.Header().Set("WWW-Authenticate", challenge)
	rs.out = append(rs.out[:0], notProven...)
	h.text(w, rs, http.StatusUnauthorized)
}

// wrongDevice answers 403: a proven device named another device than its
// own. Neither device is named in the answer.
func (h *Handler) wrongDevice(w http.ResponseWriter, rs *reqState) {
	h.m.rejected[reasonWrongDevice].Inc()
	rs.out = append(rs.out[:0], "wrong_device: the token belongs to another device than the one named; a device may post only its own positions"...)
	h.text(w, rs, http.StatusForbidden)
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
