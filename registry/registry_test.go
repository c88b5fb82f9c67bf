package registry

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"dalil"
	"dalil/geo"
	"dalil/store/memstore"
)

func testLayout(t testing.TB) *geo.Layout {
	t.Helper()
	return geo.Default()
}

func smallRegistryRows() ([]Pilgrim, []Group) {
	ps := []Pilgrim{
		{PID: "A1", NameEN: "Md. Abdul Karim", Gender: "M", Group: "G1", GuidePID: "A1", MahramPID: "A2", Agency: "Ag",
			Devices: []string{"ph-a1", "wb-a1"}, DeviceKinds: []dalil.DeviceKind{dalil.DevicePhone, dalil.DeviceWristband}},
		{PID: "A2", NameEN: "Mst. Fatema Begum", Gender: "F", Group: "G1", GuidePID: "A1", MahramPID: "A1", Agency: "Ag",
			Devices: []string{"wb-a2"}, DeviceKinds: []dalil.DeviceKind{dalil.DeviceWristband}},
		{PID: "A3", NameEN: "Ali Akbar", Gender: "M", Group: "G2", Agency: "Ag", Devices: []string{"ph-a3"}},
	}
	return ps, []Group{{ID: "G1", Agency: "Ag", GuidePID: "A1", Name: "Ag group 1"}}
}

func TestImportAndLoadRegistry(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	reg := NewRegistry()
	ps, gs := smallRegistryRows()
	if err := reg.Import(ctx, st, ps, gs); err != nil {
		t.Fatal(err)
	}
	if reg.Len() != 3 {
		t.Fatalf("Len = %d", reg.Len())
	}
	if d, ok := reg.Device("wb-a1"); !ok || d.Kind != dalil.DeviceWristband || d.Pilgrim != "A1" {
		t.Fatalf("device wb-a1 = %+v %v", d, ok)
	}
	if d, _ := reg.Device("ph-a3"); d.Kind != dalil.DevicePhone {
		t.Fatalf("a device without a kind is a phone: %+v", d)
	}
	if g, ok := reg.Group("G2"); !ok || g.Agency != "Ag" {
		t.Fatalf("group G2 derived from its member = %+v %v", g, ok)
	}
	var members []string
	for _, p := range reg.Members("G1") {
		members = append(members, p.PID)
	}
	if !slices.Equal(members, []string{"A1", "A2"}) {
		t.Fatalf("members of G1 = %v", members)
	}

	loaded, err := LoadRegistry(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded.Groups(), reg.Groups()) {
		t.Fatalf("groups after load %+v, want %+v", loaded.Groups(), reg.Groups())
	}
	for _, pid := range []string{"A1", "A2", "A3"} {
		a, _ := reg.Pilgrim(pid)
		b, ok := loaded.Pilgrim(pid)
		if !ok || !reflect.DeepEqual(a, b) {
			t.Fatalf("pilgrim %s after load %+v, want %+v", pid, b, a)
		}
		if !reflect.DeepEqual(reg.Devices(pid), loaded.Devices(pid)) {
			t.Fatalf("devices of %s after load %+v, want %+v", pid, loaded.Devices(pid), reg.Devices(pid))
		}
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	reg := NewRegistry()
	ps, gs := smallRegistryRows()
	if err := reg.Import(ctx, st, ps, gs); err != nil {
		t.Fatal(err)
	}
	version := reg.Version()

	bad := []struct {
		name   string
		mutate func([]Pilgrim) []Pilgrim
		column string
		index  int
	}{
		{"unknown mahram", func(p []Pilgrim) []Pilgrim { p[1].MahramPID = "ZZ"; return p }, "mahram_pid", 1},
		{"unknown guide", func(p []Pilgrim) []Pilgrim { p[2].GuidePID = "ZZ"; return p }, "guide_pid", 2},
		{"duplicate PID", func(p []Pilgrim) []Pilgrim { p[2].PID = "A1"; return p }, "pid", 2},
		{"empty PID", func(p []Pilgrim) []Pilgrim { p[0].PID = ""; return p }, "pid", 0},
		{"device twice", func(p []Pilgrim) []Pilgrim { p[2].Devices = []string{"wb-a2"}; return p }, "devices", 2},
		{"bad birth year", func(p []Pilgrim) []Pilgrim { p[2].BirthYear = 1066; return p }, "birth_year", 2},
		{"bad kind", func(p []Pilgrim) []Pilgrim { p[2].DeviceKinds = []dalil.DeviceKind{"watch"}; return p }, "devices", 2},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			ps, gs := smallRegistryRows()
			ps = append(ps, Pilgrim{PID: "NEW", NameEN: "New Pilgrim", Devices: []string{"ph-new"}})
			for i := range ps {
				ps[i].NameEN += " (changed)"
			}
			err := reg.Import(ctx, st, c.mutate(ps), gs)
			var re *RowError
			if !errors.As(err, &re) || re.Column != c.column || re.Index != c.index {
				t.Fatalf("err = %v, want a RowError for #%d column %s", err, c.index+1, c.column)
			}
			if _, ok := reg.Pilgrim("NEW"); ok || reg.Version() != version {
				t.Fatal("a failed import changed the registry")
			}
			if p, _ := reg.Pilgrim("A1"); strings.Contains(p.NameEN, "changed") {
				t.Fatal("a failed import changed a pilgrim")
			}
			if _, err := st.GetRecord(ctx, KindPilgrim, "NEW"); !errors.Is(err, dalil.ErrNotFound) {
				t.Fatal("a failed import wrote to the store")
			}
			if _, err := st.GetRecord(ctx, KindDevice, "ph-new"); !errors.Is(err, dalil.ErrNotFound) {
				t.Fatal("a failed import wrote a device")
			}
		})
	}

	// A store failure at the commit point leaves memory and the loaded
	// registry as they were.
	ps2, _ := smallRegistryRows()
	ps2[0].NameEN = "Renamed"
	ps2[0].Devices, ps2[0].DeviceKinds = []string{"ph-a1"}, nil
	st.FailPutKind = map[string]bool{KindPilgrim: true}
	if err := reg.Import(ctx, st, ps2, nil); !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("import with a failing store = %v", err)
	}
	st.FailPutKind = nil
	if p, _ := reg.Pilgrim("A1"); p.NameEN == "Renamed" {
		t.Fatal("memory changed although the store write failed")
	}
	loaded, err := LoadRegistry(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := loaded.Pilgrim("A1"); p.NameEN == "Renamed" || len(loaded.Devices("A1")) != 2 {
		t.Fatalf("store changed although the commit failed: %+v %+v", p, loaded.Devices("A1"))
	}
}

func TestReimportUpdatesInPlace(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	reg := NewRegistry()
	ps, gs := smallRegistryRows()
	if err := reg.Import(ctx, st, ps, gs); err != nil {
		t.Fatal(err)
	}
	// A3 changes name, moves to G1 and swaps his phone for a wristband.
	upd := []Pilgrim{{PID: "A3", NameEN: "Ali Akbar Khan", Gender: "M", Group: "G1", GuidePID: "A1", Agency: "Ag",
		Devices: []string{"wristband-a3"}, DeviceKinds: []dalil.DeviceKind{dalil.DeviceWristband}}}
	if err := reg.Import(ctx, st, upd, nil); err != nil {
		t.Fatal(err)
	}
	check := func(r *Registry) {
		t.Helper()
		if r.Len() != 3 {
			t.Fatalf("Len = %d, want 3", r.Len())
		}
		if p, _ := r.Pilgrim("A3"); p.NameEN != "Ali Akbar Khan" || p.Group != "G1" {
			t.Fatalf("A3 = %+v", p)
		}
		if _, ok := r.Device("ph-a3"); ok {
			t.Fatal("the dropped phone is still registered")
		}
		if d, ok := r.Device("wristband-a3"); !ok || d.Pilgrim != "A3" {
			t.Fatalf("new wristband = %+v %v", d, ok)
		}
		var members []string
		for _, p := range r.Members("G1") {
			members = append(members, p.PID)
		}
		if !slices.Equal(members, []string{"A1", "A2", "A3"}) || len(r.Members("G2")) != 0 {
			t.Fatalf("members G1 %v, G2 %v", members, r.Members("G2"))
		}
		if p, _ := r.Pilgrim("A1"); p.NameEN != "Md. Abdul Karim" {
			t.Fatalf("A1 was not in the re-import and changed: %+v", p)
		}
	}
	check(reg)
	loaded, err := LoadRegistry(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	check(loaded)

	// A device still bound to a pilgrim outside the import cannot be claimed.
	steal := []Pilgrim{{PID: "A3", NameEN: "Ali Akbar Khan", Devices: []string{"wb-a2"}}}
	var re *RowError
	if err := reg.Import(ctx, st, steal, nil); !errors.As(err, &re) || !strings.Contains(re.Reason, `belongs to pilgrim "A2"`) {
		t.Fatalf("claiming another pilgrim's device: %v", err)
	}
}

func TestPutDevice(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	reg := NewRegistry()
	ps, gs := smallRegistryRows()
	if err := reg.Import(ctx, st, ps, gs); err != nil {
		t.Fatal(err)
	}
	if err := reg.PutDevice(ctx, st, dalil.Device{ID: "TAG9", Kind: dalil.DeviceLuggageTag, Luggage: "BAG9"}); err != nil {
		t.Fatal(err)
	}
	// A replacement wristband moves from A2 to A3.
	if err := reg.PutDevice(ctx, st, dalil.Device{ID: "wb-a2", Kind: dalil.DeviceWristband, Pilgrim: "A3"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Registry{reg, mustLoad(t, st)} {
		if d, ok := r.Device("TAG9"); !ok || d.Luggage != "BAG9" {
			t.Fatalf("TAG9 = %+v %v", d, ok)
		}
		if p, _ := r.Pilgrim("A2"); len(p.Devices) != 0 {
			t.Fatalf("A2 still lists %v", p.Devices)
		}
		if p, _ := r.Pilgrim("A3"); !slices.Equal(p.Devices, []string{"ph-a3", "wb-a2"}) || p.DeviceKinds[1] != dalil.DeviceWristband {
			t.Fatalf("A3 = %+v", p)
		}
	}
	if err := reg.PutDevice(ctx, st, dalil.Device{ID: "x", Kind: dalil.DevicePhone, Pilgrim: "nobody"}); !errors.Is(err, dalil.ErrNotFound) {
		t.Fatalf("binding to an unknown pilgrim: %v", err)
	}
	if err := reg.PutDevice(ctx, st, dalil.Device{ID: "x", Kind: dalil.DevicePhone}); err == nil {
		t.Fatal("an unbound device was accepted")
	}
}

func mustLoad(t *testing.T, rs dalil.RecordStore) *Registry {
	t.Helper()
	r, err := LoadRegistry(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGenerateRegistry(t *testing.T) {
	l := testLayout(t)
	const n = 3000
	ps, gs := GenerateRegistry(l, n, 42)
	if len(ps) != n {
		t.Fatalf("%d pilgrims, want %d", len(ps), n)
	}
	// It is a valid registry.
	if err := NewRegistry().Import(context.Background(), nil, ps, gs); err != nil {
		t.Fatal(err)
	}
	again, _ := GenerateRegistry(l, n, 42)
	if !reflect.DeepEqual(ps, again) {
		t.Fatal("same seed, different registry")
	}
	other, _ := GenerateRegistry(l, n, 43)
	if reflect.DeepEqual(ps, other) {
		t.Fatal("different seeds, same registry")
	}

	phoneRE := regexp.MustCompile(`^\+8801[3-9]\d{8}$`)
	byPID := make(map[string]*Pilgrim)
	for i := range ps {
		byPID[ps[i].PID] = &ps[i]
	}
	tentUse := make(map[string]int)
	agencies := make(map[string]int)
	groupSize := make(map[string]int)
	variants := make(map[string]bool)
	women, mahramPairs := 0, 0
	for i := range ps {
		p := &ps[i]
		if len(p.Devices) == 0 {
			t.Fatalf("%s has no device", p.PID)
		}
		if p.Phone != "" && !phoneRE.MatchString(p.Phone) {
			t.Fatalf("%s phone %q", p.PID, p.Phone)
		}
		if !strings.ContainsFunc(p.NameBN, func(r rune) bool { return unicode.In(r, unicode.Bengali) }) {
			t.Fatalf("%s Bangla name %q has no Bangla script", p.PID, p.NameBN)
		}
		for _, v := range []string{"Md.", "Mohammad", "Muhammad"} {
			if strings.HasPrefix(p.NameEN, v+" ") {
				variants[v] = true
			}
		}
		if p.Tent == "" || p.Camp == "" {
			t.Fatalf("%s has no tent although Mina has room", p.PID)
		}
		tent, ok := l.Tent(p.Tent)
		if !ok || tent.Camp != p.Camp {
			t.Fatalf("%s tent %q camp %q", p.PID, p.Tent, p.Camp)
		}
		tentUse[p.Tent]++
		agencies[p.Agency]++
		groupSize[p.Group]++
		if g := byPID[p.GuidePID]; g == nil || g.Group != p.Group {
			t.Fatalf("%s guide %q is not in their group", p.PID, p.GuidePID)
		}
		if p.Gender == "F" {
			women++
		}
		if p.MahramPID != "" {
			m := byPID[p.MahramPID]
			if m == nil || m.MahramPID != p.PID {
				t.Fatalf("%s mahram %q is not mutual", p.PID, p.MahramPID)
			}
			if p.Gender == "F" && m.Gender != "M" {
				t.Fatalf("%s has a female mahram", p.PID)
			}
			mahramPairs++
		}
	}
	if len(variants) != 3 {
		t.Fatalf("transliterations of Muhammad seen: %v", variants)
	}
	full := 0
	for id, used := range tentUse {
		tent, _ := l.Tent(id)
		if used > tent.Capacity {
			t.Fatalf("tent %s holds %d, capacity %d", id, used, tent.Capacity)
		}
		if used == tent.Capacity {
			full++
		}
	}
	if full < len(tentUse)-2 { // only the last men's and women's tents may have room
		t.Fatalf("%d of %d tents full", full, len(tentUse))
	}
	for a, size := range agencies {
		if size < 100 || size > 310 {
			if size < 100 && len(agencies) > 1 && size == minValue(agencies) {
				continue // the last agency takes what is left
			}
			t.Fatalf("agency %q has %d pilgrims", a, size)
		}
	}
	small := 0
	for g, size := range groupSize {
		if size > 70 {
			t.Fatalf("guide group %s has %d pilgrims", g, size)
		}
		if size < 30 {
			small++ // only the last agency's group may be small
		}
	}
	if small > 1 {
		t.Fatalf("%d guide groups under 30 pilgrims", small)
	}
	if len(gs) != len(groupSize) {
		t.Fatalf("%d groups listed, %d used", len(gs), len(groupSize))
	}
	if women < n/4 || mahramPairs < n/4 {
		t.Fatalf("%d women, %d with a mahram", women, mahramPairs)
	}
}

func minValue(m map[string]int) int {
	v := -1
	for _, x := range m {
		if v < 0 || x < v {
			v = x
		}
	}
	return v
}
