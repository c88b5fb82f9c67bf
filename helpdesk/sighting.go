package helpdesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"dalil"
)

// KindSighting is the record kind sightings are stored under.
const KindSighting = "sighting"

// SightingAccuracyM is the accuracy given to a sighting: the scan happened
// within arm's reach of a helpdesk, a Scouts' point or a camp gate whose
// position is known to a few metres.
const SightingAccuracyM = 3

// ErrInvalidSighting is wrapped by errors for a malformed sighting.
var ErrInvalidSighting = errors.New("invalid sighting")

// SightingSource says how a pilgrim or bag was identified.
type SightingSource string

const (
	SightingQRScan   SightingSource = "qr_scan"  // Nusuk card or wristband QR
	SightingNFC      SightingSource = "nfc"      // NFC wristband or badge
	SightingOperator SightingSource = "operator" // an operator checked the ID card
)

// SightingRequest is a report that someone saw a pilgrim or a bag at a place.
type SightingRequest struct {
	Pilgrim string         `json:"pilgrim"`
	Luggage string         `json:"luggage"`
	Lat     *float64       `json:"lat"`
	Lon     *float64       `json:"lon"`
	Source  SightingSource `json:"source"`
	Note    string         `json:"note"`
}

// Sighting is a stored sighting.
type Sighting struct {
	ID       string         `json:"id"`
	Pilgrim  string         `json:"pilgrim,omitempty"`
	Luggage  string         `json:"luggage,omitempty"`
	Device   string         `json:"device"`
	Time     time.Time      `json:"ts"`
	Lat      float64        `json:"lat"`
	Lon      float64        `json:"lon"`
	Source   SightingSource `json:"source"`
	Note     string         `json:"note,omitempty"`
	By       string         `json:"by"`
	Position dalil.Position `json:"position"`
}

// SightingDevice is the synthetic device a pilgrim's sightings are recorded
// under, so that a pilgrim without a phone or wristband still gets a live
// position and a trail. It is registered as one of the pilgrim's devices.
func SightingDevice(pid string) string { return "sighting:" + pid }

// LuggageSightingDevice is the synthetic device of a bag's sightings.
func LuggageSightingDevice(tag string) string { return "sighting:luggage:" + tag }

// PositionSink takes positions like a ping. *Engine implements it.
type PositionSink interface {
	Accept(ctx context.Context, ps []dalil.Position) error
}

// SightingDeps are what Sightings work with; all are required but Luggage.
type SightingDeps struct {
	Store    dalil.RecordStore
	Pilgrims PilgrimLookup
	Devices  DeviceBinder
	Sink     PositionSink
	// Luggage resolves bag tags (optional: without it luggage sightings
	// are refused).
	Luggage *LuggageDesk
	Now     func() time.Time
}

// Sightings turns scans and operator reports into precise positions fed
// through the tracking engine, so they update live state, trails, cases and
// alerts exactly like a ping.
type Sightings struct{ d SightingDeps }

// NewSightings returns a sighting recorder.
func NewSightings(d SightingDeps) *Sightings {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Sightings{d: d}
}

// Record validates a sighting, registers the synthetic device if needed,
// feeds the position to the engine (durably) and stores the sighting. by
// names who reported it.
func (s *Sightings) Record(ctx context.Context, req SightingRequest, by string) (Sighting, error) {
	if (req.Pilgrim == "") == (req.Luggage == "") {
		return Sighting{}, fieldErr(ErrInvalidSighting, "pilgrim", "give exactly one of pilgrim and luggage")
	}
	if req.Lat == nil {
		return Sighting{}, fieldErr(ErrInvalidSighting, "lat", "lat is required")
	}
	if req.Lon == nil {
		return Sighting{}, fieldErr(ErrInvalidSighting, "lon", "lon is required")
	}
	if err := checkPlaceLatLon(ErrInvalidSighting, *req.Lat, *req.Lon); err != nil {
		return Sighting{}, err
	}
	switch req.Source {
	case SightingQRScan, SightingNFC, SightingOperator:
	case "":
		req.Source = SightingOperator
	default:
		return Sighting{}, fieldErr(ErrInvalidSighting, "source", "unknown source %q (want qr_scan, nfc or operator)", req.Source)
	}
	if len(req.Note) > 2000 {
		return Sighting{}, fieldErr(ErrInvalidSighting, "note", "note is longer than 2000 bytes")
	}
	now := s.d.Now().UTC()
	sg := Sighting{Time: now, Lat: *req.Lat, Lon: *req.Lon, Source: req.Source, Note: req.Note, By: by}
	var dev dalil.Device
	if req.Pilgrim != "" {
		p, ok := s.d.Pilgrims.Pilgrim(req.Pilgrim)
		if !ok {
			return Sighting{}, fieldErr(dalil.ErrNotFound, "pilgrim", "no pilgrim with PID %q", req.Pilgrim)
		}
		sg.Pilgrim = p.PID
		// The contract's device kinds are phone, wristband and luggage-tag; a
		// sighting is most often a wristband or card scan.
		dev = dalil.Device{ID: SightingDevice(p.PID), Kind: dalil.DeviceWristband, Pilgrim: p.PID}
	} else {
		if s.d.Luggage == nil {
			return Sighting{}, fieldErr(ErrInvalidSighting, "luggage", "luggage sightings are not enabled")
		}
		it, ok := s.d.Luggage.Get(req.Luggage)
		if !ok {
			return Sighting{}, fieldErr(dalil.ErrNotFound, "luggage", "no bag with tag %q", req.Luggage)
		}
		sg.Luggage = it.Tag
		dev = dalil.Device{ID: LuggageSightingDevice(it.Tag), Kind: dalil.DeviceLuggageTag, Luggage: it.Tag}
	}
	sg.Device = dev.ID
	if have, ok := s.d.Devices.Device(dev.ID); !ok || have.Pilgrim != dev.Pilgrim || have.Luggage != dev.Luggage {
		if err := s.d.Devices.PutDevice(ctx, s.d.Store, dev); err != nil {
			return Sighting{}, fmt.Errorf("register sighting device %s: %w", dev.ID, err)
		}
	}
	sg.Position = dalil.Position{Device: dev.ID, Time: now, Lat: sg.Lat, Lon: sg.Lon, Accuracy: SightingAccuracyM,
		Speed: dalil.Unknown, Heading: dalil.Unknown, Altitude: dalil.Unknown, Battery: dalil.Unknown, Source: dalil.SourceSighting}
	if err := s.d.Sink.Accept(ctx, []dalil.Position{sg.Position}); err != nil {
		return Sighting{}, fmt.Errorf("record sighting position: %w", err)
	}
	// The position is durable now; the sighting record adds who and how.
	subject := sg.Pilgrim
	if subject == "" {
		subject = "luggage:" + sg.Luggage
	}
	sg.ID = now.Format("20060102T150405.000000000Z") + "-" + strings.ReplaceAll(subject, "/", "_")
	data, err := json.Marshal(sg)
	if err != nil {
		return Sighting{}, err
	}
	if err := s.d.Store.PutRecords(ctx, KindSighting, []dalil.Record{{ID: sg.ID, Data: data}}); err != nil {
		return Sighting{}, fmt.Errorf("store sighting: %w", err)
	}
	return sg, nil
}
