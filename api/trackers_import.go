package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"dalil"
	"dalil/helpdesk"
	"dalil/registry"
)

// POST /v1/trackers/import (admin): a CSV of hardware trackers —
// imei,pilgrim,bag,kind — registered all or nothing. A tracker proves
// itself by its IMEI being registered to a pilgrim or a bag (docs/ingest.md),
// so this is how GT06, H02 and Teltonika wristbands and luggage tags are
// enrolled in bulk. ?dry_run=1 checks the file and writes nothing.

// maxTrackersCSV bounds the upload: 1 MB is some 25,000 trackers.
const maxTrackersCSV = 1 << 20

// TrackersImported answers a successful import.
type TrackersImported struct {
	Imported int  `json:"imported"`
	Pilgrims int  `json:"pilgrims"` // trackers bound to pilgrims
	Bags     int  `json:"bags"`     // trackers bound to bags
	DryRun   bool `json:"dry_run,omitempty"`
}

// trackerError is one problem of a refused import.
type trackerError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

func (h *desk) handleTrackersImport(w http.ResponseWriter, r *http.Request) {
	p, ok := h.s.authorize(w, r, RoleAdmin)
	if !ok || !h.ready(w) {
		return
	}
	body := http.MaxBytesReader(w, r.Body, maxTrackersCSV)
	rows, err := registry.ReadTrackersCSV(body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "the CSV is larger than "+strconv.Itoa(maxTrackersCSV)+" bytes; split it", "")
		return
	}
	if err != nil {
		h.trackerErrors(w, err)
		return
	}
	devs, errs := h.trackerDevices(rows)
	if len(errs) > 0 {
		h.trackerErrors(w, errors.Join(errs...))
		return
	}
	ans := TrackersImported{Imported: len(devs)}
	for _, d := range devs {
		if d.Pilgrim != "" {
			ans.Pilgrims++
		} else {
			ans.Bags++
		}
	}
	if r.URL.Query().Get("dry_run") != "" {
		ans.DryRun = true
		writeJSON(w, http.StatusOK, ans)
		return
	}
	if !h.s.auditOrFail(w, r, p, "trackers.import", fmt.Sprintf("%d trackers (%d pilgrims, %d bags)", ans.Imported, ans.Pilgrims, ans.Bags)) {
		return
	}
	if err := h.s.registry.PutDevices(r.Context(), h.s.store, devs); err != nil {
		h.domainError(w, "trackers", err)
		return
	}
	// The bag records name their tracker too (the bag view shows it).
	// Re-running the same import completes what a store failure here left.
	for _, d := range devs {
		if d.Luggage == "" {
			continue
		}
		bag, ok := h.luggage.Get(d.Luggage)
		if !ok || bag.Tracker == d.ID {
			continue
		}
		req := helpdesk.LuggageRequest{Tag: bag.Tag, Owner: bag.Owner, Description: bag.Description, Tracker: d.ID}
		if _, err := h.luggage.Register(r.Context(), req, p.String()); err != nil {
			h.domainError(w, "trackers: bag "+bag.Tag, err)
			return
		}
	}
	h.s.log.Info("trackers imported", "trackers", ans.Imported, "pilgrims", ans.Pilgrims, "bags", ans.Bags, "by", p.String())
	writeJSON(w, http.StatusOK, ans)
}

// trackerDevices checks the rows against the registry and the luggage desk:
// the pilgrim or bag exists, and an IMEI already registered is bound to the
// same pilgrim or bag (importing the same file twice changes nothing).
func (h *desk) trackerDevices(rows []registry.TrackerRow) ([]dalil.Device, []error) {
	devs := make([]dalil.Device, 0, len(rows))
	var errs []error
	fail := func(row registry.TrackerRow, column, format string, args ...any) {
		if len(errs) < 50 {
			errs = append(errs, &registry.RowError{Line: row.Line, Index: -1, Column: column, Reason: fmt.Sprintf(format, args...)})
		}
	}
	for _, row := range rows {
		d := dalil.Device{ID: row.IMEI, Kind: row.Kind, Pilgrim: row.Pilgrim, Luggage: row.Bag}
		if d.Pilgrim != "" {
			if _, ok := h.s.registry.Pilgrim(d.Pilgrim); !ok {
				fail(row, "pilgrim", "no pilgrim with PID %q", d.Pilgrim)
				continue
			}
		} else if _, ok := h.luggage.Get(d.Luggage); !ok {
			fail(row, "bag", "no bag with tag %q (register it at the luggage desk first)", d.Luggage)
			continue
		}
		if old, ok := h.s.registry.Device(d.ID); ok && (old.Pilgrim != d.Pilgrim || old.Luggage != d.Luggage) {
			owner := "pilgrim " + old.Pilgrim
			if old.Luggage != "" {
				owner = "bag " + old.Luggage
			}
			fail(row, "imei", "IMEI %s is already registered to %s", d.ID, owner)
			continue
		}
		devs = append(devs, d)
	}
	return devs, errs
}

// trackerErrors answers 400 with every row error of a refused import.
func (h *desk) trackerErrors(w http.ResponseWriter, err error) {
	var list []trackerError
	var walk func(error)
	walk = func(err error) {
		var re *registry.RowError
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if errors.As(err, &re) {
			list = append(list, trackerError{Line: re.Line, Column: re.Column, Reason: re.Reason})
			return
		}
		list = append(list, trackerError{Reason: err.Error()})
	}
	walk(err)
	first := list[0]
	msg := fmt.Sprintf("%d problem(s) in the CSV, nothing was imported; first: line %d", len(list), first.Line)
	if first.Column != "" {
		msg += ", column " + first.Column
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": msg + ": " + first.Reason, "field": first.Column, "errors": list})
}
