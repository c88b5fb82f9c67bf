package helpdesk

import (
	"context"
	"errors"
	"testing"

	"dalil"
	"dalil/tracking"
)

func TestSightingFeedsTheEngine(t *testing.T) {
	ctx := context.Background()
	w := newHDWorld(t)
	ev := &hdEvents{}
	eng := tracking.NewEngine(tracking.DefaultEngineConfig(), w.st, w.reg, w.ix, ev, nil)
	lug := hdLuggage(t, w)
	lug.Register(ctx, LuggageRequest{Tag: "BG-7", Owner: "M1", Description: "blue bag"}, "op")
	s := NewSightings(SightingDeps{Store: w.st, Pilgrims: w.reg, Devices: w.reg, Sink: eng, Luggage: lug})

	at := w.other.Gates[0]
	lat, lon := at.Lat, at.Lon
	// M4 has no device: the sighting registers one so that live state works.
	sg, err := s.Record(ctx, SightingRequest{Pilgrim: "M4", Lat: &lat, Lon: &lon, Source: SightingQRScan, Note: "helpdesk 2"}, "operator:desk-2")
	if err != nil {
		t.Fatal(err)
	}
	if sg.Device != SightingDevice("M4") || sg.Position.Source != dalil.SourceSighting || sg.Position.Accuracy != SightingAccuracyM {
		t.Fatalf("sighting = %+v", sg)
	}
	st, ok := eng.Pilgrim("M4")
	if !ok || st.Position.Lat != lat || st.Device != SightingDevice("M4") {
		t.Fatalf("engine does not know M4's position: %+v %v", st, ok)
	}
	if p, _ := w.reg.Pilgrim("M4"); len(p.Devices) != 1 || p.Devices[0] != SightingDevice("M4") {
		t.Fatalf("sighting device not bound to M4: %v", p.Devices)
	}
	if trail, _ := eng.Trail(ctx, "M4", hdT0().AddDate(-1, 0, 0), sg.Time.AddDate(0, 0, 1)); len(trail) != 1 {
		t.Fatalf("trail = %v", trail)
	}
	if n := w.st.NumRecords(KindSighting); n != 1 {
		t.Fatalf("%d sighting records", n)
	}
	// A second sighting reuses the device.
	if _, err := s.Record(ctx, SightingRequest{Pilgrim: "M4", Lat: &lat, Lon: &lon}, "op"); err != nil {
		t.Fatal(err)
	}
	// A bag.
	bs, err := s.Record(ctx, SightingRequest{Luggage: "bg7", Lat: &lat, Lon: &lon, Source: SightingNFC}, "op")
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := eng.Device(bs.Device); !ok || st.Luggage != "BG7" {
		t.Fatalf("bag sighting state = %+v %v", st, ok)
	}

	zero := 0.0
	bad := 91.0
	for _, c := range []struct {
		req   SightingRequest
		field string
		want  error
	}{
		{SightingRequest{Lat: &lat, Lon: &lon}, "pilgrim", ErrInvalidSighting},
		{SightingRequest{Pilgrim: "M1", Luggage: "BG7", Lat: &lat, Lon: &lon}, "pilgrim", ErrInvalidSighting},
		{SightingRequest{Pilgrim: "M1", Lon: &lon}, "lat", ErrInvalidSighting},
		{SightingRequest{Pilgrim: "M1", Lat: &bad, Lon: &lon}, "lat", ErrInvalidSighting},
		{SightingRequest{Pilgrim: "M1", Lat: &zero, Lon: &zero}, "lat", ErrInvalidSighting},
		{SightingRequest{Pilgrim: "M1", Lat: &lat, Lon: &lon, Source: "gps"}, "source", ErrInvalidSighting},
		{SightingRequest{Pilgrim: "NOBODY", Lat: &lat, Lon: &lon}, "pilgrim", dalil.ErrNotFound},
		{SightingRequest{Luggage: "NOBAG", Lat: &lat, Lon: &lon}, "luggage", dalil.ErrNotFound},
	} {
		_, err := s.Record(ctx, c.req, "op")
		var fe *FieldError
		if !errors.Is(err, c.want) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("Record(%+v) = %v, want %v on %s", c.req, err, c.want, c.field)
		}
	}
}
