package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"dalil"
)

// Record kinds the registry persists through a RecordStore.
const (
	KindPilgrim = "pilgrim"
	KindGroup   = "group"
	KindDevice  = "device"
)

// RowError says which pilgrim (CSV line or position in an import) is wrong,
// in which column, and why.
type RowError struct {
	Line   int    // CSV line (1 = header), 0 when not read from CSV
	Index  int    // position of the pilgrim in the import, -1 when unknown
	PID    string // the row's PID when known
	Column string // CSV column / field name, "" for the whole row
	Reason string
}

func (e *RowError) Error() string {
	var b strings.Builder
	switch {
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d", e.Line)
	case e.Index >= 0:
		fmt.Fprintf(&b, "pilgrim #%d", e.Index+1)
	default:
		b.WriteString("registry")
	}
	if e.PID != "" {
		fmt.Fprintf(&b, " (pid %s)", e.PID)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ", column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// importPlan is a validated import: what to write and what to drop.
type importPlan struct {
	pilgrims []Pilgrim
	groups   []Group
	devices  []dalil.Device
	dropped  []string // device ids no longer listed by their re-imported pilgrim
}

// Import validates pilgrims and groups against each other and against the
// registry, then writes them (all or nothing: nothing is written when any row
// is wrong) and updates the registry in place. Pilgrims already registered
// are replaced by the new rows; devices are derived from Pilgrim.Devices with
// the kind from Pilgrim.DeviceKinds (a missing kind keeps the registered one,
// or phone for a new device). Groups named by pilgrims but absent from gs and
// from the registry are created from the first member's agency and guide.
// rs may be nil for a registry that lives only in memory.
//
// The store writes groups, then devices, then pilgrims; the pilgrim write is
// the commit point because LoadRegistry trusts a device binding only when the
// pilgrim lists the device, so a crash between the writes leaves the old
// registry (plus, at worst, new empty groups).
func (r *Registry) Import(ctx context.Context, rs dalil.RecordStore, ps []Pilgrim, gs []Group) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()

	plan, err := r.planImport(ps, gs)
	if err != nil {
		return err
	}
	if rs != nil {
		if err := putJSON(ctx, rs, KindGroup, plan.groups, func(g *Group) string { return g.ID }); err != nil {
			return err
		}
		if err := putJSON(ctx, rs, KindDevice, plan.devices, func(d *dalil.Device) string { return d.ID }); err != nil {
			return err
		}
		if err := putJSON(ctx, rs, KindPilgrim, plan.pilgrims, func(p *Pilgrim) string { return p.PID }); err != nil {
			return err
		}
		for _, id := range plan.dropped {
			// LoadRegistry ignores a stale binding anyway; this only tidies up.
			if err := rs.DeleteRecord(ctx, KindDevice, id); err != nil && !errors.Is(err, dalil.ErrNotFound) {
				return fmt.Errorf("drop device %s: %w", id, err)
			}
		}
	}
	r.apply(plan.pilgrims, plan.groups, plan.devices, plan.dropped)
	return nil
}

func (r *Registry) planImport(ps []Pilgrim, gs []Group) (*importPlan, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()

	rowErr := func(i int, col, format string, args ...any) error {
		pid := ""
		if i >= 0 && i < len(ps) {
			pid = ps[i].PID
		}
		return &RowError{Index: i, PID: pid, Column: col, Reason: fmt.Sprintf(format, args...)}
	}
	plan := &importPlan{pilgrims: make([]Pilgrim, len(ps))}

	byPID := make(map[string]int, len(ps))
	for i := range ps {
		p := &ps[i]
		if p.PID == "" {
			return nil, rowErr(i, "pid", "empty PID")
		}
		if err := checkIDText(p.PID); err != nil {
			return nil, rowErr(i, "pid", "%v", err)
		}
		if j, dup := byPID[p.PID]; dup {
			return nil, rowErr(i, "pid", "duplicate PID %q (also pilgrim #%d)", p.PID, j+1)
		}
		byPID[p.PID] = i
	}
	known := func(pid string) bool {
		if _, ok := byPID[pid]; ok {
			return true
		}
		_, ok := r.pilgrims[pid]
		return ok
	}

	claimed := make(map[string]int) // device id -> pilgrim index
	for i := range ps {
		p := clonePilgrim(&ps[i])
		if strings.TrimSpace(p.NameEN) == "" {
			return nil, rowErr(i, "name_en", "empty English name")
		}
		if p.Gender != "" && p.Gender != "M" && p.Gender != "F" {
			return nil, rowErr(i, "gender", "gender %q is not M or F", p.Gender)
		}
		if p.BirthYear != 0 && (p.BirthYear < minBirthYear || p.BirthYear > maxBirthYear()) {
			return nil, rowErr(i, "birth_year", "birth year %d is not between %d and %d", p.BirthYear, minBirthYear, maxBirthYear())
		}
		if p.MahramPID == p.PID {
			return nil, rowErr(i, "mahram_pid", "a pilgrim cannot be their own mahram")
		}
		if p.MahramPID != "" && !known(p.MahramPID) {
			return nil, rowErr(i, "mahram_pid", "mahram %q is not a registered pilgrim", p.MahramPID)
		}
		if p.GuidePID != "" && !known(p.GuidePID) {
			return nil, rowErr(i, "guide_pid", "guide %q is not a registered pilgrim", p.GuidePID)
		}
		if len(p.DeviceKinds) > len(p.Devices) {
			return nil, rowErr(i, "devices", "%d device kinds for %d devices", len(p.DeviceKinds), len(p.Devices))
		}
		kinds := make([]dalil.DeviceKind, len(p.Devices))
		for k, id := range p.Devices {
			if err := checkIDText(id); err != nil {
				return nil, rowErr(i, "devices", "device %q: %v", id, err)
			}
			if j, dup := claimed[id]; dup {
				if j == i {
					return nil, rowErr(i, "devices", "device %q listed twice", id)
				}
				return nil, rowErr(i, "devices", "device %q is also claimed by pilgrim %q (#%d)", id, ps[j].PID, j+1)
			}
			claimed[id] = i
			old, exists := r.devices[id]
			if exists {
				if old.Luggage != "" && old.Pilgrim == "" {
					return nil, rowErr(i, "devices", "device %q is bound to luggage %q", id, old.Luggage)
				}
				if old.Pilgrim != "" && old.Pilgrim != p.PID {
					if _, moving := byPID[old.Pilgrim]; !moving {
						return nil, rowErr(i, "devices", "device %q belongs to pilgrim %q", id, old.Pilgrim)
					}
				}
			}
			switch {
			case k < len(p.DeviceKinds) && p.DeviceKinds[k] != "":
				kinds[k] = p.DeviceKinds[k]
			case exists:
				kinds[k] = old.Kind
			default:
				kinds[k] = dalil.DevicePhone
			}
			if !validDeviceKind(kinds[k]) {
				return nil, rowErr(i, "devices", "device %q has unknown kind %q", id, kinds[k])
			}
			d := dalil.Device{ID: id, Kind: kinds[k], Pilgrim: p.PID}
			if exists && old.Pilgrim == p.PID {
				d.Luggage = old.Luggage
			}
			plan.devices = append(plan.devices, d)
		}
		p.DeviceKinds = kinds
		plan.pilgrims[i] = p
	}

	// Devices a re-imported pilgrim no longer lists are unbound, unless
	// another pilgrim of this import took them over.
	for i := range ps {
		old, ok := r.pilgrims[ps[i].PID]
		if !ok {
			continue
		}
		for _, id := range old.Devices {
			if _, still := claimed[id]; !still {
				plan.dropped = append(plan.dropped, id)
			}
		}
	}

	groupIdx := make(map[string]int, len(gs))
	for gi := range gs {
		g := gs[gi]
		if g.ID == "" {
			return nil, &RowError{Index: -1, Column: "group", Reason: fmt.Sprintf("group #%d has an empty id", gi+1)}
		}
		if _, dup := groupIdx[g.ID]; dup {
			return nil, &RowError{Index: -1, Column: "group", Reason: fmt.Sprintf("duplicate group %q", g.ID)}
		}
		if g.GuidePID != "" && !known(g.GuidePID) {
			return nil, &RowError{Index: -1, Column: "guide_pid", Reason: fmt.Sprintf("group %q: guide %q is not a registered pilgrim", g.ID, g.GuidePID)}
		}
		groupIdx[g.ID] = len(plan.groups)
		plan.groups = append(plan.groups, g)
	}
	for i := range plan.pilgrims {
		p := &plan.pilgrims[i]
		if p.Group == "" {
			continue
		}
		if _, ok := groupIdx[p.Group]; ok {
			continue
		}
		if _, ok := r.groups[p.Group]; ok {
			continue
		}
		groupIdx[p.Group] = len(plan.groups)
		plan.groups = append(plan.groups, Group{ID: p.Group, Agency: p.Agency, GuidePID: p.GuidePID})
	}
	return plan, nil
}

// PutDevice registers or rebinds one device: a luggage tag bound to a bag, a
// replacement wristband. A device bound to a pilgrim is added to that
// pilgrim's devices and removed from its previous pilgrim's. rs may be nil.
func (r *Registry) PutDevice(ctx context.Context, rs dalil.RecordStore, d dalil.Device) error {
	if err := checkIDText(d.ID); err != nil {
		return fmt.Errorf("device id %q: %w", d.ID, err)
	}
	if !validDeviceKind(d.Kind) {
		return fmt.Errorf("device %s: unknown kind %q", d.ID, d.Kind)
	}
	if d.Pilgrim == "" && d.Luggage == "" {
		return fmt.Errorf("device %s: bound to neither a pilgrim nor luggage", d.ID)
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()

	r.mu.RLock()
	var changed []Pilgrim
	if d.Pilgrim != "" {
		p, ok := r.pilgrims[d.Pilgrim]
		if !ok {
			r.mu.RUnlock()
			return fmt.Errorf("device %s: pilgrim %q: %w", d.ID, d.Pilgrim, dalil.ErrNotFound)
		}
		np := withDevice(p, d.ID, d.Kind)
		changed = append(changed, np)
	}
	if old, ok := r.devices[d.ID]; ok && old.Pilgrim != "" && old.Pilgrim != d.Pilgrim {
		if p, ok := r.pilgrims[old.Pilgrim]; ok {
			changed = append(changed, withoutDevice(p, d.ID))
		}
	}
	r.mu.RUnlock()

	if rs != nil {
		if err := putJSON(ctx, rs, KindDevice, []dalil.Device{d}, func(d *dalil.Device) string { return d.ID }); err != nil {
			return err
		}
		if len(changed) > 0 {
			if err := putJSON(ctx, rs, KindPilgrim, changed, func(p *Pilgrim) string { return p.PID }); err != nil {
				return err
			}
		}
	}
	r.mu.Lock()
	for i := range changed {
		p := changed[i]
		r.pilgrims[p.PID] = &p
	}
	r.devices[d.ID] = r.entry(d)
	r.mu.Unlock()
	r.version.Add(1)
	return nil
}

func withDevice(p *Pilgrim, id string, kind dalil.DeviceKind) Pilgrim {
	np := clonePilgrim(p)
	np.DeviceKinds = alignedKinds(&np)
	if k := slices.Index(np.Devices, id); k >= 0 {
		np.DeviceKinds[k] = kind
		return np
	}
	np.Devices = append(np.Devices, id)
	np.DeviceKinds = append(np.DeviceKinds, kind)
	return np
}

func withoutDevice(p *Pilgrim, id string) Pilgrim {
	np := clonePilgrim(p)
	np.DeviceKinds = alignedKinds(&np)
	if k := slices.Index(np.Devices, id); k >= 0 {
		np.Devices = slices.Delete(np.Devices, k, k+1)
		np.DeviceKinds = slices.Delete(np.DeviceKinds, k, k+1)
	}
	return np
}

// alignedKinds returns DeviceKinds padded with phone to the length of Devices.
func alignedKinds(p *Pilgrim) []dalil.DeviceKind {
	ks := slices.Clone(p.DeviceKinds)
	for len(ks) < len(p.Devices) {
		ks = append(ks, dalil.DevicePhone)
	}
	return ks[:len(p.Devices)]
}

// LoadRegistry reads the whole registry from the store. A device record
// bound to a pilgrim counts only if that pilgrim lists the device (the
// pilgrim record is the commit point of an import); a device a pilgrim lists
// without a record of its own is rebuilt from the pilgrim's DeviceKinds.
func LoadRegistry(ctx context.Context, rs dalil.RecordStore) (*Registry, error) {
	r := NewRegistry()
	var groups []Group
	err := rs.ScanRecords(ctx, KindGroup, func(id string, data []byte) error {
		var g Group
		if err := json.Unmarshal(data, &g); err != nil {
			return fmt.Errorf("group %s: %w", id, err)
		}
		groups = append(groups, g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load groups: %w", err)
	}
	var pilgrims []Pilgrim
	err = rs.ScanRecords(ctx, KindPilgrim, func(id string, data []byte) error {
		var p Pilgrim
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("pilgrim %s: %w", id, err)
		}
		p.DeviceKinds = alignedKinds(&p)
		pilgrims = append(pilgrims, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load pilgrims: %w", err)
	}
	listed := make(map[string]string) // device -> pilgrim that lists it
	for i := range pilgrims {
		for _, id := range pilgrims[i].Devices {
			listed[id] = pilgrims[i].PID
		}
	}
	devs := make(map[string]dalil.Device)
	err = rs.ScanRecords(ctx, KindDevice, func(id string, data []byte) error {
		var d dalil.Device
		if err := json.Unmarshal(data, &d); err != nil {
			return fmt.Errorf("device %s: %w", id, err)
		}
		if d.Pilgrim != "" && listed[d.ID] != d.Pilgrim {
			return nil // stale binding from an interrupted write
		}
		devs[d.ID] = d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load devices: %w", err)
	}
	for i := range pilgrims {
		p := &pilgrims[i]
		for k, id := range p.Devices {
			if _, ok := devs[id]; !ok {
				devs[id] = dalil.Device{ID: id, Kind: p.DeviceKinds[k], Pilgrim: p.PID}
			}
		}
	}
	ds := make([]dalil.Device, 0, len(devs))
	for _, d := range devs {
		ds = append(ds, d)
	}
	r.apply(pilgrims, groups, ds, nil)
	return r, nil
}

func putJSON[T any](ctx context.Context, rs dalil.RecordStore, kind string, items []T, id func(*T) string) error {
	if len(items) == 0 {
		return nil
	}
	recs := make([]dalil.Record, len(items))
	for i := range items {
		data, err := json.Marshal(&items[i])
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", kind, id(&items[i]), err)
		}
		recs[i] = dalil.Record{ID: id(&items[i]), Data: data}
	}
	if err := rs.PutRecords(ctx, kind, recs); err != nil {
		return fmt.Errorf("write %d %s records: %w", len(recs), kind, err)
	}
	return nil
}

// checkIDText rejects ids that would break CSV round trips, URLs or logs.
func checkIDText(id string) error {
	if id == "" {
		return errors.New("empty")
	}
	if len(id) > 128 {
		return errors.New("longer than 128 bytes")
	}
	for _, c := range id {
		if c <= ' ' || c == ';' || c == ',' || c == '"' || c == 0x7f {
			return fmt.Errorf("contains %q", c)
		}
	}
	return nil
}

func validDeviceKind(k dalil.DeviceKind) bool {
	return k == dalil.DevicePhone || k == dalil.DeviceWristband || k == dalil.DeviceLuggageTag
}
