package registry

import (
	"context"
	"fmt"

	"dalil"
)

// PutDevices registers or rebinds many devices at once (a bulk import of
// tracker IMEIs): every device is checked before anything is written, then
// the device records go in one store batch and the pilgrims that list them
// in another — the commit point for devices bound to pilgrims, as in Import.
// A store failure between the two leaves bag-bound devices written and
// pilgrim-bound ones not; they are not in memory either, and the same call
// again completes the import. rs may be nil.
func (r *Registry) PutDevices(ctx context.Context, rs dalil.RecordStore, ds []dalil.Device) error {
	for _, d := range ds {
		if err := checkIDText(d.ID); err != nil {
			return fmt.Errorf("device id %q: %w", d.ID, err)
		}
		if !validDeviceKind(d.Kind) {
			return fmt.Errorf("device %s: unknown kind %q", d.ID, d.Kind)
		}
		if (d.Pilgrim == "") == (d.Luggage == "") {
			return fmt.Errorf("device %s: bind it to exactly one of a pilgrim and a bag", d.ID)
		}
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()

	r.mu.RLock()
	changed := map[string]Pilgrim{}
	pilgrim := func(pid string) (Pilgrim, bool) {
		if p, ok := changed[pid]; ok {
			return p, true
		}
		p, ok := r.pilgrims[pid]
		if !ok {
			return Pilgrim{}, false
		}
		return clonePilgrim(p), true
	}
	for _, d := range ds {
		if d.Pilgrim != "" {
			p, ok := pilgrim(d.Pilgrim)
			if !ok {
				r.mu.RUnlock()
				return fmt.Errorf("device %s: pilgrim %q: %w", d.ID, d.Pilgrim, dalil.ErrNotFound)
			}
			changed[p.PID] = withDevice(&p, d.ID, d.Kind)
		}
		if old, ok := r.devices[d.ID]; ok && old.Pilgrim != "" && old.Pilgrim != d.Pilgrim {
			if p, ok := pilgrim(old.Pilgrim); ok {
				changed[p.PID] = withoutDevice(&p, d.ID)
			}
		}
	}
	r.mu.RUnlock()
	ps := make([]Pilgrim, 0, len(changed))
	for _, p := range changed {
		ps = append(ps, p)
	}

	if rs != nil {
		if err := putJSON(ctx, rs, KindDevice, ds, func(d *dalil.Device) string { return d.ID }); err != nil {
			return err
		}
		if err := putJSON(ctx, rs, KindPilgrim, ps, func(p *Pilgrim) string { return p.PID }); err != nil {
			return err
		}
	}
	r.mu.Lock()
	for i := range ps {
		p := ps[i]
		r.pilgrims[p.PID] = &p
	}
	for _, d := range ds {
		r.devices[d.ID] = r.entry(d)
	}
	r.mu.Unlock()
	r.version.Add(1)
	return nil
}
