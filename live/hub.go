// Package live is the websocket live feed: a hub that routes every tracking
// update to the subscribers of its pilgrim, group, camp, tent, case or map
// box, with snapshots on subscribe, coalescing, and a cut-off for slow
// clients. What a subscriber may follow is the server's Policy.
package live

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"dalil"

	"github.com/gorilla/websocket"
)

// HubConfig tunes the websocket live feed.
type HubConfig struct {
	// QueueSize bounds the distinct positions waiting for one client; newer
	// positions of the same pilgrim replace older ones (coalescing). A client
	// that still overflows it is disconnected.
	QueueSize int
	// ControlQueue bounds waiting events, snapshots and replies per client.
	ControlQueue int
	// PingInterval is how often the server pings each client (30 s).
	PingInterval time.Duration
	// WriteTimeout bounds one write; a client that does not read for this
	// long is disconnected.
	WriteTimeout time.Duration
	// SnapshotLimit bounds the positions sent on subscribe.
	SnapshotLimit int
	// MaxSubscriptions bounds the topics one client may follow.
	MaxSubscriptions int
	// GridDeg is the cell size (degrees) of the grid that indexes bbox
	// subscriptions; a bbox spanning more than MaxGridCells cells is checked
	// against every position instead.
	GridDeg      float64
	MaxGridCells int
	// AllowedOrigins are browser origins allowed besides the request's host.
	AllowedOrigins []string
	// GroupOf finds a pilgrim's group for events that lack one (nil: none).
	GroupOf func(pid string) string `json:"-"`
}

// DefaultHubConfig returns the documented defaults.
func DefaultHubConfig() HubConfig {
	return HubConfig{
		QueueSize:        8192,
		ControlQueue:     1024,
		PingInterval:     30 * time.Second,
		WriteTimeout:     10 * time.Second,
		SnapshotLimit:    5000,
		MaxSubscriptions: 64,
		GridDeg:          0.01,
		MaxGridCells:     256,
	}
}

func (c *HubConfig) fill() {
	d := DefaultHubConfig()
	if c.QueueSize <= 0 {
		c.QueueSize = d.QueueSize
	}
	if c.ControlQueue <= 0 {
		c.ControlQueue = d.ControlQueue
	}
	if c.PingInterval <= 0 {
		c.PingInterval = d.PingInterval
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.SnapshotLimit <= 0 {
		c.SnapshotLimit = d.SnapshotLimit
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = d.MaxSubscriptions
	}
	if c.GridDeg <= 0 {
		c.GridDeg = d.GridDeg
	}
	if c.MaxGridCells <= 0 {
		c.MaxGridCells = d.MaxGridCells
	}
}

// HubStats are the hub's counters (exported as metrics).
type HubStats struct {
	Clients       int64  // connected websocket clients
	Subscriptions int64  // live subscriptions
	Published     uint64 // updates handed to Publish
	Enqueued      uint64 // messages queued for clients
	Coalesced     uint64 // positions replaced by a newer one before sending
	Delivered     uint64 // messages written to clients
	Dropped       uint64 // clients disconnected for falling behind
}

// subscription is one client's interest in one topic.
type subscription struct {
	c     *client
	topic Topic
	// group restricts an events subscription to one group (a guide's).
	group string
}

type gridKey struct{ lat, lon int32 }

// Hub routes tracking updates to websocket clients. It implements
// tracking.Publisher: Publish never blocks on a client; it looks the update's
// pilgrim, group, camp, tent and grid cell up in maps of subscriptions and
// puts the encoded message in each matching client's bounded queue.
type Hub struct {
	cfg HubConfig
	log *slog.Logger

	mu        sync.RWMutex
	byPilgrim map[string][]*subscription
	byGroup   map[string][]*subscription
	byCamp    map[string][]*subscription
	byTent    map[string][]*subscription
	byCase    map[string][]*subscription
	events    []*subscription
	grid      map[gridKey][]*subscription
	wide      []*subscription // bboxes too large for the grid
	clients   map[*client]struct{}
	closed    bool

	nsubs     atomic.Int64
	published atomic.Uint64
	enqueued  atomic.Uint64
	coalesced atomic.Uint64
	delivered atomic.Uint64
	dropped   atomic.Uint64
	wg        sync.WaitGroup // client writers
}

// NewHub returns an empty hub.
func NewHub(cfg HubConfig, log *slog.Logger) *Hub {
	cfg.fill()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		cfg: cfg, log: log,
		byPilgrim: map[string][]*subscription{},
		byGroup:   map[string][]*subscription{},
		byCamp:    map[string][]*subscription{},
		byTent:    map[string][]*subscription{},
		byCase:    map[string][]*subscription{},
		grid:      map[gridKey][]*subscription{},
		clients:   map[*client]struct{}{},
	}
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.RLock()
	n := len(h.clients)
	h.mu.RUnlock()
	return HubStats{
		Clients: int64(n), Subscriptions: h.nsubs.Load(),
		Published: h.published.Load(), Enqueued: h.enqueued.Load(), Coalesced: h.coalesced.Load(),
		Delivered: h.delivered.Load(), Dropped: h.dropped.Load(),
	}
}

func (h *Hub) cellOf(lat, lon float64) gridKey {
	return gridKey{int32(math.Floor(lat / h.cfg.GridDeg)), int32(math.Floor(lon / h.cfg.GridDeg))}
}

// Publish implements tracking.Publisher. It never blocks on a client.
func (h *Hub) Publish(u dalil.Update) {
	h.published.Add(1)
	switch {
	case u.State != nil:
		h.publishState(u.State)
	case u.Event != nil:
		h.publishEvent(u.Event)
	}
}

// PublishCase sends a case event to case:<ID> and events subscribers (and the
// pilgrim's and group's); ev.Case must be set.
func (h *Hub) PublishCase(ev dalil.Event) {
	if ev.Kind == "" {
		ev.Kind = dalil.EventCase
	}
	h.Publish(dalil.Update{Event: &ev})
}

// stateKey is the coalescing key: the pilgrim, or the device of a bag.
func stateKey(st *dalil.LiveState) string {
	if st.Pilgrim != "" {
		return st.Pilgrim
	}
	return "device:" + st.Device
}

func (h *Hub) publishState(st *dalil.LiveState) {
	var msg []byte // encoded on the first match only, then shared
	key := stateKey(st)
	deliverOne := func(s *subscription) {
		if msg == nil {
			msg = appendPosition(make([]byte, 0, 320), st)
		}
		s.c.enqueuePosition(key, msg)
	}
	deliver := func(subs []*subscription) {
		for _, s := range subs {
			deliverOne(s)
		}
	}
	lat, lon := st.Position.Lat, st.Position.Lon
	inBox := func(subs []*subscription) {
		for _, s := range subs {
			if s.topic.contains(lat, lon) {
				deliverOne(s)
			}
		}
	}
	h.mu.RLock()
	if st.Pilgrim != "" {
		deliver(h.byPilgrim[st.Pilgrim])
	}
	if st.Group != "" {
		deliver(h.byGroup[st.Group])
	}
	if st.Location.Camp != "" {
		deliver(h.byCamp[st.Location.Camp])
	}
	if st.Location.Tent != "" {
		deliver(h.byTent[st.Location.Tent])
	}
	if len(h.grid) > 0 {
		inBox(h.grid[h.cellOf(lat, lon)])
	}
	inBox(h.wide)
	h.mu.RUnlock()
}

func (h *Hub) publishEvent(ev *dalil.Event) {
	group := ev.Group
	if group == "" && ev.Pilgrim != "" && h.cfg.GroupOf != nil {
		group = h.cfg.GroupOf(ev.Pilgrim)
	}
	var msg []byte
	var sent []*client // one event reaches a client once, whatever it follows
	send := func(subs []*subscription) {
		for _, s := range subs {
			if s.group != "" && s.group != group {
				continue
			}
			if slices.Contains(sent, s.c) {
				continue
			}
			if msg == nil {
				msg = encodeEvent(ev)
			}
			sent = append(sent, s.c)
			s.c.enqueueControl(msg)
		}
	}
	h.mu.RLock()
	if ev.Case != "" {
		send(h.byCase[ev.Case])
	}
	if ev.Pilgrim != "" {
		send(h.byPilgrim[ev.Pilgrim])
	}
	if group != "" {
		send(h.byGroup[group])
	}
	if ev.Camp != "" {
		send(h.byCamp[ev.Camp])
	}
	if ev.Tent != "" {
		send(h.byTent[ev.Tent])
	}
	send(h.events)
	h.mu.RUnlock()
}

// indexFor returns the map a keyed topic lives in.
func (h *Hub) indexFor(k TopicKind) map[string][]*subscription {
	switch k {
	case TopicPilgrim:
		return h.byPilgrim
	case TopicGroup:
		return h.byGroup
	case TopicCamp:
		return h.byCamp
	case TopicTent:
		return h.byTent
	case TopicCase:
		return h.byCase
	}
	return nil
}

// gridCells returns the grid cells a bbox covers, or nil when it spans more
// than MaxGridCells.
func (h *Hub) gridCells(t *Topic) []gridKey {
	lo, hi := h.cellOf(t.MinLat, t.MinLon), h.cellOf(t.MaxLat, t.MaxLon)
	n := (int64(hi.lat-lo.lat) + 1) * (int64(hi.lon-lo.lon) + 1)
	if n > int64(h.cfg.MaxGridCells) {
		return nil
	}
	out := make([]gridKey, 0, n)
	for la := lo.lat; la <= hi.lat; la++ {
		for lo2 := lo.lon; lo2 <= hi.lon; lo2++ {
			out = append(out, gridKey{la, lo2})
		}
	}
	return out
}

// add registers s. Slices are replaced, never modified in place, so a
// concurrent reader sees a consistent list.
func (h *Hub) add(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.nsubs.Add(1)
	switch s.topic.Kind {
	case TopicEvents:
		h.events = appendCopy(h.events, s)
	case TopicBBox:
		cells := h.gridCells(&s.topic)
		if cells == nil {
			h.wide = appendCopy(h.wide, s)
			return
		}
		for _, k := range cells {
			h.grid[k] = appendCopy(h.grid[k], s)
		}
	default:
		m := h.indexFor(s.topic.Kind)
		m[s.topic.ID] = appendCopy(m[s.topic.ID], s)
	}
}

// remove unregisters s.
func (h *Hub) remove(s *subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s)
}

func (h *Hub) removeLocked(s *subscription) {
	h.nsubs.Add(-1)
	switch s.topic.Kind {
	case TopicEvents:
		h.events = without(h.events, s)
	case TopicBBox:
		cells := h.gridCells(&s.topic)
		if cells == nil {
			h.wide = without(h.wide, s)
			return
		}
		for _, k := range cells {
			if l := without(h.grid[k], s); len(l) > 0 {
				h.grid[k] = l
			} else {
				delete(h.grid, k)
			}
		}
	default:
		m := h.indexFor(s.topic.Kind)
		if l := without(m[s.topic.ID], s); len(l) > 0 {
			m[s.topic.ID] = l
		} else {
			delete(m, s.topic.ID)
		}
	}
}

func appendCopy(l []*subscription, s *subscription) []*subscription {
	out := make([]*subscription, len(l), len(l)+1)
	copy(out, l)
	return append(out, s)
}

func without(l []*subscription, s *subscription) []*subscription {
	i := slices.Index(l, s)
	if i < 0 {
		return l
	}
	out := make([]*subscription, 0, len(l)-1)
	out = append(out, l[:i]...)
	return append(out, l[i+1:]...)
}

// register adds a connected client; false when the hub is closed.
func (h *Hub) register(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	h.wg.Add(1)
	return true
}

// unregister removes a client and all its subscriptions.
func (h *Hub) unregister(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	for _, s := range c.subs {
		h.removeLocked(s)
	}
	clear(c.subs)
}

// Close disconnects every client with a "going away" close frame and waits,
// until ctx ends, for their writers to finish.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	for _, c := range cs {
		c.kill(closeGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DisconnectToken closes every connection that signed in with token id (it
// was revoked).
func (h *Hub) DisconnectToken(id string) {
	h.mu.RLock()
	var cs []*client
	for c := range h.clients {
		if c.token == id {
			cs = append(cs, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range cs {
		c.kill(websocket.ClosePolicyViolation, "token revoked")
	}
}
