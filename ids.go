package dalil

import "strings"

// NormalizeID reduces a PID, tracking number or passport number to upper
// case letters and digits: "pid-0012 345" and "PID0012345" are one key.
func NormalizeID(s string) string {
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		c := s[i]
		clean = c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		}
	}
	return b.String()
}

// NormalizeTag reduces a luggage tag number to upper case letters and digits,
// the way tags are printed and scanned ("bg 123-456" = "BG123456").
func NormalizeTag(s string) string { return NormalizeID(s) }
