package registry

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"dalil"
)

// TrackerRow is one hardware tracker of a bulk import: its IMEI (the id the
// tracker reports over GT06, H02 or Teltonika) bound to a pilgrim or a bag.
type TrackerRow struct {
	Line    int // CSV line, 1 = header
	IMEI    string
	Pilgrim string
	Bag     string
	Kind    dalil.DeviceKind
}

// maxTrackerErrors bounds the errors one import reports: enough to fix a
// file in one go, not so many that a wrong file floods the answer.
const maxTrackerErrors = 50

// ReadTrackersCSV reads "imei,pilgrim,bag,kind" rows (columns in any order;
// pilgrim, bag and kind optional, with exactly one of pilgrim and bag per
// row; kind defaults to wristband for a pilgrim and luggage-tag for a bag).
// It checks what the file alone can tell — IMEI syntax and check digit,
// kinds, duplicates — and returns every problem (up to 50) as RowErrors
// joined, so that nothing is imported from a file with any error.
func ReadTrackersCSV(r io.Reader) ([]TrackerRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &RowError{Line: 1, Index: -1, Reason: "empty file: want a header imei,pilgrim,bag,kind"}
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "imei", "pilgrim", "bag", "kind":
			if _, dup := col[h]; dup {
				return nil, &RowError{Line: 1, Index: -1, Column: h, Reason: "column appears twice"}
			}
			col[h] = i
		default:
			return nil, &RowError{Line: 1, Index: -1, Column: h, Reason: "unknown column: want imei, pilgrim, bag, kind"}
		}
	}
	if _, ok := col["imei"]; !ok {
		return nil, &RowError{Line: 1, Index: -1, Column: "imei", Reason: "missing column"}
	}
	if _, p := col["pilgrim"]; !p {
		if _, b := col["bag"]; !b {
			return nil, &RowError{Line: 1, Index: -1, Column: "pilgrim", Reason: "missing column: want pilgrim or bag (or both)"}
		}
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []TrackerRow
	var errs []error
	fail := func(line int, column, format string, args ...any) {
		if len(errs) < maxTrackerErrors {
			errs = append(errs, &RowError{Line: line, Index: -1, Column: column, Reason: fmt.Sprintf(format, args...)})
		}
	}
	seen := map[string]int{} // IMEI -> line
	bags := map[string]int{} // bag -> line
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		row := TrackerRow{Line: line, IMEI: field(rec, "imei"), Pilgrim: field(rec, "pilgrim"), Bag: field(rec, "bag"),
			Kind: dalil.DeviceKind(strings.ToLower(field(rec, "kind")))}
		if err := CheckIMEI(row.IMEI); err != nil {
			fail(line, "imei", "%v", err)
		} else if prev, dup := seen[row.IMEI]; dup {
			fail(line, "imei", "IMEI %s is also on line %d", row.IMEI, prev)
		} else {
			seen[row.IMEI] = line
		}
		rawBag := row.Bag
		row.Bag = dalil.NormalizeTag(row.Bag)
		switch {
		case rawBag != "" && row.Bag == "":
			fail(line, "bag", "bag tag %q has no letters or digits", clip(rawBag))
		case (row.Pilgrim == "") == (row.Bag == ""):
			fail(line, "pilgrim", "give exactly one of pilgrim and bag")
		case row.Bag != "":
			if prev, dup := bags[row.Bag]; dup {
				fail(line, "bag", "bag %s already gets a tracker on line %d", row.Bag, prev)
			}
			bags[row.Bag] = line
		}
		switch {
		case row.Kind == "" && row.Bag != "":
			row.Kind = dalil.DeviceLuggageTag
		case row.Kind == "":
			row.Kind = dalil.DeviceWristband
		case row.Kind != dalil.DeviceWristband && row.Kind != dalil.DeviceLuggageTag:
			// The TCP tracker servers take only these two kinds' IMEIs.
			fail(line, "kind", "kind %q: a hardware tracker is a wristband or a luggage-tag", clip(string(row.Kind)))
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rows) == 0 {
		return nil, &RowError{Line: 2, Index: -1, Reason: "no trackers in the file"}
	}
	return rows, nil
}

// CheckIMEI accepts what trackers report as their id: 15-digit IMEIs (whose
// last digit is the Luhn check digit, which catches most typing errors) and
// the 10- to 17-digit device ids some H02 and GT06 trackers use instead.
func CheckIMEI(s string) error {
	if s == "" {
		return errors.New("IMEI is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("IMEI %q: digits only", clip(s))
		}
	}
	if len(s) < 10 || len(s) > 17 {
		return fmt.Errorf("IMEI %s: %d digits, want 15 (or a 10- to 17-digit tracker id)", clip(s), len(s))
	}
	if len(s) == 15 && luhnCheckDigit([]byte(s[:14])) != s[14] {
		return fmt.Errorf("IMEI %s: the check digit is wrong (a typing error?)", s)
	}
	return nil
}

// clip keeps a bad value short enough to quote in an error.
func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}
