package geo

import (
	"bytes"
	"testing"
)

// BenchmarkLayoutGeoJSONRoundTrip writes the default layout and reads it back
// (orb/geojson both ways; once per start and per layout download).
func BenchmarkLayoutGeoJSONRoundTrip(b *testing.B) {
	l := Default()
	var buf bytes.Buffer
	for i := 0; i < b.N; i++ {
		buf.Reset()
		if err := l.WriteGeoJSON(&buf); err != nil {
			b.Fatal(err)
		}
		if _, err := ReadGeoJSON(bytes.NewReader(buf.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}
