package ingest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

func itoa[T int | int64](v T) string { return strconv.FormatInt(int64(v), 10) }

func twoDigits(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

func httptestRequest(method, target, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return httptest.NewRequest(method, target, rd)
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// errorsJoin makes an error with text msg that wraps base (if any).
func errorsJoin(msg string, base error) error {
	if base == nil {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %w", msg, base)
}
