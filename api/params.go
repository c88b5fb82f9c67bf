package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// paramError is a bad query parameter: it names the parameter.
type paramError struct {
	field, msg string
}

func (e *paramError) Error() string { return e.msg }

// floatParam reads a query parameter as a float in [lo, hi]; def when absent
// and not required.
func floatParam(r *http.Request, name string, required bool, def, lo, hi float64) (float64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		if required {
			return 0, &paramError{name, name + " is required"}
		}
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, &paramError{name, fmt.Sprintf("%s must be a number, got %q", name, s)}
	}
	if f < lo || f > hi {
		return 0, &paramError{name, fmt.Sprintf("%s must be between %g and %g, got %g", name, lo, hi, f)}
	}
	return f, nil
}

// intParam reads a query parameter as an int in [lo, hi]; def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &paramError{name, fmt.Sprintf("%s must be an integer, got %q", name, s)}
	}
	if n < lo || n > hi {
		return 0, &paramError{name, fmt.Sprintf("%s must be between %d and %d, got %d", name, lo, hi, n)}
	}
	return n, nil
}

// timeParam reads an RFC 3339 time (or Unix seconds); def when absent.
func timeParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, &paramError{name, fmt.Sprintf("%s must be an RFC 3339 time (2025-06-05T10:00:00Z) or Unix seconds, got %q", name, s)}
}

// latLonParams reads the required lat and lon.
func latLonParams(r *http.Request) (lat, lon float64, err error) {
	if lat, err = floatParam(r, "lat", true, 0, -90, 90); err != nil {
		return
	}
	lon, err = floatParam(r, "lon", true, 0, -180, 180)
	return
}

// badParam answers 400 for a parameter error.
func badParam(w http.ResponseWriter, err error) {
	if pe, ok := err.(*paramError); ok {
		writeError(w, http.StatusBadRequest, pe.msg, pe.field)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error(), "")
}
