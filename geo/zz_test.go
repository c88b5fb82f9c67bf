package geo
import "testing"
func BenchmarkZZ(b *testing.B) {
	ix := testIndex(b)
	ps := fixes(ix.Layout(), 4096)
	for _, kind := range []string{"tent", "street"} {
		var sel []Point
		for i, p := range ps { if (i%4 == 0) == (kind == "street") { sel = append(sel, p) } }
		for _, acc := range []float64{3, 8, 13} {
		b.Run(kind+string(rune('0'+int(acc)/10))+string(rune('0'+int(acc)%10)), func(b *testing.B) {
			i := 0
			for b.Loop() { p := sel[i%len(sel)]; ix.Locate(p.Lat, p.Lon, acc); i++ }
		})
		}
	}
	b.Run("h3", func(b *testing.B) { i := 0; for b.Loop() { p := ps[i&4095]; cellAt(p.Lat, p.Lon, 12); i++ } })
}
