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
	"strconv"
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

type rawCollection struct {
	Type     string            `json:"type"`
	Features []json.RawMessage `json:"features"`
}

type rawFeature struct {
	Type       string                     `json:"type"`
	Geometry   *rawGeometry               `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

type rawGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// ReadGeoJSON reads a layout FeatureCollection and validates it completely.
// On any fault it returns a *ValidationError listing every fault with its
// feature index, and no layout: nothing is half-loaded.
func ReadGeoJSON(r io.Reader) (*Layout, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxLayoutBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read layout: %w", err)
	}
	if len(data) > maxLayoutBytes {
		return nil, fmt.Errorf("layout larger than %d MB", maxLayoutBytes>>20)
	}
	// Fast path: one typed decode of the whole collection. Any type error
	// sends us to the slow path, which decodes feature by feature and
	// property by property to say exactly which feature is wrong.
	var typed struct {
		Type     string         `json:"type"`
		Features []typedFeature `json:"features"`
	}
	var views []featureView
	if err := json.Unmarshal(data, &typed); err == nil {
		if typed.Type != "FeatureCollection" {
			return nil, fmt.Errorf("layout: top-level type is %q, want \"FeatureCollection\"", typed.Type)
		}
		views = make([]featureView, len(typed.Features))
		for i := range typed.Features {
			f := &typed.Features[i]
			views[i] = featureView{typ: f.Type, geometry: f.Geometry, props: &f.Properties}
		}
	} else {
		var fc rawCollection
		if err := json.Unmarshal(data, &fc); err != nil {
			return nil, fmt.Errorf("layout is not a GeoJSON FeatureCollection: %s", jsonErr(err, data))
		}
		if fc.Type != "FeatureCollection" {
			return nil, fmt.Errorf("layout: top-level type is %q, want \"FeatureCollection\"", fc.Type)
		}
		views = make([]featureView, len(fc.Features))
		for i, raw := range fc.Features {
			var f rawFeature
			if err := json.Unmarshal(raw, &f); err != nil {
				views[i].err = fmt.Sprintf("not a GeoJSON Feature: %s", jsonErr(err, raw))
				continue
			}
			views[i] = featureView{typ: f.Type, geometry: f.Geometry, props: &mapProps{m: f.Properties}}
		}
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
		if f.typ != "Feature" {
			fs.add(i, "", "type is %q, want \"Feature\"", f.typ)
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

// featureView is one feature from either decoding path.
type featureView struct {
	typ      string
	geometry *rawGeometry
	props    propSource
	err      string // the feature could not be decoded at all
}

// propSource gives a feature's properties by key: a string, a number or a
// list of positions; ok is false when absent or null, and err is set when
// present with the wrong type.
type propSource interface {
	get(key string) (v any, ok bool, err string)
}

// typedFeature is a feature of the fast path.
type typedFeature struct {
	Type       string       `json:"type"`
	Geometry   *rawGeometry `json:"geometry"`
	Properties typedProps   `json:"properties"`
}

type typedProps struct {
	Kind     *string     `json:"kind"`
	ID       *string     `json:"id"`
	Site     *string     `json:"site"`
	Name     *string     `json:"name"`
	Camp     *string     `json:"camp"`
	Category *string     `json:"category"`
	Number   *float64    `json:"number"`
	Zone     *float64    `json:"zone"`
	Capacity *float64    `json:"capacity"`
	Gates    [][]float64 `json:"gates"`
}

func (t *typedProps) get(key string) (any, bool, string) {
	var s *string
	var n *float64
	switch key {
	case "kind":
		s = t.Kind
	case "id":
		s = t.ID
	case "site":
		s = t.Site
	case "name":
		s = t.Name
	case "camp":
		s = t.Camp
	case "category":
		s = t.Category
	case "number":
		n = t.Number
	case "zone":
		n = t.Zone
	case "capacity":
		n = t.Capacity
	case "gates":
		return t.Gates, t.Gates != nil, ""
	}
	switch {
	case s != nil:
		return *s, true, ""
	case n != nil:
		return *n, true, ""
	}
	return nil, false, ""
}

// mapProps is a feature's properties on the slow path.
type mapProps struct{ m map[string]json.RawMessage }

func (p *mapProps) get(key string) (any, bool, string) {
	raw, ok := p.m[key]
	if !ok || string(raw) == "null" {
		return nil, false, ""
	}
	switch key {
	case "number", "zone", "capacity":
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, false, fmt.Sprintf("property %q: want a number, got %s", key, clip(raw))
		}
		return f, true, ""
	case "gates":
		var cs [][]float64
		if err := json.Unmarshal(raw, &cs); err != nil {
			return nil, false, fmt.Sprintf("property %q: want [[lon, lat], …] of numbers, got %s", key, clip(raw))
		}
		return cs, true, ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, false, fmt.Sprintf("property %q: want a string, got %s", key, clip(raw))
	}
	return s, true, ""
}

// props reads typed feature properties and reports bad ones as faults.
type props struct {
	src     propSource
	feature int
	id      string
	fs      *faults
}

func (p props) lookup(key string, required bool) (any, bool) {
	v, ok, bad := p.src.get(key)
	if bad != "" {
		p.fs.add(p.feature, p.id, "%s", bad)
		return nil, false
	}
	if !ok && required {
		p.fs.add(p.feature, p.id, "missing property %q", key)
	}
	return v, ok
}

func (p props) str(key string, required bool) string {
	v, ok := p.lookup(key, required)
	if !ok {
		return ""
	}
	return v.(string)
}

func (p props) integer(key string, required bool) int {
	v, ok := p.lookup(key, required)
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
	v, ok := p.lookup(key, false)
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

func clip(raw []byte) string {
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func polygon(g *rawGeometry, feature int, id string, fs *faults) Ring {
	if g == nil {
		fs.add(feature, id, "missing geometry: want a Polygon")
		return nil
	}
	if g.Type != "Polygon" {
		fs.add(feature, id, "geometry type %q: want Polygon", g.Type)
		return nil
	}
	var rings [][][]float64
	if err := json.Unmarshal(g.Coordinates, &rings); err != nil {
		fs.add(feature, id, "polygon coordinates: want [[[lon, lat], …]] of numbers (%s)", typeHint(err))
		return nil
	}
	if len(rings) == 0 {
		fs.add(feature, id, "polygon has no ring")
		return nil
	}
	if len(rings) > 1 {
		fs.add(feature, id, "polygon has %d rings: holes are not supported", len(rings))
		return nil
	}
	r := make(Ring, 0, len(rings[0]))
	for j, c := range rings[0] {
		if len(c) < 2 {
			fs.add(feature, id, "position %d has %d numbers, want [lon, lat]", j, len(c))
			return nil
		}
		r = append(r, Point{Lat: c[1], Lon: c[0]})
	}
	return r
}

func point(g *rawGeometry, feature int, id string, fs *faults) (Point, bool) {
	if g == nil || g.Type != "Point" {
		fs.add(feature, id, "a gate needs a Point geometry")
		return Point{}, false
	}
	var c []float64
	if err := json.Unmarshal(g.Coordinates, &c); err != nil || len(c) < 2 {
		fs.add(feature, id, "point coordinates: want [lon, lat] numbers")
		return Point{}, false
	}
	return Point{Lat: c[1], Lon: c[0]}, true
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
func (l *Layout) WriteGeoJSON(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	b = append(b, `{"type":"FeatureCollection","features":[`...)
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '\n')
	}
	flush := func() error {
		if len(b) < 32<<10 {
			return nil
		}
		_, err := bw.Write(b)
		b = b[:0]
		return err
	}
	for _, a := range l.Areas {
		sep()
		b = append(b, `{"type":"Feature","properties":{"kind":"area","id":`...)
		b = strconv.AppendQuote(b, a.ID)
		b = append(b, `,"site":`...)
		b = strconv.AppendQuote(b, string(a.Site))
		b = append(b, `,"name":`...)
		b = strconv.AppendQuote(b, a.Name)
		b = append(b, `},"geometry":`...)
		b = appendPolygon(b, a.Polygon)
		b = append(b, '}')
		if err := flush(); err != nil {
			return err
		}
	}
	for _, c := range l.Camps {
		sep()
		b = append(b, `{"type":"Feature","properties":{"kind":"camp","id":`...)
		b = strconv.AppendQuote(b, c.ID)
		b = append(b, `,"site":`...)
		b = strconv.AppendQuote(b, string(c.Site))
		b = append(b, `,"number":`...)
		b = strconv.AppendInt(b, int64(c.Number), 10)
		b = append(b, `,"zone":`...)
		b = strconv.AppendInt(b, int64(c.Zone), 10)
		b = append(b, `,"category":`...)
		b = strconv.AppendQuote(b, c.Category)
		b = append(b, `,"capacity":`...)
		b = strconv.AppendInt(b, int64(c.Capacity), 10)
		b = append(b, `},"geometry":`...)
		b = appendPolygon(b, c.Polygon)
		b = append(b, '}')
		if err := flush(); err != nil {
			return err
		}
	}
	for _, t := range l.Tents {
		sep()
		b = append(b, `{"type":"Feature","properties":{"kind":"tent","id":`...)
		b = strconv.AppendQuote(b, t.ID)
		b = append(b, `,"camp":`...)
		b = strconv.AppendQuote(b, t.Camp)
		b = append(b, `,"number":`...)
		b = strconv.AppendInt(b, int64(t.Number), 10)
		b = append(b, `,"capacity":`...)
		b = strconv.AppendInt(b, int64(t.Capacity), 10)
		b = append(b, `},"geometry":`...)
		b = appendPolygon(b, t.Polygon)
		b = append(b, '}')
		if err := flush(); err != nil {
			return err
		}
	}
	for _, c := range l.Camps {
		for _, g := range c.Gates {
			sep()
			b = append(b, `{"type":"Feature","properties":{"kind":"gate","camp":`...)
			b = strconv.AppendQuote(b, c.ID)
			b = append(b, `},"geometry":{"type":"Point","coordinates":`...)
			b = appendPosition(b, g)
			b = append(b, `}}`...)
			if err := flush(); err != nil {
				return err
			}
		}
	}
	b = append(b, "\n]}\n"...)
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

func appendPolygon(b []byte, r Ring) []byte {
	b = append(b, `{"type":"Polygon","coordinates":[[`...)
	for i, p := range r {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPosition(b, p)
	}
	return append(b, `]]}`...)
}

func appendPosition(b []byte, p Point) []byte {
	b = append(b, '[')
	b = strconv.AppendFloat(b, p.Lon, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, p.Lat, 'f', -1, 64)
	return append(b, ']')
}
