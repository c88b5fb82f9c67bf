package registry

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"dalil"
)

// The pilgrim registry CSV (documented in docs/registry.md): UTF-8, comma
// separated, a header naming the columns in any order, one row per pilgrim.
// pid and name_en are required; every other column is optional.
const (
	colPID         = "pid"
	colTrackingNo  = "tracking_no"
	colPassport    = "passport"
	colNameEN      = "name_en"
	colNameBN      = "name_bn"
	colGender      = "gender"
	colBirthYear   = "birth_year"
	colPhone       = "phone"
	colNationality = "nationality"
	colAgency      = "agency"
	colGroup       = "group"
	colGuidePID    = "guide_pid"
	colMahramPID   = "mahram_pid"
	colCamp        = "camp"
	colTent        = "tent"
	colDevices     = "devices"
)

// PilgrimCSVHeader returns the columns WritePilgrimsCSV writes, in order.
func PilgrimCSVHeader() []string {
	return []string{colPID, colTrackingNo, colPassport, colNameEN, colNameBN, colGender, colBirthYear,
		colPhone, colNationality, colAgency, colGroup, colGuidePID, colMahramPID, colCamp, colTent, colDevices}
}

const minBirthYear = 1900

func maxBirthYear() int { return time.Now().Year() }

// ReadPilgrimsCSV reads a pilgrim registry CSV. It reads the whole file and
// returns the first fault as a *RowError naming the line, the column and the
// reason; it returns no pilgrims then. Groups are derived from the group,
// agency and guide_pid columns (members of one group must agree on them).
func ReadPilgrimsCSV(r io.Reader) ([]Pilgrim, []Group, error) {
	ps, gs, _, err := ReadPilgrimsCSVLines(r)
	return ps, gs, err
}

// ReadPilgrimsCSVLines is ReadPilgrimsCSV that also returns the line each
// pilgrim was read from, so that a later error naming a pilgrim's position
// (Import's *RowError.Index) can be reported by line.
func ReadPilgrimsCSVLines(r io.Reader) ([]Pilgrim, []Group, []int, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, nil, &RowError{Line: 1, Index: -1, Reason: "empty file: no header"}
	}
	if err != nil {
		return nil, nil, nil, csvError(err)
	}
	cols, err := pilgrimColumns(header)
	if err != nil {
		return nil, nil, nil, err
	}

	var (
		ps       []Pilgrim
		lines    []int
		pidLine  = make(map[string]int)
		devOwner = make(map[string]int) // device -> index of the claiming pilgrim
		groups   []Group
		groupAt  = make(map[string]int) // group id -> index in groups
		groupLn  = make(map[string]int) // group id -> line that defined it
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		fail := func(col, format string, args ...any) error {
			if i, ok := cols.index[col]; ok {
				line, _ = cr.FieldPos(i)
			}
			pid := ""
			if i, ok := cols.index[colPID]; ok {
				pid = strings.TrimSpace(rec[i])
			}
			return &RowError{Line: line, Index: len(ps), PID: pid, Column: col, Reason: fmt.Sprintf(format, args...)}
		}
		for i, v := range rec {
			if strings.ContainsAny(v, "\r\n") {
				return nil, nil, nil, fail(cols.names[i], "line break inside the field")
			}
		}
		get := func(col string) string {
			if i, ok := cols.index[col]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}

		p := Pilgrim{
			PID:         get(colPID),
			TrackingNo:  get(colTrackingNo),
			Passport:    strings.ToUpper(get(colPassport)),
			NameEN:      get(colNameEN),
			NameBN:      get(colNameBN),
			Phone:       get(colPhone),
			Nationality: strings.ToUpper(get(colNationality)),
			Agency:      get(colAgency),
			Group:       get(colGroup),
			GuidePID:    get(colGuidePID),
			MahramPID:   get(colMahramPID),
			Camp:        get(colCamp),
			Tent:        get(colTent),
		}
		if p.PID == "" {
			return nil, nil, nil, fail(colPID, "empty PID")
		}
		if err := checkIDText(p.PID); err != nil {
			return nil, nil, nil, fail(colPID, "PID %q: %v", p.PID, err)
		}
		if first, dup := pidLine[p.PID]; dup {
			return nil, nil, nil, fail(colPID, "duplicate PID %q (first on line %d)", p.PID, first)
		}
		if p.NameEN == "" {
			return nil, nil, nil, fail(colNameEN, "empty English name")
		}
		g, err := parseGender(get(colGender))
		if err != nil {
			return nil, nil, nil, fail(colGender, "%v", err)
		}
		p.Gender = g
		if s := get(colBirthYear); s != "" {
			y, err := strconv.Atoi(s)
			if err != nil || y < minBirthYear || y > maxBirthYear() {
				return nil, nil, nil, fail(colBirthYear, "bad birth year %q: want a year between %d and %d", s, minBirthYear, maxBirthYear())
			}
			p.BirthYear = y
		}
		if p.Phone != "" {
			if err := checkPhone(p.Phone); err != nil {
				return nil, nil, nil, fail(colPhone, "phone %q: %v", p.Phone, err)
			}
		}
		for _, c := range []struct{ col, v string }{{colGroup, p.Group}, {colGuidePID, p.GuidePID},
			{colMahramPID, p.MahramPID}, {colCamp, p.Camp}, {colTent, p.Tent}} {
			if c.v == "" {
				continue
			}
			if err := checkIDText(c.v); err != nil {
				return nil, nil, nil, fail(c.col, "%q: %v", c.v, err)
			}
		}
		if p.MahramPID == p.PID {
			return nil, nil, nil, fail(colMahramPID, "a pilgrim cannot be their own mahram")
		}
		if p.Camp != "" && p.Tent != "" {
			if camp, _, ok := strings.Cut(p.Tent, "/"); ok && camp != p.Camp {
				return nil, nil, nil, fail(colTent, "tent %q is not in camp %q", p.Tent, p.Camp)
			}
		}
		for _, ref := range strings.Split(get(colDevices), ";") {
			ref = strings.TrimSpace(ref)
			if ref == "" {
				continue
			}
			id, kind, err := ParseDeviceRef(ref)
			if err != nil {
				return nil, nil, nil, fail(colDevices, "%v", err)
			}
			if j, dup := devOwner[id]; dup {
				if j == len(ps) {
					return nil, nil, nil, fail(colDevices, "device %q listed twice", id)
				}
				return nil, nil, nil, fail(colDevices, "device %q is also claimed by pid %s on line %d", id, ps[j].PID, lines[j])
			}
			devOwner[id] = len(ps)
			p.Devices = append(p.Devices, id)
			p.DeviceKinds = append(p.DeviceKinds, kind)
		}
		if p.Group != "" {
			if gi, ok := groupAt[p.Group]; ok {
				grp := &groups[gi]
				if p.Agency != grp.Agency {
					return nil, nil, nil, fail(colAgency, "agency %q differs from %q given for group %s on line %d", p.Agency, grp.Agency, p.Group, groupLn[p.Group])
				}
				if p.GuidePID != "" && grp.GuidePID != "" && p.GuidePID != grp.GuidePID {
					return nil, nil, nil, fail(colGuidePID, "guide %q differs from %q given for group %s on line %d", p.GuidePID, grp.GuidePID, p.Group, groupLn[p.Group])
				}
				if grp.GuidePID == "" {
					grp.GuidePID = p.GuidePID
				}
			} else {
				groupAt[p.Group] = len(groups)
				groupLn[p.Group] = line
				groups = append(groups, Group{ID: p.Group, Agency: p.Agency, GuidePID: p.GuidePID})
			}
		}
		pidLine[p.PID] = line
		ps = append(ps, p)
		lines = append(lines, line)
	}
	return ps, groups, lines, nil
}

type csvColumns struct {
	names []string
	index map[string]int
}

func pilgrimColumns(header []string) (csvColumns, error) {
	known := make(map[string]bool)
	for _, c := range PilgrimCSVHeader() {
		known[c] = true
	}
	cols := csvColumns{names: make([]string, len(header)), index: make(map[string]int, len(header))}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheet byte-order mark
		}
		h = strings.ToLower(strings.TrimSpace(h))
		cols.names[i] = h
		switch {
		case h == "":
			return cols, &RowError{Line: 1, Index: -1, Reason: fmt.Sprintf("header column %d is empty", i+1)}
		case !known[h]:
			return cols, &RowError{Line: 1, Index: -1, Column: h, Reason: fmt.Sprintf("unknown column %q (known: %s)", h, strings.Join(PilgrimCSVHeader(), ", "))}
		}
		if _, dup := cols.index[h]; dup {
			return cols, &RowError{Line: 1, Index: -1, Column: h, Reason: fmt.Sprintf("column %q appears twice", h)}
		}
		cols.index[h] = i
	}
	for _, req := range []string{colPID, colNameEN} {
		if _, ok := cols.index[req]; !ok {
			return cols, &RowError{Line: 1, Index: -1, Column: req, Reason: fmt.Sprintf("required column %q is missing", req)}
		}
	}
	return cols, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		reason := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			reason = "wrong number of fields (the header has a different count)"
		}
		line := pe.StartLine // where the bad record starts, not where the reader gave up
		if line == 0 {
			line = pe.Line
		}
		return &RowError{Line: line, Index: -1, Reason: reason}
	}
	return err
}

func parseGender(s string) (string, error) {
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "m", "male":
		return "M", nil
	case "f", "female":
		return "F", nil
	}
	return "", fmt.Errorf("gender %q is not M or F", s)
}

// checkPhone accepts a phone number in any common formatting: digits with an
// optional leading +, spaces, dashes, dots and parentheses; 6 to 15 digits.
func checkPhone(s string) error {
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return fmt.Errorf("unexpected %q", c)
		}
	}
	if digits < 6 || digits > 15 {
		return fmt.Errorf("%d digits, want 6 to 15", digits)
	}
	return nil
}

// ParseDeviceRef parses one entry of the devices column: "[kind:]id". The
// kinds are phone, wristband (or band) and tag (or luggage-tag, a luggage
// tag); an entry without a prefix is a phone.
func ParseDeviceRef(ref string) (id string, kind dalil.DeviceKind, err error) {
	kind = dalil.DevicePhone
	id = ref
	if prefix, rest, ok := strings.Cut(ref, ":"); ok {
		switch strings.ToLower(strings.TrimSpace(prefix)) {
		case "phone":
			kind = dalil.DevicePhone
		case "wristband", "band":
			kind = dalil.DeviceWristband
		case "tag", "luggage-tag", "luggage":
			kind = dalil.DeviceLuggageTag
		default:
			return "", "", fmt.Errorf("device %q: unknown kind %q (want phone, wristband or tag)", ref, prefix)
		}
		id = strings.TrimSpace(rest)
	}
	if err := checkIDText(id); err != nil {
		return "", "", fmt.Errorf("device %q: id %v", ref, err)
	}
	return id, kind, nil
}

// FormatDeviceRef is the inverse of ParseDeviceRef.
func FormatDeviceRef(id string, kind dalil.DeviceKind) string {
	switch kind {
	case dalil.DeviceWristband:
		return "wristband:" + id
	case dalil.DeviceLuggageTag:
		return "tag:" + id
	}
	return "phone:" + id
}

// WritePilgrimsCSV writes pilgrims in the registry CSV format, header first.
func WritePilgrimsCSV(w io.Writer, ps []Pilgrim) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(PilgrimCSVHeader()); err != nil {
		return err
	}
	row := make([]string, len(PilgrimCSVHeader()))
	var devs strings.Builder
	for i := range ps {
		p := &ps[i]
		devs.Reset()
		for k, id := range p.Devices {
			if k > 0 {
				devs.WriteByte(';')
			}
			kind := dalil.DevicePhone
			if k < len(p.DeviceKinds) && p.DeviceKinds[k] != "" {
				kind = p.DeviceKinds[k]
			}
			devs.WriteString(FormatDeviceRef(id, kind))
		}
		by := ""
		if p.BirthYear != 0 {
			by = strconv.Itoa(p.BirthYear)
		}
		row = append(row[:0], p.PID, p.TrackingNo, p.Passport, p.NameEN, p.NameBN, p.Gender, by,
			p.Phone, p.Nationality, p.Agency, p.Group, p.GuidePID, p.MahramPID, p.Camp, p.Tent, devs.String())
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
