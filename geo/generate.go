package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// DefaultSeed is the seed of the layout that ships with the binary.
const DefaultSeed int64 = 1446

// Default returns the layout that ships with the binary: Generate(DefaultSeed).
// Each call builds a fresh copy (a few milliseconds), so callers may keep or
// modify theirs.
func Default() *Layout { return Generate(DefaultSeed) }

// Real anchor points (WGS84).
var (
	jamaratBridge = Point{Lat: 21.4216, Lon: 39.8722}
	masjidKhayf   = Point{Lat: 21.4145, Lon: 39.8855}
	masjidNamirah = Point{Lat: 21.3530, Lon: 39.9668}
	jabalRahmah   = Point{Lat: 21.3547, Lon: 39.9839}
)

// Generated layout dimensions in metres.
const (
	minaValleyBearing = 112.0  // the valley runs east-south-east from the Jamarat
	minaUStart        = 560.0  // camps start east of the bridge's end (the bridge is 950 m long)
	minaUEnd          = 4900.0 // the Muzdalifah end of Mina
	minaZones         = 7
	campFenceLane     = 5.0 // walkable lane between the fence and the first tents
	campLane          = 5.0 // lanes between tent blocks
	tentGap           = 1.0 // guy ropes between neighbouring tents
	centralRoadHalf   = 16.0
)

// Generate builds a synthetic but realistic layout at the real coordinates:
// Mina's valley from the Jamarat bridge east-south-east towards Muzdalifah,
// zones 1–7 from the Jamarat end, ~100 fenced camps of 100–200 m with 8×8 m
// tents (some 6×8 and 12×8) in back-to-back rows along 5 m lanes, streets of
// 18–40 m between camps and gates on the fences; Arafat east of Masjid
// Namirah with camps of 10×25 m tents; outlines for Mina, Arafat, Muzdalifah
// and the Jamarat. The same seed always gives the same layout.
func Generate(seed int64) *Layout {
	g := &generator{rng: rand.New(rand.NewPCG(uint64(seed), 0x64616c696c))}
	g.mina()
	g.arafat()
	l := &Layout{Areas: g.areas, Camps: g.camps, Tents: g.tents}
	l.buildLookup()
	return l
}

type generator struct {
	rng   *rand.Rand
	areas []Area
	camps []Camp
	tents []Tent
}

// plane is a rotated metric frame: a point (u, v) lies at origin + u·a + v·b.
type plane struct {
	f    frame
	a, b vec
}

func newPlane(origin Point, bearingDeg float64) plane {
	θ := bearingDeg * math.Pi / 180
	a := vec{math.Sin(θ), math.Cos(θ)}
	return plane{f: newFrame(origin), a: a, b: a.perp()}
}

func (p plane) at(u, v float64) Point {
	q := p.f.point(p.a.scale(u).add(p.b.scale(v)))
	return Point{Lat: round7(q.Lat), Lon: round7(q.Lon)}
}

func (p plane) uv(pt Point) (u, v float64) {
	x := p.f.xy(pt)
	return x.dot(p.a), x.dot(p.b)
}

// rect is the counter-clockwise ring of the box [u0,u1]×[v0,v1].
func (p plane) rect(u0, v0, u1, v1 float64) Ring {
	return Ring{p.at(u0, v0), p.at(u1, v0), p.at(u1, v1), p.at(u0, v1), p.at(u0, v0)}
}

// round7 keeps 7 decimals (1 cm): files stay small and round-trip exactly.
func round7(x float64) float64 { return math.Round(x*1e7) / 1e7 }

func (g *generator) uniform(lo, hi float64) float64 { return lo + g.rng.Float64()*(hi-lo) }

// box is an axis-aligned rectangle in a plane.
type box struct{ u0, v0, u1, v1 float64 }

func (b box) overlaps(o box, margin float64) bool {
	return b.u0-margin < o.u1 && o.u0-margin < b.u1 && b.v0-margin < o.v1 && o.v0-margin < b.v1
}

// valleyHalfWidth is how far camps reach from the valley's axis at u.
func valleyHalfWidth(u float64) float64 {
	pts := [][2]float64{{-600, 240}, {minaUStart, 280}, {1500, 530}, {3800, 480}, {minaUEnd, 320}, {5200, 290}}
	for i := 1; i < len(pts); i++ {
		if u <= pts[i][0] {
			t := (u - pts[i-1][0]) / (pts[i][0] - pts[i-1][0])
			return pts[i-1][1] + t*(pts[i][1]-pts[i-1][1])
		}
	}
	return pts[len(pts)-1][1]
}

func (g *generator) mina() {
	p := newPlane(jamaratBridge, minaValleyBearing)

	// Site outline: the valley, a little wider than the camps.
	var north, south Ring
	for _, u := range []float64{-700, minaUStart, 1500, 3800, minaUEnd, 5200} {
		h := valleyHalfWidth(u) + 120
		north = append(north, p.at(u, h))
		south = append(south, p.at(u, -h))
	}
	outline := append(Ring{}, south...)    // west to east along the south edge,
	for i := len(north) - 1; i >= 0; i-- { // then back along the north edge
		outline = append(outline, north[i])
	}
	outline = append(outline, outline[0])
	g.areas = append(g.areas,
		Area{ID: "mina", Site: SiteMina, Name: "Mina", Polygon: ccw(outline)},
		Area{ID: "jamarat", Site: SiteMina, Name: "Jamarat bridge", Polygon: p.rect(-475, -40, 475, 40)},
	)
	ku, kv := p.uv(masjidKhayf)
	khayf := box{ku - 150, kv - 110, ku + 150, kv + 110}
	g.areas = append(g.areas, Area{ID: "khayf", Site: SiteMina, Name: "Masjid al-Khayf",
		Polygon: p.rect(khayf.u0, khayf.v0, khayf.u1, khayf.v1)})

	zoneLen := (minaUEnd - minaUStart) / minaZones
	zoneOf := func(u float64) int { return max(1, min(minaZones, 1+int((u-minaUStart)/zoneLen))) }
	start := len(g.camps)
	u := minaUStart
	for {
		w := g.uniform(115, 170)
		if u+w > minaUEnd {
			break
		}
		zone := zoneOf(u + w/2)
		h := math.Min(valleyHalfWidth(u), valleyHalfWidth(u+w))
		var rows []box
		for side := 1.0; side >= -1; side -= 2 {
			v := centralRoadHalf
			var rs []box
			for {
				ht := g.uniform(100, 150)
				if v+ht > h {
					break
				}
				if side > 0 {
					rs = append(rs, box{u, v, u + w, v + ht})
				} else {
					rs = append(rs, box{u, -v - ht, u + w, -v})
				}
				v += ht + g.uniform(18, 26)
			}
			if side > 0 { // number north to south
				for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
					rs[i], rs[j] = rs[j], rs[i]
				}
			}
			rows = append(rows, rs...)
		}
		for _, r := range rows {
			if r.overlaps(khayf, 20) {
				continue
			}
			g.minaCamp(p, r, zone)
		}
		street := g.uniform(20, 30)
		if zoneOf(u+w+street+80) != zone {
			street = 40 // the zone boundaries are the wide roads
		}
		u += w + street
	}
	g.categorise(start, jamaratBridge)
}

func (g *generator) minaCamp(p plane, r box, zone int) {
	num := len(g.camps) + 1
	c := Camp{
		ID:       fmt.Sprintf("mina-%03d", num),
		Site:     SiteMina,
		Number:   num,
		Zone:     zone,
		Capacity: 2800 + g.rng.IntN(451),
		Polygon:  p.rect(r.u0, r.v0, r.u1, r.v1),
	}
	um, vm := (r.u0+r.u1)/2, (r.v0+r.v1)/2
	c.Gates = []Point{p.at(r.u0, vm), p.at(r.u1, vm)}
	// The side facing the central road always has a gate, the outer side sometimes.
	if r.v0 > 0 {
		c.Gates = append(c.Gates, p.at(um+g.uniform(-20, 20), r.v0))
		if g.rng.IntN(2) == 0 {
			c.Gates = append(c.Gates, p.at(um, r.v1))
		}
	} else {
		c.Gates = append(c.Gates, p.at(um+g.uniform(-20, 20), r.v1))
		if g.rng.IntN(2) == 0 {
			c.Gates = append(c.Gates, p.at(um, r.v0))
		}
	}

	// Tents: strips of two back-to-back rows of 8 m deep tents (1 m apart), every tent
	// on a lane; cross lanes every ~50 m; one corner block for services.
	first := len(g.tents)
	in := box{r.u0 + campFenceLane, r.v0 + campFenceLane, r.u1 - campFenceLane, r.v1 - campFenceLane}
	strip := 0
	for v := in.v0; v+16+tentGap <= in.v1; v += 16 + tentGap + campLane {
		seg := 0
		for s := in.u0; s+20 < in.u1; {
			e := math.Min(s+g.uniform(42, 56), in.u1)
			if in.u1-e < 20 { // do not leave a sliver
				e = in.u1
			}
			if !(strip == 0 && seg == 0) {
				for row := 0; row < 2; row++ {
					v0 := v + (8+tentGap)*float64(row)
					for x := s; ; {
						w := 8.0
						switch k := g.rng.IntN(10); {
						case k == 0:
							w = 6
						case k == 1:
							w = 12
						}
						if x+w > e {
							break
						}
						n := len(g.tents) - first + 1
						g.tents = append(g.tents, Tent{
							ID:      fmt.Sprintf("%s/%d", c.ID, n),
							Camp:    c.ID,
							Number:  n,
							Polygon: p.rect(x, v0, x+w, v0+8),
						})
						x += w + tentGap
					}
				}
			}
			s = e + campLane
			seg++
		}
		strip++
	}
	shareCapacity(g.tents[first:], c.Capacity)
	g.camps = append(g.camps, c)
}

// shareCapacity spreads a camp's capacity over its tents in proportion to
// their floor area, so that the tents add up to the camp exactly.
func shareCapacity(ts []Tent, total int) {
	if len(ts) == 0 {
		return
	}
	areas := make([]float64, len(ts))
	var sum float64
	for i := range ts {
		areas[i] = math.Abs(ts[i].Polygon.signedArea2())
		sum += areas[i]
	}
	given := 0
	for i := range ts {
		ts[i].Capacity = int(float64(total) * areas[i] / sum)
		given += ts[i].Capacity
	}
	for i := 0; given < total; i = (i + 1) % len(ts) {
		ts[i].Capacity++
		given++
	}
}

// categorise gives camps[start:] categories A–D by quartile of distance from
// ref: A is closest (the Jamarat in Mina, Masjid Namirah at Arafat).
func (g *generator) categorise(start int, ref Point) {
	cs := g.camps[start:]
	order := make([]int, len(cs))
	dist := make([]float64, len(cs))
	for i := range cs {
		order[i] = i
		dist[i] = DistanceM(ref, cs[i].Polygon.Centroid())
	}
	sort.SliceStable(order, func(a, b int) bool { return dist[order[a]] < dist[order[b]] })
	for rank, i := range order {
		cs[i].Category = string(rune('A' + rank*4/len(cs)))
	}
}

func (g *generator) arafat() {
	p := newPlane(masjidNamirah, 90) // axis-aligned: u east, v north
	g.areas = append(g.areas,
		Area{ID: "muzdalifah", Site: SiteMuzdalifah, Name: "Muzdalifah", Polygon: ccw(Ring{
			{Lat: 21.4040, Lon: 39.9210}, {Lat: 21.3980, Lon: 39.9500}, {Lat: 21.3830, Lon: 39.9530},
			{Lat: 21.3810, Lon: 39.9300}, {Lat: 21.3920, Lon: 39.9170}, {Lat: 21.4040, Lon: 39.9210}})},
		Area{ID: "arafat", Site: SiteArafat, Name: "Arafat", Polygon: ccw(Ring{
			{Lat: 21.3350, Lon: 39.9550}, {Lat: 21.3350, Lon: 40.0050}, {Lat: 21.3750, Lon: 40.0050},
			{Lat: 21.3750, Lon: 39.9550}, {Lat: 21.3350, Lon: 39.9550}})},
		Area{ID: "namirah", Site: SiteArafat, Name: "Masjid Namirah", Polygon: p.rect(-150, -110, 150, 110)},
	)
	ru, rv := p.uv(jabalRahmah)
	g.areas = append(g.areas, Area{ID: "rahmah", Site: SiteArafat, Name: "Jabal al-Rahmah",
		Polygon: p.rect(ru-200, rv-200, ru+200, rv+200)})

	start := len(g.camps)
	for u := 220.0; ; {
		w := g.uniform(130, 170)
		if u+w > 1250 {
			break
		}
		for v := -520.0; ; {
			h := g.uniform(110, 150)
			if v+h > 540 {
				break
			}
			g.arafatCamp(p, box{u, v, u + w, v + h}, start)
			v += h + g.uniform(22, 30)
		}
		u += w + g.uniform(24, 32)
	}
	g.categorise(start, masjidNamirah)
}

func (g *generator) arafatCamp(p plane, r box, start int) {
	num := len(g.camps) - start + 1
	c := Camp{
		ID:       fmt.Sprintf("arafat-%03d", num),
		Site:     SiteArafat,
		Number:   num,
		Capacity: 2800 + g.rng.IntN(451),
		Polygon:  p.rect(r.u0, r.v0, r.u1, r.v1),
	}
	um, vm := (r.u0+r.u1)/2, (r.v0+r.v1)/2
	c.Gates = []Point{p.at(r.u0, vm), p.at(um, r.v0), p.at(r.u1, vm), p.at(um, r.v1)}
	first := len(g.tents)
	in := box{r.u0 + campFenceLane, r.v0 + campFenceLane, r.u1 - campFenceLane, r.v1 - campFenceLane}
	// Single rows of 25×10 m tents, a lane on both sides, a cross lane every three tents.
	for v := in.v0; v+10 <= in.v1; v += 10 + campLane {
		for s := in.u0; s+25 <= in.u1; s += 3*27 - 2 + campLane {
			for k := 0; k < 3; k++ {
				x := s + float64(k)*27
				if x+25 > in.u1 {
					break
				}
				n := len(g.tents) - first + 1
				g.tents = append(g.tents, Tent{
					ID: fmt.Sprintf("%s/%d", c.ID, n), Camp: c.ID, Number: n,
					Polygon: p.rect(x, v, x+25, v+10),
				})
			}
		}
	}
	shareCapacity(g.tents[first:], c.Capacity)
	g.camps = append(g.camps, c)
}

// ccw returns r counter-clockwise (RFC 7946 outer ring order).
func ccw(r Ring) Ring {
	if r.signedArea2() >= 0 {
		return r
	}
	out := make(Ring, len(r))
	for i := range r {
		out[i] = r[len(r)-1-i]
	}
	return out
}
