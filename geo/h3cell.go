package geo

/*
#include <stdint.h>

// The H3 C library is compiled into github.com/uber/h3-go/v4, which this
// package imports; we call its latLngToCell directly through a wrapper that
// takes and returns plain numbers. h3-go's own LatLngToCell passes Go
// pointers to C, which makes them escape: two heap allocations per call on
// the hot path of Locate.
typedef struct { double lat; double lng; } dalilLatLng;
extern uint32_t latLngToCell(const dalilLatLng *g, int res, uint64_t *out);

static uint64_t dalil_latlng_to_cell(double lat, double lng, int res) {
	dalilLatLng g = {lat, lng};
	uint64_t out = 0;
	if (latLngToCell(&g, res, &out) != 0) {
		return 0;
	}
	return out;
}
*/
import "C"

import (
	h3 "github.com/uber/h3-go/v4"
)

// cellAt is h3.LatLngToCell without allocations; 0 for invalid input.
func cellAt(lat, lon float64, res int) uint64 {
	return uint64(C.dalil_latlng_to_cell(C.double(h3.DegsToRads*lat), C.double(h3.DegsToRads*lon), C.int(res)))
}
