package geo

import (
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// Temporary: compares Locate against a golden dump from the old implementation.
func zzPoints(l *Layout) ([]Point, []float64) {
	rng := rand.New(rand.NewPCG(11, 12))
	ps := fixes(l, 20000)
	for k := 0; k < 20000; k++ {
		switch k % 4 {
		case 0:
			ps = append(ps, Point{Lat: 21.395 + rng.Float64()*0.035, Lon: 39.868 + rng.Float64()*0.055})
		case 1:
			ps = append(ps, Point{Lat: 21.34 + rng.Float64()*0.03, Lon: 39.95 + rng.Float64()*0.04})
		case 2:
			tt := &l.Tents[rng.IntN(len(l.Tents))]
			a, b := tt.Polygon[0], tt.Polygon[1]
			f := rng.Float64()
			e := 2e-6 * (rng.Float64() - 0.5)
			ps = append(ps, Point{Lat: a.Lat + (b.Lat-a.Lat)*f + e, Lon: a.Lon + (b.Lon-a.Lon)*f - e})
		case 3:
			ps = append(ps, Point{Lat: 21.2 + rng.Float64()*0.4, Lon: 39.7 + rng.Float64()*0.5})
		}
	}
	accs := []float64{0, 1, 3, 5, 8, 12, 17, 17.7, 20, 60}
	return ps, accs
}

func TestZZGolden(t *testing.T) {
	ix := testIndex(t)
	ps, accs := zzPoints(ix.Layout())
	var got []Location
	for i, p := range ps {
		got = append(got, ix.Locate(p.Lat, p.Lon, accs[i%len(accs)]))
	}
	path := "/tmp/geoperf/golden.gob"
	if os.Getenv("ZZ_WRITE") != "" {
		f, _ := os.Create(path)
		gob.NewEncoder(f).Encode(got)
		f.Close()
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []Location
	gob.NewDecoder(f).Decode(&want)
	exact, bad := 0, 0
	for i := range want {
		if got[i] == want[i] {
			exact++
			continue
		}
		bad++
		if bad < 10 {
			t.Errorf("%d %v acc %v:\n got %+v\nwant %+v", i, ps[i], accs[i%len(accs)], got[i], want[i])
		}
	}
	t.Logf("%d identical, %d differ", exact, bad)
}

func TestZZErf(t *testing.T) {
	e := newErfTable()
	worst := 0.0
	for x := -5.0; x <= 5; x += 0.000137 {
		worst = max(worst, math.Abs(e.at(x)-math.Erf(x)))
	}
	t.Logf("worst %g", worst)
}

func BenchmarkZZGrid64k(b *testing.B) {
	l := Default()
	ps := fixes(l, 1<<16)
	for _, cellM := range []float64{16, 24, 32} {
		ix, err := newIndex(l, cellM)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("cell%gm", cellM), func(b *testing.B) {
			i := 0
			for b.Loop() {
				p := ps[i&(1<<16-1)]
				var loc Location
				ix.place(&loc, p.Lat, p.Lon, 8)
				i++
			}
		})
	}
}
