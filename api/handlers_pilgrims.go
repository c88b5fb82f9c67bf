package api

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
)

// pilgrimFor loads {pid} and checks the principal may see it: 404 for an
// unknown PID (staff) — but 403 for a guide or pilgrim asking about someone
// else, so that they cannot probe which PIDs exist.
func (s *Server) pilgrimFor(w http.ResponseWriter, r *http.Request, p Principal) (registry.Pilgrim, bool) {
	pid := r.PathValue("pid")
	if !s.canSeePilgrim(p, pid) {
		writeError(w, http.StatusForbidden, "role "+string(p.Role)+" may not see pilgrim "+pid, "pid")
		return registry.Pilgrim{}, false
	}
	pg, ok := s.registry.Pilgrim(pid)
	if !ok {
		writeError(w, http.StatusNotFound, "no pilgrim "+pid, "pid")
		return registry.Pilgrim{}, false
	}
	return pg, true
}

// auditOrFail writes the audit entry, answering 503 when it cannot: personal
// data is not disclosed unaudited.
func (s *Server) auditOrFail(w http.ResponseWriter, r *http.Request, p Principal, action, target string) bool {
	if err := s.audit(r.Context(), p, action, target); err != nil {
		s.storeError(w, "audit log", err)
		return false
	}
	return true
}

func (s *Server) deviceView(d dalil.Device, now time.Time) *DeviceView {
	v := &DeviceView{Device: d}
	if st, ok := s.engine.Device(d.ID); ok {
		t := st.Position.Time.UTC()
		v.LastSeen = &t
		v.Position = s.positionView(&st, now)
	}
	return v
}

// pilgrimView is pg as principal p sees it. The guide and the mahram are
// people to call: p gets their live position only when p may see them on
// their own (canSeePilgrim), so a pilgrim never learns where their guide or
// mahram is, and a guide never learns where a mahram in another group is —
// the same rule the websocket applies to pilgrim:<PID>.
func (s *Server) pilgrimView(p Principal, pg registry.Pilgrim, now time.Time) PilgrimView {
	v := PilgrimView{Pilgrim: pg, Devices: []DeviceView{}}
	v.Assigned.Camp, v.Assigned.Tent = pg.Camp, pg.Tent
	if c, ok := s.layout.Camp(pg.Camp); ok {
		v.Assigned.CampNumber = c.Number
	}
	if st, ok := s.engine.Pilgrim(pg.PID); ok {
		v.Position = s.positionView(&st, now)
		if pg.Camp != "" {
			in := st.Location.Camp == pg.Camp
			v.Assigned.InCamp = &in
		}
		if pg.Tent != "" {
			in := st.Location.Tent == pg.Tent
			v.Assigned.InTent = &in
			if t, ok := s.layout.Tent(pg.Tent); ok {
				d := geo.DistanceM(geo.Point{Lat: st.Position.Lat, Lon: st.Position.Lon}, t.Polygon.Centroid())
				v.Assigned.DistanceM = &d
			}
		}
	}
	if g, ok := s.registry.Group(pg.Group); ok {
		v.Group = &g
	}
	guide := pg.GuidePID
	if guide == "" && v.Group != nil {
		guide = v.Group.GuidePID
	}
	if guide != "" && guide != pg.PID {
		if gp, ok := s.registry.Pilgrim(guide); ok {
			pv := s.relatedPerson(p, gp, now)
			v.Guide = &pv
		}
	}
	if pg.MahramPID != "" && pg.MahramPID != pg.PID {
		if mp, ok := s.registry.Pilgrim(pg.MahramPID); ok {
			pv := s.relatedPerson(p, mp, now)
			v.Mahram = &pv
		}
	}
	for _, id := range pg.Devices {
		d, ok := s.registry.Device(id)
		if !ok {
			d = dalil.Device{ID: id, Pilgrim: pg.PID}
		}
		v.Devices = append(v.Devices, *s.deviceView(d, now))
	}
	return v
}

// relatedPerson is someone linked to a pilgrim (guide, mahram) as p sees
// them: the full person with live position when p may see them, otherwise
// only how to reach them (PID, names, phone).
func (s *Server) relatedPerson(p Principal, pg registry.Pilgrim, now time.Time) PersonView {
	if s.canSeePilgrim(p, pg.PID) {
		return s.personWithLive(pg, now)
	}
	return PersonView{PID: pg.PID, Name: pg.NameEN, NameBN: pg.NameBN, Phone: pg.Phone}
}

func (s *Server) personWithLive(pg registry.Pilgrim, now time.Time) PersonView {
	if st, ok := s.engine.Pilgrim(pg.PID); ok {
		return s.personView(pg, &st, now)
	}
	return s.personView(pg, nil, now)
}

// GET /v1/pilgrims/{pid}
func (s *Server) handlePilgrim(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, people()...)
	if !ok {
		return
	}
	pg, ok := s.pilgrimFor(w, r, p)
	if !ok || !s.auditOrFail(w, r, p, "pilgrim.read", pg.PID) {
		return
	}
	writeJSON(w, http.StatusOK, s.pilgrimView(p, pg, time.Now()))
}

// trailFeature is one device's trail: a GeoJSON LineString (a Point when it
// has one fix) with the fixes' times and accuracies as properties.
type trailFeature struct {
	Type       string         `json:"type"`
	Geometry   map[string]any `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

// GET /v1/pilgrims/{pid}/trail?since=&until= (default: the last 24 hours)
func (s *Server) handleTrail(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, people()...)
	if !ok {
		return
	}
	pg, ok := s.pilgrimFor(w, r, p)
	if !ok {
		return
	}
	now := time.Now()
	until, err := timeParam(r, "until", now)
	if err != nil {
		badParam(w, err)
		return
	}
	since, err := timeParam(r, "since", until.Add(-24*time.Hour))
	if err != nil {
		badParam(w, err)
		return
	}
	if !since.Before(until) {
		writeError(w, http.StatusBadRequest, "since must be before until", "since")
		return
	}
	if until.Sub(since) > 31*24*time.Hour {
		writeError(w, http.StatusBadRequest, "at most 31 days per request", "since")
		return
	}
	if !s.auditOrFail(w, r, p, "trail.read", pg.PID) {
		return
	}
	ps, err := s.engine.Trail(r.Context(), pg.PID, since, until)
	if err != nil {
		s.storeError(w, "trail", err)
		return
	}
	// One feature per device, in time order.
	byDev := map[string][]dalil.Position{}
	var order []string
	for _, x := range ps {
		if _, ok := byDev[x.Device]; !ok {
			order = append(order, x.Device)
		}
		byDev[x.Device] = append(byDev[x.Device], x)
	}
	feats := make([]trailFeature, 0, len(order))
	for _, dev := range order {
		xs := byDev[dev]
		slices.SortStableFunc(xs, func(a, b dalil.Position) int { return a.Time.Compare(b.Time) })
		coords := make([][2]float64, len(xs))
		times := make([]string, len(xs))
		accs := make([]float32, len(xs))
		for i, x := range xs {
			coords[i] = [2]float64{x.Lon, x.Lat}
			times[i] = x.Time.UTC().Format(time.RFC3339)
			accs[i] = x.Accuracy
		}
		geom := map[string]any{"type": "LineString", "coordinates": coords}
		if len(coords) == 1 {
			geom = map[string]any{"type": "Point", "coordinates": coords[0]}
		}
		feats = append(feats, trailFeature{
			Type: "Feature", Geometry: geom,
			Properties: map[string]any{"pilgrim": pg.PID, "device": dev, "times": times, "acc": accs, "count": len(xs)},
		})
	}
	w.Header().Set("Content-Type", "application/geo+json")
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "FeatureCollection", "features": feats,
		"properties": map[string]any{"pilgrim": pg.PID, "since": since.UTC(), "until": until.UTC(), "count": len(ps)},
	})
}

// GET /v1/pilgrims/{pid}/route[?lat=&lon=]: the walk from the pilgrim's live
// position (or the given point, e.g. the phone's own fix) to their tent.
func (s *Server) handleRoute(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, people()...)
	if !ok {
		return
	}
	pg, ok := s.pilgrimFor(w, r, p)
	if !ok {
		return
	}
	if pg.Tent == "" {
		writeError(w, http.StatusNotFound, "pilgrim "+pg.PID+" has no assigned tent", "pid")
		return
	}
	var from geo.Point
	if r.URL.Query().Has("lat") || r.URL.Query().Has("lon") {
		lat, lon, err := latLonParams(r)
		if err != nil {
			badParam(w, err)
			return
		}
		from = geo.Point{Lat: lat, Lon: lon}
	} else {
		st, ok := s.engine.Pilgrim(pg.PID)
		if !ok {
			writeError(w, http.StatusNotFound, "no position known for pilgrim "+pg.PID+"; pass lat and lon", "pid")
			return
		}
		from = geo.Point{Lat: st.Position.Lat, Lon: st.Position.Lon}
	}
	if !s.auditOrFail(w, r, p, "route.read", pg.PID) {
		return
	}
	rt, err := s.index.Route(from, pg.Tent)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "no walking route: "+err.Error(), "")
		return
	}
	b, err := rt.GeoJSON()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot encode the route", "")
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// GET /v1/nearby?lat=&lon=&radius=&limit=: tracked people near a point,
// nearest first. A guide sees only their group.
func (s *Server) handleNearby(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide)
	if !ok {
		return
	}
	lat, lon, err := latLonParams(r)
	if err != nil {
		badParam(w, err)
		return
	}
	radius, err := floatParam(r, "radius", false, 100, 1, 5000)
	if err != nil {
		badParam(w, err)
		return
	}
	limit, err := intParam(r, "limit", 50, 1, 1000)
	if err != nil {
		badParam(w, err)
		return
	}
	target := strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lon, 'f', 6, 64) + " r=" + strconv.FormatFloat(radius, 'f', 0, 64)
	if !s.auditOrFail(w, r, p, "nearby", target) {
		return
	}
	n := limit
	if p.Role == RoleGuide {
		n = 10000 // filter after the search, so the guide still gets up to limit members
	}
	now := time.Now()
	out := []PersonView{}
	for _, nb := range s.engine.Nearby(lat, lon, radius, n) {
		if len(out) >= limit {
			break
		}
		if !s.stateVisible(p, &nb.LiveState) {
			continue
		}
		v := s.stateView(&nb.LiveState, now)
		d := nb.DistanceM
		v.DistanceM = &d
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(out), "results": out})
}

// stateVisible reports whether p may see a live state: staff see all, a
// guide only their group's pilgrims.
func (s *Server) stateVisible(p Principal, st *dalil.LiveState) bool {
	if p.staff() {
		return true
	}
	return st.Pilgrim != "" && s.canSeePilgrim(p, st.Pilgrim)
}

// stateView is a live state with the pilgrim's name; bags have no PID.
func (s *Server) stateView(st *dalil.LiveState, now time.Time) PersonView {
	if pg, ok := s.registry.Pilgrim(st.Pilgrim); ok {
		return s.personView(pg, st, now)
	}
	return PersonView{Position: s.positionView(st, now)}
}

// GET /v1/camps/{id}/pilgrims: who is in a camp now.
func (s *Server) handleCampPilgrims(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, ok := s.layout.Camp(id); !ok {
		writeError(w, http.StatusNotFound, "no camp "+id, "id")
		return
	}
	if !s.auditOrFail(w, r, p, "camp.pilgrims", "camp:"+id) {
		return
	}
	now := time.Now()
	out := []PersonView{}
	for _, st := range s.engine.InCamp(id) {
		if s.stateVisible(p, &st) {
			out = append(out, s.stateView(&st, now))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"camp": id, "count": len(out), "pilgrims": out})
}

// GroupView is GET /v1/groups/{id}.
type GroupView struct {
	Group   registry.Group `json:"group"`
	Guide   *PersonView    `json:"guide,omitempty"`
	Members []PersonView   `json:"members"`
	// Seen counts members with a position; Stale those whose position is old.
	Count int `json:"count"`
	Seen  int `json:"seen"`
	Stale int `json:"stale"`
}

// groupPeople returns the members and the guide (once).
func (s *Server) groupPeople(gid string) []registry.Pilgrim {
	ms := s.registry.Members(gid)
	if g, ok := s.registry.Group(gid); ok && g.GuidePID != "" {
		if !slices.ContainsFunc(ms, func(p registry.Pilgrim) bool { return p.PID == g.GuidePID }) {
			if gp, ok := s.registry.Pilgrim(g.GuidePID); ok {
				ms = append(ms, gp)
			}
		}
	}
	return ms
}

func (s *Server) groupView(g registry.Group, now time.Time) GroupView {
	v := GroupView{Group: g, Members: []PersonView{}}
	var guidePos *geo.Point
	if gp, ok := s.registry.Pilgrim(g.GuidePID); ok {
		pv := s.personWithLive(gp, now)
		pv.Guide = true
		v.Guide = &pv
		if pv.Position != nil {
			guidePos = &geo.Point{Lat: pv.Position.Lat, Lon: pv.Position.Lon}
		}
	}
	for _, m := range s.registry.Members(g.ID) {
		if m.PID == g.GuidePID {
			continue
		}
		pv := s.personWithLive(m, now)
		if pv.Position != nil {
			v.Seen++
			if pv.Position.Stale {
				v.Stale++
			}
			if guidePos != nil {
				d := geo.DistanceM(*guidePos, geo.Point{Lat: pv.Position.Lat, Lon: pv.Position.Lon})
				pv.DistanceM = &d
			}
		}
		v.Members = append(v.Members, pv)
	}
	v.Count = len(v.Members)
	return v
}

// GET /v1/groups/{id}: members with live positions and distance from the guide.
func (s *Server) handleGroup(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authorize(w, r, RoleAdmin, RoleOperator, RoleGuide)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if !s.canSeeGroup(p, id) {
		writeError(w, http.StatusForbidden, "role "+string(p.Role)+" may not see group "+id, "id")
		return
	}
	g, ok := s.registry.Group(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no group "+id, "id")
		return
	}
	if !s.auditOrFail(w, r, p, "group.read", "group:"+id) {
		return
	}
	writeJSON(w, http.StatusOK, s.groupView(g, time.Now()))
}
