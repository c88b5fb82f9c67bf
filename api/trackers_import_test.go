package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// IMEIs with valid check digits.
const (
	imeiA1  = "356209100000014"
	imeiBag = "356209100000022"
	imeiB1  = "356209100000030"
)

func TestTrackersImport(t *testing.T) {
	f := newFixture(t)
	if code, b := f.do("POST", "/v1/luggage", "operator", `{"tag":"BG-9","owner":"a1","description":"blue bag"}`); code != http.StatusCreated {
		t.Fatalf("register bag: %d %s", code, b)
	}
	csv := "imei,pilgrim,bag,kind\n" + imeiA1 + ",a1,,\n" + imeiBag + ",,BG-9,\n"

	// Only an admin imports.
	if code, b := f.do("POST", "/v1/trackers/import", "operator", csv); code != http.StatusForbidden {
		t.Fatalf("operator import: %d %s", code, b)
	}
	// A dry run writes nothing.
	code, b := f.do("POST", "/v1/trackers/import?dry_run=1", "admin", csv)
	if code != http.StatusOK || !strings.Contains(string(b), `"dry_run":true`) {
		t.Fatalf("dry run: %d %s", code, b)
	}
	if _, ok := f.srv.registry.Device(imeiA1); ok {
		t.Fatal("the dry run registered a tracker")
	}
	for range 2 { // the same file twice: the second changes nothing
		var ans TrackersImported
		code, b = f.do("POST", "/v1/trackers/import", "admin", csv)
		if code != http.StatusOK || json.Unmarshal(b, &ans) != nil || ans != (TrackersImported{Imported: 2, Pilgrims: 1, Bags: 1}) {
			t.Fatalf("import: %d %s", code, b)
		}
	}
	if d, ok := f.srv.registry.Device(imeiA1); !ok || d.Pilgrim != "a1" || d.Kind != "wristband" {
		t.Fatalf("a1's tracker %+v", d)
	}
	if d, ok := f.srv.registry.Device(imeiBag); !ok || d.Luggage != "BG9" || d.Kind != "luggage-tag" {
		t.Fatalf("bag tracker %+v", d)
	}
	var bag BagView
	f.getJSON("/v1/luggage/BG9", "operator", &bag)
	if bag.LuggageItem.Tracker != imeiBag || bag.Description != "blue bag" {
		t.Fatalf("bag %+v", bag.LuggageItem)
	}
	var pv PilgrimView
	f.getJSON("/v1/pilgrims/a1", "operator", &pv)
	if len(pv.Devices) != 2 {
		t.Fatalf("a1's devices %+v, want the phone and the wristband", pv.Devices)
	}
	code, b = f.do("GET", "/v1/audit", "admin", "")
	if code != http.StatusOK || !strings.Contains(string(b), "trackers.import") {
		t.Fatalf("audit: %d %s", code, b)
	}
}

// One bad row refuses the whole file, with every problem's line.
func TestTrackersImportAllOrNothing(t *testing.T) {
	f := newFixture(t)
	if code, b := f.do("POST", "/v1/trackers/import", "admin", "imei,pilgrim\n"+imeiA1+",a1\n"); code != http.StatusOK {
		t.Fatalf("first import: %d %s", code, b)
	}
	csv := "imei,pilgrim,bag\n" +
		imeiB1 + ",b1,\n" + // fine on its own
		imeiA1 + ",b2,\n" + // already a1's
		"356209100000048,nobody,\n" + // no such pilgrim
		"356209100000055,,NO-BAG\n" + // no such bag
		"123456789,b2,\n" // 9 digits
	code, b := f.do("POST", "/v1/trackers/import", "admin", csv)
	var ans struct {
		Error  string         `json:"error"`
		Errors []trackerError `json:"errors"`
	}
	if code != http.StatusBadRequest || json.Unmarshal(b, &ans) != nil {
		t.Fatalf("bad file: %d %s", code, b)
	}
	// The file's own errors come first; the registry is checked once the file is clean.
	if len(ans.Errors) != 1 || ans.Errors[0].Line != 6 || ans.Errors[0].Column != "imei" {
		t.Fatalf("errors %+v", ans.Errors)
	}
	csv = strings.Replace(csv, "123456789,", "356209100000063,", 1)
	code, b = f.do("POST", "/v1/trackers/import", "admin", csv)
	ans.Errors = nil
	if code != http.StatusBadRequest || json.Unmarshal(b, &ans) != nil {
		t.Fatalf("bad file: %d %s", code, b)
	}
	lines := map[int]string{}
	for _, e := range ans.Errors {
		lines[e.Line] = e.Column + ": " + e.Reason
	}
	if len(lines) != 3 || !strings.Contains(lines[3], "already registered to pilgrim a1") ||
		!strings.Contains(lines[4], "no pilgrim") || !strings.Contains(lines[5], "no bag") {
		t.Fatalf("errors %+v", ans.Errors)
	}
	if !strings.HasPrefix(ans.Error, "3 problem(s) in the CSV, nothing was imported; first: line 3, column imei") {
		t.Errorf("error %q", ans.Error)
	}
	if _, ok := f.srv.registry.Device(imeiB1); ok {
		t.Fatal("a row of a refused file was imported")
	}
}
