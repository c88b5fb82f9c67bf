package registry

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"dalil"
	"dalil/geo"
)

// Registry holds every pilgrim, group and device in memory, indexed for the
// lookups the rest of Dalil makes on every request and every ping. It is safe
// for concurrent use. The store is the source of truth: LoadRegistry fills a
// Registry from it and Import/PutDevice write to the store before they change
// the memory.
type Registry struct {
	// wmu serialises the writers (Import, PutDevice) across their
	// validate-write-apply sequence so that two imports cannot both validate
	// against the same old state.
	wmu sync.Mutex

	mu       sync.RWMutex
	pilgrims map[string]*Pilgrim
	groups   map[string]*Group
	members  map[string][]string // group ID -> member PIDs, sorted
	devices  map[string]devEntry

	// version counts changes so that the engine can tell when bindings moved.
	version atomic.Uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		pilgrims: make(map[string]*Pilgrim),
		groups:   make(map[string]*Group),
		members:  make(map[string][]string),
		devices:  make(map[string]devEntry),
	}
}

// Version changes whenever the registry changes (import, device binding).
func (r *Registry) Version() uint64 { return r.version.Load() }

// Len is the number of pilgrims.
func (r *Registry) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.pilgrims)
}

// Pilgrim returns a copy of the pilgrim with that PID.
func (r *Registry) Pilgrim(pid string) (Pilgrim, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.pilgrims[pid]
	if !ok {
		return Pilgrim{}, false
	}
	return clonePilgrim(p), true
}

// Group returns the group with that ID.
func (r *Registry) Group(id string) (Group, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	g, ok := r.groups[id]
	if !ok {
		return Group{}, false
	}
	return *g, true
}

// Groups returns every group sorted by ID.
func (r *Registry) Groups() []Group {
	r.mu.RLock()
	out := make([]Group, 0, len(r.groups))
	for _, g := range r.groups {
		out = append(out, *g)
	}
	r.mu.RUnlock()
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Members returns the pilgrims of a group sorted by PID.
func (r *Registry) Members(groupID string) []Pilgrim {
	r.mu.RLock()
	defer r.mu.RUnlock()
	pids := r.members[groupID]
	out := make([]Pilgrim, 0, len(pids))
	for _, pid := range pids {
		if p, ok := r.pilgrims[pid]; ok {
			out = append(out, clonePilgrim(p))
		}
	}
	return out
}

// Device returns the device with that unique id.
func (r *Registry) Device(id string) (dalil.Device, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.devices[id]
	if !ok {
		return dalil.Device{}, false
	}
	return d.Device, true
}

// Devices returns the devices of a pilgrim in the order the registry lists them.
func (r *Registry) Devices(pid string) []dalil.Device {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.pilgrims[pid]
	if !ok {
		return nil
	}
	out := make([]dalil.Device, 0, len(p.Devices))
	for _, id := range p.Devices {
		if d, ok := r.devices[id]; ok {
			out = append(out, d.Device)
		}
	}
	return out
}

// Each calls fn for every pilgrim (in no particular order) until fn returns
// false. fn must not call back into the registry's writers.
func (r *Registry) Each(fn func(Pilgrim) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, p := range r.pilgrims {
		if !fn(clonePilgrim(p)) {
			return
		}
	}
}

// DeviceOwner is what the engine needs about a device on every ping, in one
// read-locked lookup without allocating.
type DeviceOwner struct {
	Kind    dalil.DeviceKind
	Pilgrim string
	Luggage string
	Group   string
}

// devEntry is a device with its pilgrim's group, so that the engine's
// per-ping lookup is one map access without pointer chasing.
type devEntry struct {
	dalil.Device
	group string
}

// Owner is the engine's per-ping lookup of a device's kind, pilgrim, luggage
// and group.
func (r *Registry) Owner(id string) (DeviceOwner, bool) {
	r.mu.RLock()
	d, ok := r.devices[id]
	r.mu.RUnlock()
	if !ok {
		return DeviceOwner{}, false
	}
	return DeviceOwner{Kind: d.Kind, Pilgrim: d.Pilgrim, Luggage: d.Luggage, Group: d.group}, true
}

// entry builds a device's entry; r.mu is held.
func (r *Registry) entry(d dalil.Device) devEntry {
	e := devEntry{Device: d}
	if p, ok := r.pilgrims[d.Pilgrim]; ok && d.Pilgrim != "" {
		e.group = p.Group
	}
	return e
}

// apply puts validated pilgrims, groups and devices into memory and removes
// dropped device ids. The caller has written them to the store already.
func (r *Registry) apply(ps []Pilgrim, gs []Group, ds []dalil.Device, dropped []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range gs {
		g := gs[i]
		r.groups[g.ID] = &g
	}
	for i := range ps {
		p := clonePilgrim(&ps[i])
		if old, ok := r.pilgrims[p.PID]; ok && old.Group != p.Group {
			r.removeMember(old.Group, p.PID)
		}
		if old, ok := r.pilgrims[p.PID]; !ok || old.Group != p.Group {
			r.addMember(p.Group, p.PID)
		}
		r.pilgrims[p.PID] = &p
	}
	for _, id := range dropped {
		delete(r.devices, id)
	}
	for i := range ds {
		r.devices[ds[i].ID] = r.entry(ds[i])
	}
	r.version.Add(1)
}

func (r *Registry) addMember(group, pid string) {
	if group == "" {
		return
	}
	m := r.members[group]
	i, found := slices.BinarySearch(m, pid)
	if !found {
		r.members[group] = slices.Insert(m, i, pid)
	}
}

func (r *Registry) removeMember(group, pid string) {
	m := r.members[group]
	if i, found := slices.BinarySearch(m, pid); found {
		r.members[group] = slices.Delete(m, i, i+1)
	}
}

func clonePilgrim(p *Pilgrim) Pilgrim {
	c := *p
	c.Devices = slices.Clone(p.Devices)
	c.DeviceKinds = slices.Clone(p.DeviceKinds)
	return c
}

// Home is the registry's camp and tent for a pilgrim: the posterior's prior.
func (r *Registry) Home(pid string) geo.Prior {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.pilgrims[pid]; ok {
		return geo.Prior{Camp: p.Camp, Tent: p.Tent}
	}
	return geo.Prior{}
}
