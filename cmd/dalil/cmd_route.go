package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"dalil/geo"
)

// runRoute prints the walking route to a tent (or a point) as a GeoJSON
// Feature, and a one-line summary on stderr.
func runRoute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("route", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromS := fs.String("from", "", "start as LAT,LON, e.g. 21.4216,39.8722")
	tent := fs.String("tent", "", "destination tent id, e.g. mina-094/3")
	toS := fs.String("to", "", "destination as LAT,LON (instead of --tent)")
	layout := fs.String("layout", "", "GeoJSON layout file (default: the built-in layout)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	from, err := parseLatLon(*fromS)
	if err != nil {
		return fmt.Errorf("%w: --from: %v", errUsage, err)
	}
	if (*tent == "") == (*toS == "") {
		return fmt.Errorf("%w: give exactly one of --tent ID or --to LAT,LON", errUsage)
	}
	l, err := loadLayout(*layout)
	if err != nil {
		return err
	}
	if *tent != "" {
		if _, ok := l.Tent(*tent); !ok {
			return fmt.Errorf("%w: --tent: no tent %q in the layout", errUsage, *tent)
		}
	}
	ix, err := geo.NewIndex(l)
	if err != nil {
		return err
	}
	var r geo.Route
	if *tent != "" {
		r, err = ix.Route(from, *tent)
	} else {
		to, perr := parseLatLon(*toS)
		if perr != nil {
			return fmt.Errorf("%w: --to: %v", errUsage, perr)
		}
		r, err = ix.RouteBetween(from, to)
	}
	if err != nil {
		return err
	}
	b, err := r.GeoJSON()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%.0f m walk, about %.0f min at %.1f m/s; %.0f m %s as the crow flies\n",
		r.LengthM, r.WalkSeconds/60, geo.WalkPaceMps, r.StraightM, geo.CompassPoint(r.BearingDeg))
	return nil
}

// parseLatLon reads "LAT,LON".
func parseLatLon(s string) (geo.Point, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return geo.Point{}, fmt.Errorf("want LAT,LON, got %q", s)
	}
	lat, err := strconv.ParseFloat(strings.TrimSpace(a), 64)
	if err != nil || lat < -90 || lat > 90 {
		return geo.Point{}, fmt.Errorf("latitude %q: want a number in [-90, 90]", a)
	}
	lon, err := strconv.ParseFloat(strings.TrimSpace(b), 64)
	if err != nil || lon < -180 || lon > 180 {
		return geo.Point{}, fmt.Errorf("longitude %q: want a number in [-180, 180]", b)
	}
	return geo.Point{Lat: lat, Lon: lon}, nil
}
