package geo

// lookup holds the id → element tables of a Layout.
type lookup struct {
	camps   map[string]int
	tents   map[string]int
	areas   map[string]int
	tentsOf map[string][]*Tent
}

// buildLookup fills l.lookup. Constructors call it once, before the Layout is
// shared; nothing changes it afterwards.
func (l *Layout) buildLookup() {
	lk := &lookup{
		camps:   make(map[string]int, len(l.Camps)),
		tents:   make(map[string]int, len(l.Tents)),
		areas:   make(map[string]int, len(l.Areas)),
		tentsOf: make(map[string][]*Tent, len(l.Camps)),
	}
	for i := range l.Camps {
		lk.camps[l.Camps[i].ID] = i
	}
	for i := range l.Areas {
		lk.areas[l.Areas[i].ID] = i
	}
	for i := range l.Tents {
		t := &l.Tents[i]
		lk.tents[t.ID] = i
		lk.tentsOf[t.Camp] = append(lk.tentsOf[t.Camp], t)
	}
	for k, ts := range lk.tentsOf {
		lk.tentsOf[k] = ts[:len(ts):len(ts)] // an append by a caller copies
	}
	l.lookup = lk
}

// Camp returns the camp with the given ID ("mina-094").
func (l *Layout) Camp(id string) (*Camp, bool) {
	if l.lookup != nil {
		i, ok := l.lookup.camps[id]
		if !ok {
			return nil, false
		}
		return &l.Camps[i], true
	}
	for i := range l.Camps {
		if l.Camps[i].ID == id {
			return &l.Camps[i], true
		}
	}
	return nil, false
}

// Tent returns the tent with the given ID ("mina-094/3").
func (l *Layout) Tent(id string) (*Tent, bool) {
	if l.lookup != nil {
		i, ok := l.lookup.tents[id]
		if !ok {
			return nil, false
		}
		return &l.Tents[i], true
	}
	for i := range l.Tents {
		if l.Tents[i].ID == id {
			return &l.Tents[i], true
		}
	}
	return nil, false
}

// TentsOf returns the tents of a camp in layout order (nil for an unknown
// camp). The slice is shared: do not modify it.
func (l *Layout) TentsOf(campID string) []*Tent {
	if l.lookup != nil {
		return l.lookup.tentsOf[campID]
	}
	var ts []*Tent
	for i := range l.Tents {
		if l.Tents[i].Camp == campID {
			ts = append(ts, &l.Tents[i])
		}
	}
	return ts
}

// Area returns the area with the given ID: "mina", "arafat", "muzdalifah"
// (site outlines), "jamarat" (the bridge), and landmarks such as "khayf".
func (l *Layout) Area(id string) (*Area, bool) {
	if l.lookup != nil {
		i, ok := l.lookup.areas[id]
		if !ok {
			return nil, false
		}
		return &l.Areas[i], true
	}
	for i := range l.Areas {
		if l.Areas[i].ID == id {
			return &l.Areas[i], true
		}
	}
	return nil, false
}

// NewLayout validates areas, camps and tents and returns them as a Layout
// ready for lookups. The slices are owned by the Layout afterwards.
func NewLayout(areas []Area, camps []Camp, tents []Tent) (*Layout, error) {
	l := &Layout{Areas: areas, Camps: camps, Tents: tents}
	if err := Validate(l); err != nil {
		return nil, err
	}
	l.buildLookup()
	return l, nil
}

// tentIndex is the position of tent id in l.Tents.
func (l *Layout) tentIndex(id string) (int, bool) {
	if l.lookup != nil {
		i, ok := l.lookup.tents[id]
		return i, ok
	}
	for i := range l.Tents {
		if l.Tents[i].ID == id {
			return i, true
		}
	}
	return 0, false
}
