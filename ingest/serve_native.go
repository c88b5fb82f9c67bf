package ingest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveNative handles POST /v1/pings: a batch of one device's pings
// authenticated by its token ("Authorization: Bearer <token>"). The answer
// is 200 with {"accepted":N,"rejected":[{"index":i,"reason":…}]} as soon as
// the accepted pings are durable; a device resends only on 5xx.
func (h *Handler) serveNative(w http.ResponseWriter, r *http.Request) {
	defer h.observe(protoNative, time.Now())
	rs := h.getState()
	defer h.putState(rs)
	now := h.cfg.Now().UTC() // UTC also drops the monotonic reading: positions hold wall time

	token := bearerToken(r.Header.Get("Authorization"))
	if token == "" {
		if !h.limited(w, rs, r) {
			h.refuse(w, r, rs, challengeBearer)
		}
		return
	}
	dev, ok := h.tokenDevice(w, r, rs, token, challengeBearer)
	if !ok {
		return
	}

	if !h.readBody(w, r, rs, h.cfg.MaxBodyBytes) {
		return
	}
	rs.r.reset(rs.body)
	ok, tooMany := rs.nativeBatch(&rs.r, dev, h.cfg.MaxBatch)
	if tooMany {
		h.m.rejected[reasonTooLarge].Inc()
		rs.out = append(rs.out[:0], "too_large: more than "...)
		rs.out = strconv.AppendInt(rs.out, int64(h.cfg.MaxBatch), 10)
		rs.out = append(rs.out, " pings in one request"...)
		h.text(w, rs, http.StatusRequestEntityTooLarge)
		return
	}
	if !ok {
		item := max(0, len(rs.items)-1)
		rs.items = rs.items[:0]
		h.syntaxError(w, rs, "item "+strconv.Itoa(item))
		return
	}
	if !h.run(r.Context(), w, rs, protoNative, now, true) {
		return
	}
	rs.out = appendBatchResult(rs.out[:0], rs)
	h.json(w, rs, http.StatusOK)
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header ("" if absent); the scheme is case-insensitive (RFC 9110).
func bearerToken(h string) string {
	const prefix = "bearer "
	if len(h) <= len(prefix) {
		return ""
	}
	for i := range len(prefix) {
		c := h[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return ""
		}
	}
	return strings.TrimSpace(h[len(prefix):])
}
