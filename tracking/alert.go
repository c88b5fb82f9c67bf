package tracking

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"dalil/geo"
)

// AlertConfig tunes group alerts.
type AlertConfig struct {
	// RaiseDistanceM: a member farther than this from the guide (or the
	// group's centre) for RaiseAfter is separated.
	RaiseDistanceM float64
	// ClearDistanceM (< RaiseDistanceM): a separated member closer than this
	// has rejoined. The gap between the two keeps GPS jitter from flapping.
	ClearDistanceM float64
	RaiseAfter     time.Duration
	// GuideStaleAfter: an older guide position is not trusted; members are
	// then measured from the centre of the group's fresh positions.
	GuideStaleAfter time.Duration
	// MemberStaleAfter: a member whose newest position is older is not judged.
	MemberStaleAfter time.Duration
	// NightStart and NightEnd bound the night in Location's clock as hours
	// (22 and 5: from 22:00 to 05:00). Outside the assigned camp at night
	// for OutsideAfter raises an alert.
	NightStart, NightEnd int
	OutsideAfter         time.Duration
	// OutsideMarginM: a fix in no camp but within this of a camp fence is
	// not judged (it may be GPS error at the fence).
	OutsideMarginM float64
	// Tick is how often every member is re-judged without a new position
	// (time passing can raise an alert).
	Tick time.Duration
	// Location is the clock of NightStart/NightEnd: Asia/Riyadh.
	Location *time.Location
	// QueueLimit bounds the positions waiting to be judged (split evenly
	// over the inbox shards); beyond it the newest position of a pilgrim
	// replaces the older one, and new pilgrims are dropped (and counted)
	// until the monitor catches up.
	QueueLimit int
}

// DefaultAlertConfig: 300 m raise / 200 m clear for 10 minutes; guide stale
// after 10 minutes; night from 22:00 to 05:00 Asia/Riyadh, 15 minutes outside.
func DefaultAlertConfig() AlertConfig {
	return AlertConfig{
		RaiseDistanceM: 300, ClearDistanceM: 200, RaiseAfter: 10 * time.Minute,
		GuideStaleAfter: 10 * time.Minute, MemberStaleAfter: 30 * time.Minute,
		NightStart: 22, NightEnd: 5, OutsideAfter: 15 * time.Minute, OutsideMarginM: 15,
		Tick: 30 * time.Second, Location: RiyadhTime(), QueueLimit: 1 << 20,
	}
}

// RiyadhTime is Asia/Riyadh (UTC+3 all year, no daylight saving), from the
// system's zone database when present.
func RiyadhTime() *time.Location {
	if loc, err := time.LoadLocation("Asia/Riyadh"); err == nil {
		return loc
	}
	return time.FixedZone("+03", 3*3600)
}

// Alert is a raised group alert.
type Alert struct {
	Kind    EventKind `json:"kind"` // separation | outside_camp_night
	Pilgrim string    `json:"pilgrim"`
	Group   string    `json:"group"`
	Since   time.Time `json:"since"`
	Detail  string    `json:"detail"`
}

// AlertPilgrims is what the monitor reads from the registry.
type AlertPilgrims interface {
	Pilgrim(pid string) (Pilgrim, bool)
	Group(id string) (Group, bool)
}

// AlertMonitor watches the position stream for members who drift from their
// group or are outside their camp at night. It is a Publisher: Publish only
// records the newest position per pilgrim and wakes Run, which does the work
// and publishes EventSeparation, EventOutsideCamp and EventRejoined (with
// Group set, so they reach the guide's group topic and the events topic).
type AlertMonitor struct {
	cfg AlertConfig
	reg AlertPilgrims
	pub Publisher
	log *slog.Logger
	now func() time.Time

	inbox [alertInboxShards]alertInbox
	wake  chan struct{}

	// State below is owned by the Run goroutine.
	members map[string]*memberState
	groups  map[string]map[string]*memberState

	// raised mirrors the raised alerts for Active (read by handlers).
	raisedMu sync.RWMutex
	raised   map[alertKey]Alert
}

type alertKey struct {
	pid  string
	kind EventKind
}

type memberState struct {
	pid, group, camp string // camp: the assigned camp
	st               alertSample
	farSince         time.Time
	sep              bool
	outSince         time.Time
	out              bool
}

// NewAlertMonitor returns a monitor publishing to pub (the hub, the
// notifier). now may be nil (time.Now).
func NewAlertMonitor(cfg AlertConfig, reg AlertPilgrims, pub Publisher, log *slog.Logger, now func() time.Time) *AlertMonitor {
	if cfg.ClearDistanceM <= 0 || cfg.ClearDistanceM >= cfg.RaiseDistanceM {
		cfg.ClearDistanceM = cfg.RaiseDistanceM * 2 / 3
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 30 * time.Second
	}
	if cfg.Location == nil {
		cfg.Location = RiyadhTime()
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = 1 << 20
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &AlertMonitor{cfg: cfg, reg: reg, pub: pub, log: log, now: now,
		wake:    make(chan struct{}, 1),
		members: map[string]*memberState{}, groups: map[string]map[string]*memberState{},
		raised: map[alertKey]Alert{}}
}

// SetPublisher sets where alerts go; call before Run.
func (m *AlertMonitor) SetPublisher(p Publisher) { m.pub = p }

// alertInboxShards spreads Publish over several locks: ingest publishes
// from many goroutines at once.
const alertInboxShards = 16

type alertInbox struct {
	mu      sync.Mutex
	pending map[string]alertSample
	dropped uint64
	_       [40]byte // keep shards on separate cache lines
}

// alertSample is what the monitor keeps of a position: a LiveState without
// the tent candidates, small enough to hold for every pilgrim.
type alertSample struct {
	device, group string
	lat, lon      float64
	t             time.Time
	site          geo.Site
	camp, tent    string
	zone, campNum int
	near          [2]string
	edgeM         float64
}

func sampleOf(st *LiveState) alertSample {
	l := &st.Location
	return alertSample{device: st.Device, group: st.Group, lat: st.Position.Lat, lon: st.Position.Lon, t: st.Position.Time,
		site: l.Site, camp: l.Camp, tent: l.Tent, zone: l.Zone, campNum: l.CampNumber, near: l.NearCamps, edgeM: l.EdgeDistanceM}
}

// location rebuilds the geo.Location (without tent candidates) for Describe.
func (a *alertSample) location() geo.Location {
	return geo.Location{Site: a.site, Zone: a.zone, Camp: a.camp, CampNumber: a.campNum, Tent: a.tent, NearCamps: a.near, EdgeDistanceM: a.edgeM}
}

// Publish implements Publisher: it never blocks on the monitor's work.
func (m *AlertMonitor) Publish(u Update) {
	st := u.State
	if st == nil || st.Pilgrim == "" {
		return
	}
	in := &m.inbox[shardOfString(st.Pilgrim)%alertInboxShards]
	in.mu.Lock()
	if in.pending == nil {
		in.pending = map[string]alertSample{}
	}
	if old, ok := in.pending[st.Pilgrim]; ok {
		if !st.Position.Time.Before(old.t) {
			in.pending[st.Pilgrim] = sampleOf(st)
		}
	} else if len(in.pending) < max(1, m.cfg.QueueLimit/alertInboxShards) {
		in.pending[st.Pilgrim] = sampleOf(st)
	} else {
		in.dropped++
	}
	in.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// shardOfString is FNV-1a, inlined so that Publish does not allocate.
func shardOfString(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// Dropped is how many positions were dropped because the queue was full.
func (m *AlertMonitor) Dropped() uint64 {
	var n uint64
	for i := range m.inbox {
		in := &m.inbox[i]
		in.mu.Lock()
		n += in.dropped
		in.mu.Unlock()
	}
	return n
}

// queued is how many positions wait to be judged.
func (m *AlertMonitor) queued() int {
	n := 0
	for i := range m.inbox {
		in := &m.inbox[i]
		in.mu.Lock()
		n += len(in.pending)
		in.mu.Unlock()
	}
	return n
}

// Active lists the raised alerts, of one group or all (group ""), oldest first.
func (m *AlertMonitor) Active(group string) []Alert {
	m.raisedMu.RLock()
	var out []Alert
	for _, a := range m.raised {
		if group == "" || a.Group == group {
			out = append(out, a)
		}
	}
	m.raisedMu.RUnlock()
	slices.SortFunc(out, func(a, b Alert) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.Pilgrim, b.Pilgrim)
	})
	return out
}

// Run judges positions as they come and every Tick until ctx ends.
func (m *AlertMonitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.wake:
			m.drain(m.now())
		case <-t.C:
			m.drain(m.now())
			m.tick(m.now())
		}
	}
}

func (m *AlertMonitor) drain(now time.Time) {
	for i := range m.inbox {
		in := &m.inbox[i]
		in.mu.Lock()
		batch := in.pending
		in.pending = nil
		in.mu.Unlock()
		for pid, a := range batch {
			m.observeSample(pid, a, now)
		}
	}
}

// observe takes one pilgrim's newest position and judges them (and, when
// they are a guide, their group).
func (m *AlertMonitor) observe(st LiveState, now time.Time) {
	m.observeSample(st.Pilgrim, sampleOf(&st), now)
}

func (m *AlertMonitor) observeSample(pid string, st alertSample, now time.Time) {
	ms := m.members[pid]
	if ms == nil || (st.group != "" && st.group != ms.group) {
		p, ok := m.reg.Pilgrim(pid)
		if !ok {
			return
		}
		if ms != nil {
			delete(m.groups[ms.group], ms.pid)
		}
		ms = &memberState{pid: p.PID, group: p.Group, camp: p.Camp}
		m.members[p.PID] = ms
		if ms.group != "" {
			if m.groups[ms.group] == nil {
				m.groups[ms.group] = map[string]*memberState{}
			}
			m.groups[ms.group][ms.pid] = ms
		}
	}
	if !ms.st.t.IsZero() && st.t.Before(ms.st.t) {
		return
	}
	ms.st = st
	m.judge(ms, now)
	// A guide who moves moves everyone's distance.
	if g, ok := m.reg.Group(ms.group); ok && g.GuidePID == ms.pid {
		for _, other := range m.groups[ms.group] {
			if other != ms {
				m.judgeSeparation(other, now)
			}
		}
	}
}

// tick re-judges everyone: alerts that are due by time alone.
func (m *AlertMonitor) tick(now time.Time) {
	for _, ms := range m.members {
		m.judge(ms, now)
	}
}

func (m *AlertMonitor) judge(ms *memberState, now time.Time) {
	m.judgeSeparation(ms, now)
	m.judgeOutside(ms, now)
}

// reference returns the point a member is measured from: the guide's fresh
// position, else the centre of the other members' fresh positions.
func (m *AlertMonitor) reference(ms *memberState, now time.Time) (lat, lon float64, what string, ok bool) {
	g, _ := m.reg.Group(ms.group)
	members := m.groups[ms.group]
	if g.GuidePID == ms.pid {
		return 0, 0, "", false // the guide is the reference, not judged
	}
	if gs, found := members[g.GuidePID]; found && now.Sub(gs.st.t) <= m.cfg.GuideStaleAfter {
		return gs.st.lat, gs.st.lon, "guide " + g.GuidePID, true
	}
	n := 0
	for _, o := range members {
		if o == ms || o.pid == g.GuidePID || now.Sub(o.st.t) > m.cfg.MemberStaleAfter {
			continue
		}
		lat += o.st.lat
		lon += o.st.lon
		n++
	}
	if n < 2 {
		return 0, 0, "", false // no group to be apart from
	}
	return lat / float64(n), lon / float64(n), "the group's centre", true
}

func (m *AlertMonitor) judgeSeparation(ms *memberState, now time.Time) {
	if ms.group == "" || now.Sub(ms.st.t) > m.cfg.MemberStaleAfter {
		return // nothing fresh to judge by: leave the alert as it stands
	}
	lat, lon, what, ok := m.reference(ms, now)
	if !ok {
		return
	}
	d := geo.DistanceM(geo.Point{Lat: ms.st.lat, Lon: ms.st.lon}, geo.Point{Lat: lat, Lon: lon})
	switch {
	case d > m.cfg.RaiseDistanceM:
		if ms.farSince.IsZero() {
			ms.farSince = now
		}
		if !ms.sep && now.Sub(ms.farSince) >= m.cfg.RaiseAfter {
			ms.sep = true
			m.raise(ms, EventSeparation, ms.farSince, now,
				fmt.Sprintf("%.0f m from %s for %s", d, what, now.Sub(ms.farSince).Round(time.Second)))
		}
	case d < m.cfg.ClearDistanceM:
		ms.farSince = time.Time{}
		if ms.sep {
			ms.sep = false
			m.clear(ms, EventSeparation, now, fmt.Sprintf("back within %.0f m of %s", d, what))
		}
	default:
		// In the hysteresis band: an alert stays raised, a timer restarts.
		if !ms.sep {
			ms.farSince = time.Time{}
		}
	}
}

func (m *AlertMonitor) isNight(now time.Time) bool {
	h := now.In(m.cfg.Location).Hour()
	if m.cfg.NightStart > m.cfg.NightEnd {
		return h >= m.cfg.NightStart || h < m.cfg.NightEnd
	}
	return h >= m.cfg.NightStart && h < m.cfg.NightEnd
}

func (m *AlertMonitor) judgeOutside(ms *memberState, now time.Time) {
	if ms.camp == "" || now.Sub(ms.st.t) > m.cfg.MemberStaleAfter {
		return
	}
	loc := ms.st.location()
	inside := loc.Camp == ms.camp
	outside := !inside && (loc.Camp != "" || loc.EdgeDistanceM >= m.cfg.OutsideMarginM)
	switch {
	case inside:
		ms.outSince = time.Time{}
		if ms.out {
			ms.out = false
			m.clear(ms, EventOutsideCamp, now, "back in camp "+ms.camp)
		}
	case outside && m.isNight(now):
		if ms.outSince.IsZero() {
			ms.outSince = now
		}
		if !ms.out && now.Sub(ms.outSince) >= m.cfg.OutsideAfter {
			ms.out = true
			m.raise(ms, EventOutsideCamp, ms.outSince, now, fmt.Sprintf("outside camp %s at night since %s, at %s",
				ms.camp, ms.outSince.In(m.cfg.Location).Format("15:04"), loc.Describe()))
		}
	case !ms.out:
		ms.outSince = time.Time{} // daytime, or at the fence: no timer
	}
}

func (m *AlertMonitor) raise(ms *memberState, kind EventKind, since, now time.Time, detail string) {
	m.raisedMu.Lock()
	m.raised[alertKey{ms.pid, kind}] = Alert{Kind: kind, Pilgrim: ms.pid, Group: ms.group, Since: since, Detail: detail}
	m.raisedMu.Unlock()
	m.emit(ms, kind, now, detail)
}

func (m *AlertMonitor) clear(ms *memberState, kind EventKind, now time.Time, detail string) {
	m.raisedMu.Lock()
	delete(m.raised, alertKey{ms.pid, kind})
	m.raisedMu.Unlock()
	m.emit(ms, EventRejoined, now, string(kind)+" cleared: "+detail)
}

func (m *AlertMonitor) emit(ms *memberState, kind EventKind, now time.Time, detail string) {
	if m.pub == nil {
		return
	}
	m.pub.Publish(Update{Event: &Event{Kind: kind, Time: now.UTC(), Pilgrim: ms.pid, Device: ms.st.device,
		Group: ms.group, Site: ms.st.site, Camp: ms.st.camp, Tent: ms.st.tent, Detail: detail}})
}
