package helpdesk

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"dalil"
)

// DeviceBinder registers devices. *Registry implements it.
type DeviceBinder interface {
	Device(id string) (dalil.Device, bool)
	PutDevice(ctx context.Context, rs dalil.RecordStore, d dalil.Device) error
}

// LuggageDeps are what a LuggageDesk works with. Store and Pilgrims are
// required; Devices is needed to bind trackers.
type LuggageDeps struct {
	Store    dalil.RecordStore
	Pilgrims PilgrimLookup
	Devices  DeviceBinder
	Logger   *slog.Logger
	Now      func() time.Time
}

// LuggageDesk keeps registered bags and found items (records "luggage" and
// "found") and matches one to the other. It is safe for concurrent use;
// every change is stored before it becomes visible.
type LuggageDesk struct {
	d     LuggageDeps
	wmu   sync.Mutex
	mu    sync.RWMutex
	items map[string]*LuggageItem // by normalised tag; immutable snapshots
	found map[string]*FoundItem
	seq   uint64
}

// LoadLuggageDesk reads every bag and found item from the store.
func LoadLuggageDesk(ctx context.Context, d LuggageDeps) (*LuggageDesk, error) {
	if d.Store == nil || d.Pilgrims == nil {
		return nil, fmt.Errorf("tracking: LuggageDeps.Store and LuggageDeps.Pilgrims are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	l := &LuggageDesk{d: d, items: map[string]*LuggageItem{}, found: map[string]*FoundItem{}}
	err := d.Store.ScanRecords(ctx, KindLuggage, func(id string, data []byte) error {
		var it LuggageItem
		if err := json.Unmarshal(data, &it); err != nil {
			return fmt.Errorf("luggage %s: %w", id, err)
		}
		l.items[it.Tag] = &it
		return nil
	})
	if err == nil {
		err = d.Store.ScanRecords(ctx, KindFound, func(id string, data []byte) error {
			var f FoundItem
			if err := json.Unmarshal(data, &f); err != nil {
				return fmt.Errorf("found item %s: %w", id, err)
			}
			l.found[f.ID] = &f
			if n, err := strconv.ParseUint(strings.TrimPrefix(f.ID, "F"), 10, 64); err == nil && n > l.seq {
				l.seq = n
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("load luggage: %w", err)
	}
	return l, nil
}

func cloneItem(it *LuggageItem) *LuggageItem {
	n := *it
	n.History = slices.Clone(it.History)
	n.Custody = slices.Clone(it.Custody)
	return &n
}

func cloneFound(f *FoundItem) *FoundItem {
	n := *f
	n.Custody = slices.Clone(f.Custody)
	return &n
}

// Get returns a bag by tag (in any formatting).
func (l *LuggageDesk) Get(tag string) (LuggageItem, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	it, ok := l.items[dalil.NormalizeTag(tag)]
	if !ok {
		return LuggageItem{}, false
	}
	return *cloneItem(it), true
}

// ByTracker returns the bag a tracker device is fixed to.
func (l *LuggageDesk) ByTracker(device string) (LuggageItem, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, it := range l.items {
		if it.Tracker == device {
			return *cloneItem(it), true
		}
	}
	return LuggageItem{}, false
}

// List returns bags of an owner and/or status ("" = any), by tag.
func (l *LuggageDesk) List(owner string, status LuggageStatus) []LuggageItem {
	l.mu.RLock()
	var out []LuggageItem
	for _, it := range l.items {
		if (owner == "" || it.Owner == owner) && (status == "" || it.Status == status) {
			out = append(out, *cloneItem(it))
		}
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b LuggageItem) int { return cmp.Compare(a.Tag, b.Tag) })
	return out
}

// Found returns a found item by ID.
func (l *LuggageDesk) Found(id string) (FoundItem, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	f, ok := l.found[id]
	if !ok {
		return FoundItem{}, false
	}
	return *cloneFound(f), true
}

// FoundItems returns found items with a status ("" = any), newest first.
func (l *LuggageDesk) FoundItems(status FoundStatus) []FoundItem {
	l.mu.RLock()
	var out []FoundItem
	for _, f := range l.found {
		if status == "" || f.Status == status {
			out = append(out, *cloneFound(f))
		}
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b FoundItem) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out
}

// LuggageRequest registers a bag.
type LuggageRequest struct {
	Tag         string `json:"tag"`
	Owner       string `json:"owner"`
	Description string `json:"description"`
	Tracker     string `json:"tracker"`
}

// Register adds a bag, or updates its owner, description and tracker. A
// tracker is bound to the bag in the device registry so its pings show the
// bag's position and trail.
func (l *LuggageDesk) Register(ctx context.Context, req LuggageRequest, by string) (LuggageItem, error) {
	tag := dalil.NormalizeTag(req.Tag)
	if tag == "" {
		return LuggageItem{}, fieldErr(ErrInvalidLuggage, "tag", "tag is required (letters and digits)")
	}
	if len(tag) > 64 {
		return LuggageItem{}, fieldErr(ErrInvalidLuggage, "tag", "tag is longer than 64 characters")
	}
	if req.Owner == "" {
		return LuggageItem{}, fieldErr(ErrInvalidLuggage, "owner", "owner (a PID) is required")
	}
	if _, ok := l.d.Pilgrims.Pilgrim(req.Owner); !ok {
		return LuggageItem{}, fieldErr(dalil.ErrNotFound, "owner", "no pilgrim with PID %q", req.Owner)
	}
	if len(req.Description) > 2000 {
		return LuggageItem{}, fieldErr(ErrInvalidLuggage, "description", "description is longer than 2000 bytes")
	}
	if req.Tracker != "" {
		if l.d.Devices == nil {
			return LuggageItem{}, fieldErr(ErrInvalidLuggage, "tracker", "trackers cannot be bound here")
		}
		if d, ok := l.d.Devices.Device(req.Tracker); ok && d.Pilgrim != "" {
			return LuggageItem{}, fieldErr(ErrInvalidLuggage, "tracker", "device %q belongs to pilgrim %s", req.Tracker, d.Pilgrim)
		} else if ok && d.Luggage != "" && d.Luggage != tag {
			return LuggageItem{}, fieldErr(ErrInvalidLuggage, "tracker", "device %q is on bag %s", req.Tracker, d.Luggage)
		}
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	now := l.d.Now().UTC()
	var it *LuggageItem
	l.mu.RLock()
	old, ok := l.items[tag]
	l.mu.RUnlock()
	if ok {
		it = cloneItem(old)
		it.History = append(it.History, LuggageEntry{Time: now, By: by, Status: it.Status, Note: "details updated"})
	} else {
		it = &LuggageItem{Tag: tag, Status: LuggageRegistered, Registered: now}
		it.History = append(it.History, LuggageEntry{Time: now, By: by, Status: LuggageRegistered, Note: "registered"})
	}
	it.Owner, it.Description, it.Tracker, it.Updated = req.Owner, req.Description, req.Tracker, now
	if it.Tracker != "" && (old == nil || old.Tracker != it.Tracker) {
		if err := l.d.Devices.PutDevice(ctx, l.d.Store, dalil.Device{ID: it.Tracker, Kind: dalil.DeviceLuggageTag, Luggage: tag}); err != nil {
			return LuggageItem{}, fieldErr(ErrInvalidLuggage, "tracker", "bind tracker %q: %v", it.Tracker, err)
		}
	}
	if err := l.commitItem(ctx, it); err != nil {
		return LuggageItem{}, err
	}
	return *cloneItem(it), nil
}

// ReportLost marks a bag lost.
func (l *LuggageDesk) ReportLost(ctx context.Context, tag, place, note, by string) (LuggageItem, error) {
	return l.changeItem(ctx, tag, func(it *LuggageItem, now time.Time) error {
		switch it.Status {
		case LuggageLost:
			return fieldErr(ErrLuggageConflict, "tag", "bag %s is already reported lost", it.Tag)
		case LuggageFound:
			return fieldErr(ErrLuggageConflict, "tag", "bag %s is already found (found item %s)", it.Tag, it.Found)
		}
		it.Status, it.LostAt, it.LostPlace, it.Found = LuggageLost, now, place, ""
		it.History = append(it.History, LuggageEntry{Time: now, By: by, Status: LuggageLost, Note: joinNote("lost at "+place, note, place == "")})
		return nil
	})
}

func joinNote(a, b string, skipA bool) string {
	switch {
	case skipA:
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// FoundRequest records a found item.
type FoundRequest struct {
	Where       string   `json:"where"`
	Lat         *float64 `json:"lat"`
	Lon         *float64 `json:"lon"`
	Description string   `json:"description"`
	Tag         string   `json:"tag"`
	Owner       string   `json:"owner"`
	FoundBy     string   `json:"found_by"`
}

// RecordFound stores a found item and returns it with the bags it may be,
// best first. A found item whose tag or owner identifies exactly one lost
// bag is not matched automatically: an operator confirms with Match.
func (l *LuggageDesk) RecordFound(ctx context.Context, req FoundRequest, by string) (FoundItem, []LuggageMatch, error) {
	if strings.TrimSpace(req.Where) == "" {
		return FoundItem{}, nil, fieldErr(ErrInvalidLuggage, "where", "where is required (the helpdesk or place it was found)")
	}
	if strings.TrimSpace(req.Description) == "" && req.Tag == "" {
		return FoundItem{}, nil, fieldErr(ErrInvalidLuggage, "description", "a description or a tag is required")
	}
	if (req.Lat == nil) != (req.Lon == nil) {
		return FoundItem{}, nil, fieldErr(ErrInvalidLuggage, "lat", "give both lat and lon, or neither")
	}
	f := &FoundItem{Where: req.Where, Description: req.Description, Tag: dalil.NormalizeTag(req.Tag), Owner: req.Owner,
		FoundBy: req.FoundBy, By: by, Status: FoundUnmatched}
	if req.Lat != nil {
		if err := checkPlaceLatLon(ErrInvalidLuggage, *req.Lat, *req.Lon); err != nil {
			return FoundItem{}, nil, err
		}
		f.Lat, f.Lon = *req.Lat, *req.Lon
	}
	for field, v := range map[string]string{"where": f.Where, "description": f.Description, "owner": f.Owner, "found_by": f.FoundBy} {
		if len(v) > 2000 {
			return FoundItem{}, nil, fieldErr(ErrInvalidLuggage, field, "%s is longer than 2000 bytes", field)
		}
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	now := l.d.Now().UTC()
	f.Time, f.Updated = now, now
	f.ID = fmt.Sprintf("F%06d", l.seq+1)
	from := f.FoundBy
	if from == "" {
		from = "finder"
	}
	f.Custody = append(f.Custody, CustodyEntry{Time: now, From: from, To: "helpdesk: " + f.Where, By: by, Note: "handed in"})
	if err := l.commitFound(ctx, f); err != nil {
		return FoundItem{}, nil, err
	}
	l.seq++
	return *cloneFound(f), l.suggest(f), nil
}

// Suggest ranks the bags a found item may be: by tag (certain), by owner
// (likely), then by description (a hint).
func (l *LuggageDesk) Suggest(foundID string) ([]LuggageMatch, error) {
	l.mu.RLock()
	f, ok := l.found[foundID]
	l.mu.RUnlock()
	if !ok {
		return nil, fieldErr(dalil.ErrNotFound, "id", "no found item %q", foundID)
	}
	return l.suggest(f), nil
}

const maxSuggestions = 10

func (l *LuggageDesk) suggest(f *FoundItem) []LuggageMatch {
	fw := descriptionWords(f.Description)
	l.mu.RLock()
	var out []LuggageMatch
	for _, it := range l.items {
		if it.Status == LuggageReturned || (it.Status == LuggageFound && it.Found != f.ID) {
			continue
		}
		m := LuggageMatch{Tag: it.Tag, Owner: it.Owner, Description: it.Description, Status: it.Status}
		switch {
		case f.Tag != "" && f.Tag == it.Tag:
			m.Score, m.Reason = 1, "tag"
		case f.Owner != "" && f.Owner == it.Owner:
			m.Score, m.Reason = 0.8, "owner"
			if it.Status == LuggageLost {
				m.Score = 0.9
			}
		default:
			s := descriptionScore(fw, descriptionWords(it.Description))
			if s < 0.2 || it.Status != LuggageLost {
				continue // descriptions only suggest bags someone misses
			}
			m.Score, m.Reason = math.Round(s*0.7*100)/100, "description"
		}
		out = append(out, m)
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b LuggageMatch) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Tag, b.Tag)
	})
	if len(out) > maxSuggestions {
		out = out[:maxSuggestions]
	}
	return out
}

// Match confirms that a found item is the bag with tag.
func (l *LuggageDesk) Match(ctx context.Context, foundID, tag, by string) (FoundItem, LuggageItem, error) {
	tag = dalil.NormalizeTag(tag)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.RLock()
	of, okF := l.found[foundID]
	oi, okI := l.items[tag]
	l.mu.RUnlock()
	switch {
	case !okF:
		return FoundItem{}, LuggageItem{}, fieldErr(dalil.ErrNotFound, "id", "no found item %q", foundID)
	case tag == "":
		return FoundItem{}, LuggageItem{}, fieldErr(ErrInvalidLuggage, "tag", "tag is required")
	case !okI:
		return FoundItem{}, LuggageItem{}, fieldErr(dalil.ErrNotFound, "tag", "no bag with tag %q", tag)
	case of.Status != FoundUnmatched:
		return FoundItem{}, LuggageItem{}, fieldErr(ErrLuggageConflict, "id", "found item %s is already %s (bag %s)", of.ID, of.Status, of.Match)
	case oi.Status == LuggageFound || oi.Status == LuggageReturned:
		return FoundItem{}, LuggageItem{}, fieldErr(ErrLuggageConflict, "tag", "bag %s is already %s", oi.Tag, oi.Status)
	}
	now := l.d.Now().UTC()
	f, it := cloneFound(of), cloneItem(oi)
	f.Status, f.Match, f.Updated = FoundMatched, it.Tag, now
	it.Status, it.Found, it.Updated = LuggageFound, f.ID, now
	it.History = append(it.History, LuggageEntry{Time: now, By: by, Status: LuggageFound, Note: "matched to found item " + f.ID + " at " + f.Where})
	// Both records in one write each; the bag is written last so that a
	// crash in between leaves a matched found item whose bag still says
	// lost, which Match then refuses and an operator sees.
	if err := l.commitFound(ctx, f); err != nil {
		return FoundItem{}, LuggageItem{}, err
	}
	if err := l.commitItem(ctx, it); err != nil {
		return FoundItem{}, LuggageItem{}, err
	}
	return *cloneFound(f), *cloneItem(it), nil
}

// HandoverRequest hands a found bag to its owner (or someone for them).
type HandoverRequest struct {
	To        string `json:"to"`
	Signature string `json:"signature"`
	Note      string `json:"note"`
}

// Handover gives a bag back, with a custody record on the bag and on the
// found item it was matched to. A bag with no found item (one carried in by
// its tracker's position, say) can be handed over straight from lost or
// registered.
func (l *LuggageDesk) Handover(ctx context.Context, tag string, req HandoverRequest, by string) (LuggageItem, error) {
	if strings.TrimSpace(req.To) == "" {
		return LuggageItem{}, fieldErr(ErrInvalidLuggage, "to", "to (who receives the bag) is required")
	}
	if strings.TrimSpace(req.Signature) == "" {
		return LuggageItem{}, fieldErr(ErrInvalidLuggage, "signature", "signature (how the receiver confirmed) is required")
	}
	tag = dalil.NormalizeTag(tag)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.RLock()
	oi, ok := l.items[tag]
	var of *FoundItem
	if ok && oi.Found != "" {
		of = l.found[oi.Found]
	}
	l.mu.RUnlock()
	if !ok {
		return LuggageItem{}, fieldErr(dalil.ErrNotFound, "tag", "no bag with tag %q", tag)
	}
	if oi.Status == LuggageReturned {
		return LuggageItem{}, fieldErr(ErrLuggageConflict, "tag", "bag %s was already handed over", tag)
	}
	now := l.d.Now().UTC()
	from := "helpdesk"
	if of != nil {
		from = "helpdesk: " + of.Where
	}
	ce := CustodyEntry{Time: now, From: from, To: req.To, By: by, Signature: req.Signature, Note: req.Note}
	it := cloneItem(oi)
	it.Status, it.Updated = LuggageReturned, now
	it.Custody = append(it.Custody, ce)
	it.History = append(it.History, LuggageEntry{Time: now, By: by, Status: LuggageReturned, Note: "handed to " + req.To})
	if of != nil {
		f := cloneFound(of)
		f.Status, f.Updated = FoundReturned, now
		f.Custody = append(f.Custody, ce)
		if err := l.commitFound(ctx, f); err != nil {
			return LuggageItem{}, err
		}
	}
	if err := l.commitItem(ctx, it); err != nil {
		return LuggageItem{}, err
	}
	return *cloneItem(it), nil
}

func (l *LuggageDesk) changeItem(ctx context.Context, tag string, fn func(it *LuggageItem, now time.Time) error) (LuggageItem, error) {
	tag = dalil.NormalizeTag(tag)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.RLock()
	old, ok := l.items[tag]
	l.mu.RUnlock()
	if !ok {
		return LuggageItem{}, fieldErr(dalil.ErrNotFound, "tag", "no bag with tag %q", tag)
	}
	it := cloneItem(old)
	now := l.d.Now().UTC()
	if err := fn(it, now); err != nil {
		return LuggageItem{}, err
	}
	it.Updated = now
	if err := l.commitItem(ctx, it); err != nil {
		return LuggageItem{}, err
	}
	return *cloneItem(it), nil
}

func (l *LuggageDesk) commitItem(ctx context.Context, it *LuggageItem) error {
	data, err := json.Marshal(it)
	if err != nil {
		return err
	}
	if err := l.d.Store.PutRecords(ctx, KindLuggage, []dalil.Record{{ID: it.Tag, Data: data}}); err != nil {
		return fmt.Errorf("store bag %s: %w", it.Tag, err)
	}
	l.mu.Lock()
	l.items[it.Tag] = it
	l.mu.Unlock()
	return nil
}

func (l *LuggageDesk) commitFound(ctx context.Context, f *FoundItem) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := l.d.Store.PutRecords(ctx, KindFound, []dalil.Record{{ID: f.ID, Data: data}}); err != nil {
		return fmt.Errorf("store found item %s: %w", f.ID, err)
	}
	l.mu.Lock()
	l.found[f.ID] = f
	l.mu.Unlock()
	return nil
}

// checkPlaceLatLon validates a coordinate pair.
func checkPlaceLatLon(base error, lat, lon float64) error {
	switch {
	case math.IsNaN(lat) || math.IsInf(lat, 0) || lat < -90 || lat > 90:
		return fieldErr(base, "lat", "lat %v is out of range", lat)
	case math.IsNaN(lon) || math.IsInf(lon, 0) || lon < -180 || lon > 180:
		return fieldErr(base, "lon", "lon %v is out of range", lon)
	case lat == 0 && lon == 0:
		return fieldErr(base, "lat", "lat,lon 0,0 is no real position")
	}
	return nil
}
