package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"

	"dalil/geo"
)

// runLocate prints where a point is: site, zone, camp, tent and the tents
// its accuracy circle spans, as JSON.
func runLocate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("locate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lat := fs.Float64("lat", math.NaN(), "latitude (WGS84 degrees), e.g. 21.41")
	lon := fs.Float64("lon", math.NaN(), "longitude (WGS84 degrees), e.g. 39.89")
	acc := fs.Float64("acc", 10, "GPS accuracy in metres (68 % radius)")
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
	if math.IsNaN(*lat) || *lat < -90 || *lat > 90 {
		return fmt.Errorf("%w: --lat is required, in [-90, 90]", errUsage)
	}
	if math.IsNaN(*lon) || *lon < -180 || *lon > 180 {
		return fmt.Errorf("%w: --lon is required, in [-180, 180]", errUsage)
	}
	if math.IsNaN(*acc) || *acc < 0 {
		return fmt.Errorf("%w: --acc must be a non-negative number of metres", errUsage)
	}
	l, err := loadLayout(*layout)
	if err != nil {
		return err
	}
	ix, err := geo.NewIndex(l)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(ix.Locate(*lat, *lon, *acc), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
