package ingest

import "time"

// epochMillisThreshold separates epoch seconds from epoch milliseconds: 1e11 s
// is the year 5138 and 1e11 ms is March 1973, so no real fix is ambiguous.
// (Traccar's own cut is 2^31, which fails in 2038.)
const epochMillisThreshold = 1e11

// parseTimestamp reads epoch seconds ("1718351990", "1718351990.5"), epoch
// milliseconds ("1718351990123") or ISO-8601 ("2024-06-14T08:30:00Z",
// "2024-06-14 08:30:00", "2024-06-14T11:30:00.123+03:00"). A time without a
// zone is UTC. The result is in UTC.
func parseTimestamp(b []byte) (time.Time, bool) {
	b = trimSpace(b)
	if len(b) == 0 {
		return time.Time{}, false
	}
	if b[0] >= '0' && b[0] <= '9' && (len(b) < 5 || b[4] != '-') {
		return parseEpoch(b)
	}
	return parseISO(b)
}

// parseEpoch reads digits with an optional fraction as epoch seconds or, from
// epochMillisThreshold up, epoch milliseconds.
func parseEpoch(b []byte) (time.Time, bool) {
	intPart, fracPart := b, b[:0]
	for i, c := range b {
		if c == '.' {
			intPart, fracPart = b[:i], b[i+1:]
			break
		}
	}
	n, ok := parseUint(intPart)
	if !ok {
		return time.Time{}, false
	}
	// fraction of the unit, in units of 1e-9
	var frac int64
	scale := int64(100_000_000)
	for _, c := range fracPart {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		frac += int64(c-'0') * scale
		scale /= 10
	}
	if n < epochMillisThreshold {
		return time.Unix(n, frac).UTC(), true
	}
	return time.UnixMilli(n).Add(time.Duration(frac / 1_000_000)).UTC(), true
}

// parseISO reads YYYY-MM-DD[T ]hh:mm[:ss[.frac]][Z|±hh[:]mm|±hh]. A space
// before the offset is read as '+', because an unescaped '+' in a query string
// arrives as a space.
func parseISO(b []byte) (time.Time, bool) {
	if len(b) < 16 || b[4] != '-' || b[7] != '-' || b[13] != ':' {
		return time.Time{}, false
	}
	if sep := b[10]; sep != 'T' && sep != 't' && sep != ' ' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false
	}
	i, sec, nsec := 16, 0, 0
	if i < len(b) && b[i] == ':' {
		if i+3 > len(b) {
			return time.Time{}, false
		}
		var ok bool
		if sec, ok = digits(b[i+1 : i+3]); !ok {
			return time.Time{}, false
		}
		i += 3
		if i < len(b) && (b[i] == '.' || b[i] == ',') {
			i++
			start, scale := i, 100_000_000
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				nsec += int(b[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == start {
				return time.Time{}, false
			}
		}
	}
	offset := 0
	if i < len(b) {
		switch c := b[i]; c {
		case 'Z', 'z':
			i++
		case '+', '-', ' ':
			i++
			if i+2 > len(b) {
				return time.Time{}, false
			}
			oh, ok := digits(b[i : i+2])
			if !ok || oh > 23 {
				return time.Time{}, false
			}
			i += 2
			om := 0
			if i < len(b) && b[i] == ':' {
				i++
			}
			if i+2 <= len(b) {
				if om, ok = digits(b[i : i+2]); !ok || om > 59 {
					return time.Time{}, false
				}
				i += 2
			}
			offset = oh*3600 + om*60
			if c == '-' {
				offset = -offset
			}
		default:
			return time.Time{}, false
		}
	}
	if i != len(b) || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
