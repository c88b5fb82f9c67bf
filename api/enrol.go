package api

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"dalil"
	"dalil/helpdesk"
)

// Enrolment: an operator or admin registers a phone or tracker for a
// pilgrim or a bag (POST /v1/enrolments) and gets back what configures the
// phone app in one scan. The device gets a public id (enr-…, shown in the
// console and the registry) and a device token, its secret:
//   - Traccar Client sends only an id, so its id is the secret itself
//     (ingest maps it to the public id; docs/ingest.md);
//   - OwnTracks sends the secret as its HTTP password.
//
// The secret is shown in this answer only; the server keeps its hash. The
// device and its token are ordinary registry and token records, so they
// survive a restart on either store; revoking the token (DELETE
// /v1/tokens/{token_id}) cuts the device off.

// enrolRequest is POST /v1/enrolments: exactly one of Pilgrim and Bag.
type enrolRequest struct {
	Pilgrim string           `json:"pilgrim"`
	Bag     string           `json:"bag"`
	Kind    dalil.DeviceKind `json:"kind"` // default phone for a pilgrim, luggage-tag for a bag
}

// Enrolment answers POST /v1/enrolments.
type Enrolment struct {
	Device  dalil.Device `json:"device"`
	TokenID string       `json:"token_id"`
	// Secret is the device's token: shown this once.
	Secret    string         `json:"secret"`
	Traccar   TraccarSetup   `json:"traccar"`
	OwnTracks OwnTracksSetup `json:"owntracks"`
	Native    NativeSetup    `json:"native"`
}

// TraccarSetup configures Traccar Client: its QR scanner reads Link (an
// http(s) URL whose origin and path become the server URL and whose "id"
// becomes the device identifier).
type TraccarSetup struct {
	ServerURL string `json:"server_url"`
	DeviceID  string `json:"device_id"`
	Link      string `json:"link"`
	QRPNG     string `json:"qr_png"` // data:image/png;base64,…
}

// OwnTracksSetup configures OwnTracks in HTTP mode: Config is its
// configuration message (save it as a .otrc file, or open Link, which
// OwnTracks imports).
type OwnTracksSetup struct {
	Config ownTracksConfig `json:"config"`
	Link   string          `json:"link"`
	QRPNG  string          `json:"qr_png"`
}

// ownTracksConfig is the subset of OwnTracks' configuration message that
// points the app at Dalil (mode 3 is HTTP).
type ownTracksConfig struct {
	Type     string `json:"_type"`
	Mode     int    `json:"mode"`
	URL      string `json:"url"`
	Auth     bool   `json:"auth"`
	Username string `json:"username"`
	Password string `json:"password"`
	DeviceID string `json:"deviceId"`
	TID      string `json:"tid"`
}

// NativeSetup is for a device that speaks the native protocol.
type NativeSetup struct {
	URL           string `json:"url"`
	Authorization string `json:"authorization"`
}

// enrolBaseURL is where devices reach this server: Config.PublicURL, else
// the scheme and host the request came in on.
func (s *Server) enrolBaseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *desk) handleEnrol(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin, RoleOperator)
	if !ok {
		return
	}
	var req enrolRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case (req.Pilgrim == "") == (req.Bag == ""):
		writeError(w, http.StatusBadRequest, "give exactly one of pilgrim (a PID) and bag (a luggage tag)", "pilgrim")
		return
	case req.Kind == "" && req.Bag != "":
		req.Kind = dalil.DeviceLuggageTag
	case req.Kind == "":
		req.Kind = dalil.DevicePhone
	}
	switch req.Kind {
	case dalil.DevicePhone, dalil.DeviceWristband, dalil.DeviceLuggageTag:
	default:
		writeError(w, http.StatusBadRequest, "kind must be phone, wristband or luggage-tag", "kind")
		return
	}
	dev := dalil.Device{ID: "enr-" + hex.EncodeToString(randomBytes(6)), Kind: req.Kind}
	target := "pilgrim:" + req.Pilgrim
	var bag helpdesk.LuggageItem
	if req.Pilgrim != "" {
		if _, ok := h.s.registry.Pilgrim(req.Pilgrim); !ok {
			writeError(w, http.StatusNotFound, "no pilgrim with PID "+req.Pilgrim, "pilgrim")
			return
		}
		dev.Pilgrim = req.Pilgrim
	} else {
		if !h.ready(w) {
			return
		}
		if bag, ok = h.luggage.Get(dalil.NormalizeTag(req.Bag)); !ok {
			writeError(w, http.StatusNotFound, "no bag with tag "+req.Bag+" (register it first: POST /v1/luggage)", "bag")
			return
		}
		dev.Luggage = bag.Tag
		target = "bag:" + bag.Tag
	}
	if !h.s.auditOrFail(w, r, p, "device.enrol", target+" "+dev.ID) {
		return
	}
	// Bind the device, then mint its secret. A failure in between leaves a
	// device no one can post for; enrolling again makes another.
	var err error
	if dev.Pilgrim != "" {
		err = h.s.registry.PutDevice(r.Context(), h.s.store, dev)
	} else {
		_, err = h.luggage.Register(r.Context(), helpdesk.LuggageRequest{
			Tag: bag.Tag, Owner: bag.Owner, Description: bag.Description, Tracker: dev.ID,
		}, p.String())
	}
	if err != nil {
		h.domainError(w, "enrolment", err)
		return
	}
	secret, ti, err := h.s.tokens.mint(r.Context(), RoleDevice, dev.ID, p.TokenID)
	if err != nil {
		h.s.storeError(w, "enrolment token", err)
		return
	}
	h.s.log.Info("device enrolled", "device", dev.ID, "kind", dev.Kind, "target", target, "token", ti.ID, "by", p.String())
	e, err := enrolment(h.s.enrolBaseURL(r), dev, ti.ID, secret)
	if err != nil {
		h.s.storeError(w, "enrolment QR code", err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // it carries the secret
	writeJSON(w, http.StatusCreated, e)
}

// enrolment builds the answer: the device's secret and the app setups.
func enrolment(base string, dev dalil.Device, tokenID, secret string) (Enrolment, error) {
	e := Enrolment{Device: dev, TokenID: tokenID, Secret: secret}
	e.Traccar = TraccarSetup{ServerURL: base + "/ingest/osmand", DeviceID: secret}
	e.Traccar.Link = e.Traccar.ServerURL + "?" + url.Values{"id": {secret}}.Encode()
	e.OwnTracks.Config = ownTracksConfig{
		Type: "configuration", Mode: 3, URL: base + "/ingest/owntracks", Auth: true,
		// User and device both name the device's public id: the names OwnTracks
		// sends (X-Limit-U/D, topic owntracks/<user>/<device>) then cannot
		// name some other registered device ("phone").
		Username: dev.ID, Password: secret, DeviceID: dev.ID, TID: tid(dev.ID),
	}
	cfg, err := json.Marshal(e.OwnTracks.Config)
	if err != nil {
		return e, err
	}
	e.OwnTracks.Link = "owntracks:///config?inline=" + url.QueryEscape(base64.StdEncoding.EncodeToString(cfg))
	e.Native = NativeSetup{URL: base + "/v1/pings", Authorization: "Bearer " + secret}
	if e.Traccar.QRPNG, err = qrPNG(e.Traccar.Link); err != nil {
		return e, err
	}
	if e.OwnTracks.QRPNG, err = qrPNG(e.OwnTracks.Link); err != nil {
		return e, err
	}
	return e, nil
}

// tid is OwnTracks' two-character tracker id shown on its map.
func tid(id string) string {
	if len(id) < 2 {
		return "dl"
	}
	return id[len(id)-2:]
}

// qrPNG encodes text as a QR code PNG data URL.
func qrPNG(text string) (string, error) {
	png, err := qrcode.Encode(text, qrcode.Medium, 320)
	if err != nil {
		return "", fmt.Errorf("QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}
