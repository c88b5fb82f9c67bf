package geo

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	if err := Generate(DefaultSeed).WriteGeoJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := Default().WriteGeoJSON(&b); err != nil {
		t.Fatal(err)
	}
	if err := Generate(8).WriteGeoJSON(&c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same seed gave two different layouts (or Default() is not Generate(DefaultSeed))")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("seeds 1446 and 8 gave the same layout")
	}
}

func TestGeneratedLayoutIsValid(t *testing.T) {
	for _, seed := range []int64{DefaultSeed, 42} {
		if err := Validate(Generate(seed)); err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
	}
}

// sideLengths returns the lengths of a ring's edges in metres.
func sideLengths(r Ring) []float64 {
	var s []float64
	for i := 0; i+1 < len(r); i++ {
		s = append(s, DistanceM(r[i], r[i+1]))
	}
	return s
}

func TestGeneratedLayoutLooksLikeMina(t *testing.T) {
	l := Default()
	for _, id := range []string{"mina", "arafat", "muzdalifah", "jamarat"} {
		if _, ok := l.Area(id); !ok {
			t.Errorf("no area %q", id)
		}
	}
	if a, _ := l.Area("jamarat"); a == nil || !a.Polygon.Contains(jamaratBridge) {
		t.Error("the jamarat area does not contain the Jamarat bridge (21.4216, 39.8722)")
	}
	campID := regexp.MustCompile(`^(mina|arafat)-\d{3}$`)
	tentID := regexp.MustCompile(`^(mina|arafat)-\d{3}/\d+$`)
	var mina int
	zoneDist := map[int][]float64{}
	catDist := map[string][]float64{}
	for _, c := range l.Camps {
		if !campID.MatchString(c.ID) {
			t.Errorf("camp id %q", c.ID)
		}
		if c.Capacity < 2800 || c.Capacity > 3250 {
			t.Errorf("%s capacity %d, want 2800–3250", c.ID, c.Capacity)
		}
		for _, s := range sideLengths(c.Polygon) {
			if s < 95 || s > 205 {
				t.Errorf("%s has a %.0f m side, want ~100–200 m", c.ID, s)
			}
		}
		if len(c.Gates) < 2 {
			t.Errorf("%s has %d gates", c.ID, len(c.Gates))
		}
		sum := 0
		ts := l.TentsOf(c.ID)
		if len(ts) < 10 {
			t.Errorf("%s has only %d tents", c.ID, len(ts))
		}
		for _, tt := range ts {
			sum += tt.Capacity
			if !tentID.MatchString(tt.ID) || tt.ID != fmt.Sprintf("%s/%d", c.ID, tt.Number) {
				t.Errorf("tent id %q (number %d)", tt.ID, tt.Number)
			}
		}
		if sum != c.Capacity {
			t.Errorf("%s: tents hold %d, camp %d", c.ID, sum, c.Capacity)
		}
		cen := c.Polygon.Centroid()
		if c.Site == SiteMina {
			mina++
			if cen.Lat < 21.395 || cen.Lat > 21.43 || cen.Lon < 39.87 || cen.Lon > 39.92 {
				t.Errorf("%s at %v is outside the Mina valley", c.ID, cen)
			}
			zoneDist[c.Zone] = append(zoneDist[c.Zone], DistanceM(jamaratBridge, cen))
			catDist[c.Category] = append(catDist[c.Category], DistanceM(jamaratBridge, cen))
		} else if cen.Lat < 21.33 || cen.Lat > 21.38 || cen.Lon < 39.95 || cen.Lon > 40.01 {
			t.Errorf("%s at %v is outside the Arafat plain", c.ID, cen)
		}
	}
	if mina < 70 {
		t.Errorf("%d Mina camps, want 70+", mina)
	}
	mean := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	for z := 2; z <= 7; z++ {
		if len(zoneDist[z]) == 0 || mean(zoneDist[z]) <= mean(zoneDist[z-1]) {
			t.Errorf("zone %d is not farther from the Jamarat than zone %d", z, z-1)
		}
	}
	for _, pair := range [][2]string{{"A", "B"}, {"B", "C"}, {"C", "D"}} {
		if mean(catDist[pair[1]]) <= mean(catDist[pair[0]]) {
			t.Errorf("category %s is not farther from the Jamarat than %s", pair[1], pair[0])
		}
	}
	// Tent sizes: 8×8 mostly, some 6×8 and 12×8 in Mina; 10×25 at Arafat.
	sizes := map[string]int{}
	for _, tt := range l.Tents {
		s := sideLengths(tt.Polygon)
		a, b := math.Round(s[0]), math.Round(s[1])
		if a < b {
			a, b = b, a
		}
		sizes[fmt.Sprintf("%.0fx%.0f", a, b)]++
	}
	if sizes["8x8"] < len(l.Tents)/2 || sizes["8x6"] == 0 || sizes["12x8"] == 0 || sizes["25x10"] == 0 {
		t.Errorf("tent sizes %v", sizes)
	}
	if len(sizes) != 4 {
		t.Errorf("unexpected tent sizes %v", sizes)
	}
}

func TestLayoutAccessors(t *testing.T) {
	l := Default()
	c, ok := l.Camp("mina-094")
	if !ok || c.Number != 94 {
		t.Fatalf("Camp(mina-094) = %v, %v", c, ok)
	}
	tt, ok := l.Tent("mina-094/3")
	if !ok || tt.Camp != "mina-094" || tt.Number != 3 {
		t.Fatalf("Tent(mina-094/3) = %v, %v", tt, ok)
	}
	if _, ok := l.Camp("mina-999"); ok {
		t.Error("Camp(mina-999) found")
	}
	if _, ok := l.Tent("nope"); ok {
		t.Error("Tent(nope) found")
	}
	if ts := l.TentsOf("nope"); len(ts) != 0 {
		t.Errorf("TentsOf(nope) = %d tents", len(ts))
	}
	// A hand-built Layout (no lookup tables) answers the same.
	bare := &Layout{Areas: l.Areas, Camps: l.Camps, Tents: l.Tents}
	if c2, ok := bare.Camp("mina-094"); !ok || c2 != c {
		t.Error("hand-built layout: Camp differs")
	}
	if t2, ok := bare.Tent("mina-094/3"); !ok || t2 != tt {
		t.Error("hand-built layout: Tent differs")
	}
	if len(bare.TentsOf("mina-094")) != len(l.TentsOf("mina-094")) {
		t.Error("hand-built layout: TentsOf differs")
	}
	if a, ok := bare.Area("muzdalifah"); !ok || a.Site != SiteMuzdalifah {
		t.Error("hand-built layout: Area differs")
	}
}

func TestCentroidAndBearing(t *testing.T) {
	sq := Ring{{21.40, 39.88}, {21.40, 39.89}, {21.41, 39.89}, {21.41, 39.88}, {21.40, 39.88}}
	c := sq.Centroid()
	if math.Abs(c.Lat-21.405) > 1e-9 || math.Abs(c.Lon-39.885) > 1e-9 {
		t.Errorf("centroid %v", c)
	}
	kaaba := Point{Lat: 21.4225, Lon: 39.8262}
	if d := DistanceM(kaaba, jamaratBridge); d < 4600 || d > 5000 {
		t.Errorf("Kaaba–Jamarat %0.f m, want ~4.8 km", d)
	}
	if b := BearingDeg(kaaba, jamaratBridge); b < 85 || b > 95 {
		t.Errorf("Jamarat bearing from the Kaaba %.1f°, want ~E", b)
	}
	if got := CompassPoint(359); got != "N" {
		t.Errorf("CompassPoint(359) = %s", got)
	}
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate(DefaultSeed)
	}
}
