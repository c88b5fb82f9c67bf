package tracking

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"dalil/geo"
	"dalil/registry"
)

// EngineConfig tunes the tracking engine. Zero fields take the defaults of
// DefaultEngineConfig.
type EngineConfig struct {
	// Shards is the number of lock shards (rounded up to a power of two).
	// Subjects (pilgrims, lone devices) are spread over them by hash, so
	// that cores ingest in parallel.
	Shards int
	// TrailLen is how many recent fixes each device keeps in memory.
	TrailLen int
	// BestWindow and BestAccuracyRatio decide a pilgrim's best position
	// over several devices: the newest fix wins unless another device's
	// fix at most BestWindow older is BestAccuracyRatio times more accurate.
	BestWindow        time.Duration
	BestAccuracyRatio float64
	// EnterFixes consecutive fixes confirm a move into or out of a site,
	// camp or tent (see engine_events.go for the whole hysteresis rule).
	EnterFixes int
	// TentMinProbability is how likely the located tent must be for a fix
	// to count towards tent enter/exit.
	TentMinProbability float64
	// UnknownAccuracyM stands for a fix that reports no accuracy.
	UnknownAccuracyM float64
	// StaleAfter is the age after which a live position counts as stale
	// (Stats, IsStale).
	StaleAfter time.Duration
	// GridCellDeg is the side of a cell of the live spatial grid in degrees
	// (0.0003° ≈ 33 m north-south, 31 m east-west at Mina).
	GridCellDeg float64
}

// DefaultEngineConfig returns the defaults.
func DefaultEngineConfig() EngineConfig {
	return EngineConfig{
		Shards:             64,
		TrailLen:           16,
		BestWindow:         30 * time.Second,
		BestAccuracyRatio:  2,
		EnterFixes:         3,
		TentMinProbability: 0.5,
		UnknownAccuracyM:   10,
		StaleAfter:         15 * time.Minute,
		GridCellDeg:        0.0003,
	}
}

func (c EngineConfig) withDefaults() EngineConfig {
	d := DefaultEngineConfig()
	if c.Shards <= 0 {
		c.Shards = d.Shards
	}
	c.Shards = 1 << bits.Len(uint(c.Shards-1))
	if c.TrailLen < 0 {
		c.TrailLen = 0
	} else if c.TrailLen == 0 {
		c.TrailLen = d.TrailLen
	}
	if c.BestWindow <= 0 {
		c.BestWindow = d.BestWindow
	}
	if c.BestAccuracyRatio <= 0 {
		c.BestAccuracyRatio = d.BestAccuracyRatio
	}
	if c.EnterFixes <= 0 {
		c.EnterFixes = d.EnterFixes
	}
	if c.TentMinProbability <= 0 {
		c.TentMinProbability = d.TentMinProbability
	}
	if c.UnknownAccuracyM <= 0 {
		c.UnknownAccuracyM = d.UnknownAccuracyM
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = d.StaleAfter
	}
	if c.GridCellDeg <= 0 {
		c.GridCellDeg = d.GridCellDeg
	}
	return c
}

// Engine is the live tracker: it stores every accepted ping, keeps the newest
// position of every device and pilgrim placed in the layout, indexes them in
// space, raises boundary events and publishes every change.
type Engine struct {
	cfg    EngineConfig
	st     Store
	reg    *Registry
	loc    geo.Locator
	post   *geo.Index // loc, when it is one: its posterior
	pub    Publisher
	log    *slog.Logger
	seed   maphash.Seed
	shards []*engineShard
	mask   uint64
	dir    []*dirShard
	rules  boundaryRules
	invDeg float64 // 1 / GridCellDeg
	window int64   // BestWindow in ns

	regSeen     atomic.Uint64
	reconcileMu sync.Mutex

	nDevices  atomic.Int64
	nPilgrims atomic.Int64
	nSubjects atomic.Int64
	counters  engineCounters
}

type engineCounters struct {
	accepted, outOfOrder, duplicates, invalid, events, published, storeErrors atomic.Uint64
}

// engineShard holds the subjects whose key hashes to it, their devices and
// their entries in the live indexes, under one lock.
type engineShard struct {
	mu       sync.RWMutex
	subjects map[subjectKey]*subject
	grid     map[uint64]*bucket
	camps    map[string]*bucket
	_        [64]byte // keep neighbouring shards' locks off one cache line
}

// dirShard is part of the device directory: device id -> live device, so
// that a ping from a known device finds its state with one map lookup and no
// registry lookup. A devState never changes shard; when it must (its device
// moved to another pilgrim) it is marked gone and replaced. Lock order:
// engineShard, then dirShard.
type dirShard struct {
	mu sync.RWMutex
	m  map[string]*devState
	_  [64]byte
}

// bucket is a set of subjects with O(1) insert and removal: each subject
// remembers its index (gridIdx or campIdx).
type bucket struct{ items []*subject }

// NewEngine returns an engine over a store, a registry and a locator. pub
// may be nil. Call Rebuild before ingesting to restore the live state.
func NewEngine(cfg EngineConfig, st Store, reg *Registry, loc geo.Locator, pub Publisher, log *slog.Logger) *Engine {
	cfg = cfg.withDefaults()
	if reg == nil {
		reg = registry.NewRegistry()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, st: st, reg: reg, loc: loc, pub: pub, log: log, seed: maphash.MakeSeed(),
		shards: make([]*engineShard, cfg.Shards), mask: uint64(cfg.Shards - 1), invDeg: 1 / cfg.GridCellDeg,
		window: int64(cfg.BestWindow)}
	for i := range e.shards {
		e.shards[i] = &engineShard{subjects: make(map[subjectKey]*subject),
			grid: make(map[uint64]*bucket), camps: make(map[string]*bucket)}
	}
	e.post, _ = loc.(*geo.Index)
	e.dir = make([]*dirShard, cfg.Shards)
	for i := range e.dir {
		e.dir[i] = &dirShard{m: make(map[string]*devState)}
	}
	campOf := campOfTentID
	if lx, ok := loc.(interface{ Layout() *geo.Layout }); ok && lx.Layout() != nil {
		layout := lx.Layout()
		campOf = func(tent string) string {
			if t, ok := layout.Tent(tent); ok {
				return t.Camp
			}
			return campOfTentID(tent)
		}
	}
	e.rules = boundaryRules{need: cfg.EnterFixes, minTentP: cfg.TentMinProbability, unknownAcc: cfg.UnknownAccuracyM, campOf: campOf}
	e.regSeen.Store(reg.Version())
	return e
}

// Registry returns the registry the engine resolves devices with.
func (e *Engine) Registry() *Registry { return e.reg }

// Config returns the effective configuration.
func (e *Engine) Config() EngineConfig { return e.cfg }

// Accept is the ingest sink. It stores the batch durably first (an error
// there means nothing is acknowledged and wraps ErrUnavailable), then
// updates the live state: per fix O(1) work under one shard lock. A fix
// older than the device's live one (an offline buffer flushed late) is
// stored and added to the in-memory trail but does not move the device
// back. Fixes with impossible coordinates or no time are stored (ingest
// should have filtered them) but not applied. Updates go to the Publisher
// after the shard lock is released; the Publisher must not block.
func (e *Engine) Accept(ctx context.Context, ps []Position) error {
	if len(ps) == 0 {
		return nil
	}
	if err := e.st.AppendPositions(ctx, ps); err != nil {
		e.counters.storeErrors.Add(1)
		if errors.Is(err, ErrUnavailable) {
			return fmt.Errorf("store %d positions: %w", len(ps), err)
		}
		return fmt.Errorf("store %d positions: %w: %w", len(ps), ErrUnavailable, err)
	}
	e.maybeReconcile()
	var ap applier
	ap.e = e
	ap.publish = e.pub != nil
	ap.events = true
	ap.now = time.Now().UnixNano()
	for i := range ps {
		ap.left = len(ps) - i
		ap.apply(&ps[i])
	}
	ap.flushCounters()
	return nil
}

// applier applies a run of fixes, batching its counter updates and its
// LiveState allocations (one slab per batch instead of one per fix).
type applier struct {
	e       *Engine
	publish bool
	events  bool
	now     int64
	slab    []LiveState
	remain  int
	left    int // fixes left in the batch, to size the next slab

	accepted, outOfOrder, duplicates, invalid, nEvents, published uint64
}

func (ap *applier) flushCounters() {
	c := &ap.e.counters
	c.accepted.Add(ap.accepted)
	if ap.outOfOrder > 0 {
		c.outOfOrder.Add(ap.outOfOrder)
	}
	if ap.duplicates > 0 {
		c.duplicates.Add(ap.duplicates)
	}
	if ap.invalid > 0 {
		c.invalid.Add(ap.invalid)
	}
	if ap.nEvents > 0 {
		c.events.Add(ap.nEvents)
	}
	if ap.published > 0 {
		c.published.Add(ap.published)
	}
}

func validFix(p *Position) bool {
	return p.Lat >= -90 && p.Lat <= 90 && p.Lon >= -180 && p.Lon <= 180 && !p.Time.IsZero() && p.Device != ""
}

// keyOf resolves a device to the subject it belongs to.
func (e *Engine) keyOf(device string) (subjectKey, DeviceOwner) {
	o, ok := e.reg.Owner(device)
	if ok && o.Pilgrim != "" && o.Kind != DeviceLuggageTag {
		return subjectKey{id: o.Pilgrim}, o
	}
	return subjectKey{device: true, id: device}, o
}

func (e *Engine) shardOf(k subjectKey) *engineShard {
	return e.shards[maphash.String(e.seed, k.id)&e.mask]
}

func (e *Engine) dirOf(device string) *dirShard {
	return e.dir[maphash.String(e.seed, device)&e.mask]
}

// lookup finds a live device in the directory (it may be gone by the time
// its shard is locked: check d.gone under the lock).
func (e *Engine) lookup(device string) *devState {
	ds := e.dirOf(device)
	ds.mu.RLock()
	d := ds.m[device]
	ds.mu.RUnlock()
	return d
}

// acquire returns a device's live state with its shard write-locked,
// creating it (and its subject) for a new device.
func (e *Engine) acquire(device string) (*devState, *engineShard) {
	for {
		if d := e.lookup(device); d != nil {
			sh := d.shard
			sh.mu.Lock()
			if !d.gone {
				return d, sh
			}
			sh.mu.Unlock()
			continue
		}
		key, owner := e.keyOf(device)
		sh := e.shardOf(key)
		sh.mu.Lock()
		if d := e.newDevice(sh, device, key, owner); d != nil {
			return d, sh
		}
		sh.mu.Unlock() // another goroutine created it meanwhile: use theirs
	}
}

// readLocked returns a live device with its shard read-locked, or nil.
func (e *Engine) readLocked(device string) (*devState, *engineShard) {
	for {
		d := e.lookup(device)
		if d == nil {
			return nil, nil
		}
		sh := d.shard
		sh.mu.RLock()
		if !d.gone {
			return d, sh
		}
		sh.mu.RUnlock()
	}
}

func (ap *applier) apply(p *Position) {
	e := ap.e
	if !validFix(p) {
		ap.invalid++
		return
	}
	var loc geo.Location
	if e.loc != nil {
		loc = e.loc.Locate(p.Lat, p.Lon, float64(p.Accuracy))
	}
	t := p.Time.UnixNano()

	d, sh := e.acquire(p.Device)
	if d.fix.t != 0 && t <= d.fix.t {
		if t == d.fix.t {
			ap.duplicates++
		} else {
			ap.outOfOrder++
			nf := fixOf(p)
			d.trail.add(trailPointOf(&nf), e.cfg.TrailLen)
		}
		sh.mu.Unlock()
		ap.accepted++
		return
	}
	d.fix = fixOf(p)
	e.refine(d, &loc)
	d.place = placeOf(&loc)
	d.recv = ap.now
	if d.recv == 0 { // Rebuild: the receive time is lost; the fix time is the best guess
		d.recv = d.fix.t
	}
	d.trail.add(trailPointOf(&d.fix), e.cfg.TrailLen)

	s := d.subj
	prev := s.best
	best := s.pickBest(e.window, e.cfg.BestAccuracyRatio, e.cfg.UnknownAccuracyM)
	if best != d && best == prev {
		// Another device's fix still stands for the pilgrim: nothing moved.
		sh.mu.Unlock()
		ap.accepted++
		return
	}
	s.best = best
	e.reindex(sh, s)

	var evs eventBuf
	if ap.events {
		bl := &loc
		var other geo.Location
		if best != d {
			other = e.locate(best)
			bl = &other
		}
		base := Event{Pilgrim: s.pilgrim, Device: best.id, Group: s.group}
		s.hy.observe(bl, best.fix.acc, time.Unix(0, best.fix.t).UTC(), base, &e.rules, &evs)
	} else {
		// Rebuild: take the best fix's place as the confirmed state, silently.
		bl := loc
		if best != d {
			bl = e.locate(best)
		}
		s.hy = hysteresis{}
		s.hy.observe(&bl, best.fix.acc, time.Time{}, Event{}, &e.rules, &evs)
	}
	var state *LiveState
	if ap.publish {
		state = ap.nextState()
		best.liveState(state)
		if best == d {
			state.Location = loc
		}
	}
	sh.mu.Unlock()
	ap.accepted++

	if state != nil {
		e.pub.Publish(Update{State: state})
		ap.published++
	}
	ap.nEvents += uint64(evs.n)
	if ap.publish {
		for i := 0; i < evs.n; i++ {
			ev := evs.evs[i]
			e.pub.Publish(Update{Event: &ev})
			ap.published++
		}
	}
}

func (ap *applier) nextState() *LiveState {
	if ap.remain == 0 {
		n := min(max(ap.left, 1), 256)
		ap.slab = make([]LiveState, n)
		ap.remain = n
	}
	s := &ap.slab[len(ap.slab)-ap.remain]
	ap.remain--
	return s
}

// locate recomputes the full Location (with tent candidates) of a device's fix.
func (e *Engine) locate(d *devState) geo.Location {
	if e.loc == nil {
		return d.place.location()
	}
	loc := e.loc.Locate(d.fix.lat, d.fix.lon, float64(d.fix.acc))
	e.estimate(&loc, &d.track, d.subj.prior, d.fix.acc, d.usesPosterior())
	return loc
}

// newDevice creates a device (and its subject when new) in a locked shard
// and enters it in the directory; it returns nil, changing nothing, when the
// directory already has the device.
func (e *Engine) newDevice(sh *engineShard, id string, key subjectKey, o DeviceOwner) *devState {
	ds := e.dirOf(id)
	ds.mu.Lock()
	if ds.m[id] != nil {
		ds.mu.Unlock()
		return nil
	}
	d := &devState{id: id, kind: o.Kind, shard: sh}
	ds.m[id] = d
	ds.mu.Unlock()

	s := sh.subjects[key]
	if s == nil {
		s = &subject{key: key, campIdx: -1, gridIdx: -1}
		if !key.device {
			s.pilgrim, s.group = o.Pilgrim, o.Group
			s.prior = e.reg.Home(o.Pilgrim)
			e.nPilgrims.Add(1)
		} else {
			s.luggage = o.Luggage
		}
		sh.subjects[key] = s
		e.nSubjects.Add(1)
	}
	d.subj = s
	s.devs = append(s.devs, d)
	e.nDevices.Add(1)
	return d
}

// forget removes a device from the directory and marks its state gone; its
// shard is locked. The caller detaches it from its subject.
func (e *Engine) forget(d *devState) {
	ds := e.dirOf(d.id)
	ds.mu.Lock()
	if ds.m[d.id] == d {
		delete(ds.m, d.id)
	}
	ds.mu.Unlock()
	d.gone = true
	e.nDevices.Add(-1)
}

// gridKey packs the grid cell of a point: row and column of GridCellDeg.
func (e *Engine) gridKey(lat, lon float64) uint64 {
	return packCell(int32(math.Floor(lat*e.invDeg)), int32(math.Floor(lon*e.invDeg)))
}

func packCell(row, col int32) uint64 { return uint64(uint32(row))<<32 | uint64(uint32(col)) }

// reindex moves a subject to the grid cell and camp of its best fix.
func (e *Engine) reindex(sh *engineShard, s *subject) {
	if s.best == nil {
		sh.unindex(s)
		return
	}
	gk := e.gridKey(s.best.fix.lat, s.best.fix.lon)
	if !s.inGrid || gk != s.gridKey {
		if s.inGrid {
			removeFrom(sh.grid, s.gridKey, s, &s.gridIdx, gridIdxOf)
		}
		s.gridKey, s.inGrid = gk, true
		addTo(sh.grid, gk, s, &s.gridIdx)
	}
	if camp := s.best.place.camp; camp != s.camp {
		if s.camp != "" {
			removeFrom(sh.camps, s.camp, s, &s.campIdx, campIdxOf)
		}
		s.camp = camp
		if camp != "" {
			addTo(sh.camps, camp, s, &s.campIdx)
		}
	}
}

// unindex takes a subject out of the grid and the camp index.
func (sh *engineShard) unindex(s *subject) {
	if s.inGrid {
		removeFrom(sh.grid, s.gridKey, s, &s.gridIdx, gridIdxOf)
		s.inGrid = false
	}
	if s.camp != "" {
		removeFrom(sh.camps, s.camp, s, &s.campIdx, campIdxOf)
		s.camp = ""
	}
}

func gridIdxOf(s *subject) *int32 { return &s.gridIdx }
func campIdxOf(s *subject) *int32 { return &s.campIdx }

func addTo[K comparable](m map[K]*bucket, k K, s *subject, idx *int32) {
	b := m[k]
	if b == nil {
		b = &bucket{}
		m[k] = b
	}
	*idx = int32(len(b.items))
	b.items = append(b.items, s)
}

func removeFrom[K comparable](m map[K]*bucket, k K, s *subject, idx *int32, idxOf func(*subject) *int32) {
	b := m[k]
	if b == nil {
		return
	}
	i := *idx
	last := len(b.items) - 1
	if i < 0 || int(i) > last || b.items[i] != s {
		return // not there: nothing to do
	}
	if int(i) != last {
		moved := b.items[last]
		b.items[i] = moved
		*idxOf(moved) = i
	}
	b.items[last] = nil
	b.items = b.items[:last]
	*idx = -1
	if len(b.items) == 0 {
		delete(m, k)
	}
}

// IsStale reports whether a live state is older than EngineConfig.StaleAfter.
func (e *Engine) IsStale(s *LiveState, now time.Time) bool { return s.Stale(now, e.cfg.StaleAfter) }
