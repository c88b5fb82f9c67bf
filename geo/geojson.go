package geo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// The GeoJSON form of a layout (RFC 7946) is one FeatureCollection. Every
// feature says what it is in the property "kind":
//
//	kind=area  Polygon  id, site (mina|arafat|muzdalifah), name
//	kind=camp  Polygon  id, site (mina|arafat), number, zone, category (A–D), capacity
//	kind=tent  Polygon  id, camp (camp id), number, capacity
//	kind=gate  Point    camp (camp id); a gate on that camp's fence
//
// A camp may instead carry its gates as a property "gates": [[lon, lat], …].
// See docs/layout.md.

// maxLayoutBytes bounds what ReadGeoJSON accepts (the default layout is ~4 MB).
const maxLayoutBytes = 256 << 20

// LoadFile reads and validates a GeoJSON layout file.
func LoadFile(path string) (*Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	l, err := ReadGeoJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// rawCollection splits a collection into its features, so that a feature
// that is not valid GeoJSON can be named by its index.
type rawCollection struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
}

// ReadGeoJSON reads a layout FeatureCollection and validates it completely.
// On any fault it returns a *ValidationError listing every fault with its
// feature index, and no layout: nothing is half-loaded.
//
// orb/geojson decodes the GeoJSON; this function reads Dalil's properties
// and geometry rules out of orb's features.
func ReadGeoJSON(r io.Reader) (*Layout, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxLayoutBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read layout: %w", err)
	}
	if len(data) > maxLayoutBytes {
		return nil, fmt.Errorf("layout larger than %d MB", maxLayoutBytes>>20)
	}
	views, err := decodeFeatures(data)
	if err != nil {
		return nil, err
	}

	l := &Layout{}
	var fn featureNumbers
	fs := &faults{}
	type gateRef struct {
		feature int
		camp    string
		p       Point
	}
	var gates []gateRef
	for i, f := range views {
		if f.err != "" {
			fs.add(i, "", "%s", f.err)
			continue
		}
		p := props{src: f.props, feature: i, fs: fs}
		kind := p.str("kind", true)
		id := p.str("id", kind != "gate")
		p.id = id
		switch kind {
		case "area":
			a := Area{ID: id, Site: Site(p.str("site", true)), Name: p.str("name", false)}
			a.Polygon = polygon(f.geometry, i, id, fs)
			l.Areas = append(l.Areas, a)
			fn.areas = append(fn.areas, i)
		case "camp":
			c := Camp{ID: id, Site: Site(p.str("site", true)), Number: p.integer("number", true),
				Zone: p.integer("zone", false), Category: p.str("category", false), Capacity: p.integer("capacity", false)}
			c.Polygon = polygon(f.geometry, i, id, fs)
			c.Gates = p.positions("gates")
			l.Camps = append(l.Camps, c)
			fn.camps = append(fn.camps, i)
		case "tent":
			t := Tent{ID: id, Camp: p.str("camp", true), Number: p.integer("number", false), Capacity: p.integer("capacity", false)}
			t.Polygon = polygon(f.geometry, i, id, fs)
			l.Tents = append(l.Tents, t)
			fn.tents = append(fn.tents, i)
		case "gate":
			camp := p.str("camp", true)
			if pt, ok := point(f.geometry, i, id, fs); ok && camp != "" {
				gates = append(gates, gateRef{i, camp, pt})
			}
		case "":
			// reported by p.str
		default:
			fs.add(i, id, "unknown kind %q: want area, camp, tent or gate", kind)
		}
	}
	campAt := make(map[string]int, len(l.Camps))
	for i, c := range l.Camps {
		campAt[c.ID] = i
	}
	for _, g := range gates {
		ci, ok := campAt[g.camp]
		if !ok {
			fs.add(g.feature, "", "gate of unknown camp %q", g.camp)
			continue
		}
		l.Camps[ci].Gates = append(l.Camps[ci].Gates, g.p)
	}
	if len(fs.list) == 0 {
		validate(l, fn, fs)
	}
	if err := fs.err(); err != nil {
		return nil, err
	}
	l.buildLookup()
	return l, nil
}

// featureView is one feature as orb decoded it, or why it could not be.
type featureView struct {
	geometry orb.Geometry
	props    geojson.Properties
	err      string // the feature is not valid GeoJSON
}

// decodeFeatures decodes the collection with orb in one pass. When that
// fails it decodes feature by feature, so that the faulty ones are named by
// index and the others still get checked.
func decodeFeatures(data []byte) ([]featureView, error) {
	if fc, err := geojson.UnmarshalFeatureCollection(data); err == nil {
		views := make([]featureView, len(fc.Features))
		for i, f := range fc.Features {
			views[i] = featureView{geometry: f.Geometry, props: f.Properties}
		}
		return views, nil
	}
	var fc rawCollection
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, fmt.Errorf("layout is not a GeoJSON FeatureCollection: %s", jsonErr(err, data))
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("layout: top-level type is %q, want \"FeatureCollection\"", fc.Type)
	}
	views := make([]featureView, len(fc.Features))
	for i, raw := range fc.Features {
		f, err := geojson.UnmarshalFeature(raw)
		if err != nil {
			views[i].err = "not a valid GeoJSON Feature: " + typeHint(err)
			continue
		}
		views[i] = featureView{geometry: f.Geometry, props: f.Properties}
	}
	return views, nil
}

// jsonErr makes encoding/json's errors say where: line and column.
func jsonErr(err error, data []byte) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Sprintf("%v (line %d, column %d)", err, line, col)
}

// props reads a feature's properties and reports bad ones as faults.
type props struct {
	src     geojson.Properties
	feature int
	id      string
	fs      *faults
}

// lookup gives the property key, ok=false when it is absent or null; a
// present property of the wrong JSON type is a fault. want says what type
// the key must have: "string", "number" or "positions".
func (p props) lookup(key, want string, required bool) (any, bool) {
	v, ok := p.src[key]
	if !ok || v == nil {
		if required {
			p.fs.add(p.feature, p.id, "missing property %q", key)
		}
		return nil, false
	}
	switch want {
	case "string":
		if s, ok := v.(string); ok {
			return s, true
		}
		p.fs.add(p.feature, p.id, "property %q: want a string, got %s", key, clipValue(v))
	case "number":
		if f, ok := v.(float64); ok {
			return f, true
		}
		p.fs.add(p.feature, p.id, "property %q: want a number, got %s", key, clipValue(v))
	case "positions":
		if cs, ok := positionList(v); ok {
			return cs, true
		}
		p.fs.add(p.feature, p.id, "property %q: want [[lon, lat], …] of numbers, got %s", key, clipValue(v))
	}
	return nil, false
}

func (p props) str(key string, required bool) string {
	v, ok := p.lookup(key, "string", required)
	if !ok {
		return ""
	}
	return v.(string)
}

func (p props) integer(key string, required bool) int {
	v, ok := p.lookup(key, "number", required)
	if !ok {
		return 0
	}
	f := v.(float64)
	if f != math.Trunc(f) || math.Abs(f) > 1e9 {
		p.fs.add(p.feature, p.id, "property %q: want a whole number, got %v", key, f)
		return 0
	}
	return int(f)
}

func (p props) positions(key string) []Point {
	v, ok := p.lookup(key, "positions", false)
	if !ok {
		return nil
	}
	cs := v.([][]float64)
	out := make([]Point, 0, len(cs))
	for j, c := range cs {
		if len(c) < 2 {
			p.fs.add(p.feature, p.id, "property %q: position %d has %d numbers, want [lon, lat]", key, j, len(c))
			return nil
		}
		out = append(out, Point{Lat: c[1], Lon: c[0]})
	}
	return out
}

// positionList reads a decoded JSON value as a list of positions.
func positionList(v any) ([][]float64, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([][]float64, len(list))
	for i, e := range list {
		nums, ok := e.([]any)
		if !ok {
			return nil, false
		}
		out[i] = make([]float64, len(nums))
		for j, n := range nums {
			f, ok := n.(float64)
			if !ok {
				return nil, false
			}
			out[i][j] = f
		}
	}
	return out, true
}

func clipValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(b)
}

func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func polygon(g orb.Geometry, feature int, id string, fs *faults) Ring {
	if g == nil {
		fs.add(feature, id, "missing geometry: want a Polygon")
		return nil
	}
	pg, ok := g.(orb.Polygon)
	if !ok {
		fs.add(feature, id, "geometry type %q: want Polygon", g.GeoJSONType())
		return nil
	}
	if len(pg) == 0 {
		fs.add(feature, id, "polygon has no ring")
		return nil
	}
	if len(pg) > 1 {
		fs.add(feature, id, "polygon has %d rings: holes are not supported", len(pg))
		return nil
	}
	return ringFromOrb(pg[0])
}

func point(g orb.Geometry, feature int, id string, fs *faults) (Point, bool) {
	pt, ok := g.(orb.Point)
	if !ok {
		fs.add(feature, id, "a gate needs a Point geometry")
		return Point{}, false
	}
	return pointFromOrb(pt), true
}

func typeHint(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "found a " + te.Value
	}
	return err.Error()
}

// WriteGeoJSON writes the layout as one RFC 7946 FeatureCollection, one
// feature per line: areas, camps, tents, then the gates as Point features
// (easy to drag in QGIS). ReadGeoJSON reads it back to an equal Layout.
// Each feature is an orb/geojson Feature; the one-per-line framing is ours,
// so that a diff of two layouts shows the features that changed.
func (l *Layout) WriteGeoJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(`{"type":"FeatureCollection","features":[`); err != nil {
		return err
	}
	first := true
	put := func(g orb.Geometry, p geojson.Properties) error {
		f := geojson.NewFeature(g)
		f.Properties = p
		b, err := f.MarshalJSON()
		if err != nil {
			return err
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		bw.WriteByte('\n')
		_, err = bw.Write(b)
		return err
	}
	for _, a := range l.Areas {
		p := geojson.Properties{"kind": "area", "id": a.ID, "site": string(a.Site), "name": a.Name}
		if err := put(a.Polygon.orbPolygon(), p); err != nil {
			return err
		}
	}
	for _, c := range l.Camps {
		p := geojson.Properties{"kind": "camp", "id": c.ID, "site": string(c.Site), "number": c.Number,
			"zone": c.Zone, "category": c.Category, "capacity": c.Capacity}
		if err := put(c.Polygon.orbPolygon(), p); err != nil {
			return err
		}
	}
	for _, t := range l.Tents {
		p := geojson.Properties{"kind": "tent", "id": t.ID, "camp": t.Camp, "number": t.Number, "capacity": t.Capacity}
		if err := put(t.Polygon.orbPolygon(), p); err != nil {
			return err
		}
	}
	for _, c := range l.Camps {
		for _, g := range c.Gates {
			if err := put(g.orb(), geojson.Properties{"kind": "gate", "camp": c.ID}); err != nil {
				return err
			}
		}
	}
	if _, err := bw.WriteString("\n]}\n"); err != nil {
		return err
	}
	return bw.Flush()
}
