package helpdesk

import (
	"dalil"

	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizePhone reduces a phone number in any formatting to one key:
// "+880 1712-345678", "8801712345678", "01712345678" and "1712345678" all
// become "1712345678". It strips every non-digit, the international prefix
// ("00" or "+"), the country code of Bangladesh (880) or Saudi Arabia (966)
// and the national trunk zero. It returns "" when fewer than 6 digits remain.
func NormalizePhone(s string) string {
	var buf [32]byte
	d := buf[:0]
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			if len(d) == cap(d) {
				return "" // far too long to be a phone number
			}
			d = append(d, c)
		}
	}
	if len(d) >= 2 && d[0] == '0' && d[1] == '0' {
		d = d[2:]
	}
	switch {
	case len(d) == 13 && string(d[:3]) == "880": // +880 1XXXXXXXXX
		d = d[3:]
	case len(d) == 14 && string(d[:4]) == "8800": // +880 01XXXXXXXXX
		d = d[4:]
	case len(d) == 12 && string(d[:3]) == "966": // +966 5XXXXXXXX
		d = d[3:]
	case len(d) == 13 && string(d[:4]) == "9660":
		d = d[4:]
	}
	for len(d) > 0 && d[0] == '0' {
		d = d[1:]
	}
	if len(d) < 6 {
		return ""
	}
	return string(d)
}

// looksLikePhone reports whether a query is made of phone characters only.
func looksLikePhone(q string) bool {
	digits := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' || c == ' ' || c == '-' || c == '(' || c == ')' || c == '.':
		default:
			return false
		}
	}
	return digits >= 6
}

// normalizeIDKey reduces a PID, tracking number or passport number to upper
// case letters and digits: "pid-0012 345" and "PID0012345" are one key.
func normalizeIDKey(s string) string { return dalil.NormalizeID(s) }

// nameVariants maps spellings of the same name, as transliterated from Bangla
// or Arabic, to one canonical token. Keys are already lower case ASCII letters.
var nameVariants = map[string]string{
	"md": "muhammad", "mohammad": "muhammad", "mohammed": "muhammad", "muhammed": "muhammad",
	"mohamed": "muhammad", "mohamad": "muhammad", "muhamad": "muhammad", "mohd": "muhammad",
	"muhammod": "muhammad", "mohammod": "muhammad", "mahmmad": "muhammad", "mohammud": "muhammad",
	"mhd": "muhammad", "mohmmad": "muhammad", "muhammet": "muhammad",
	"abdur": "abdul", "abdus": "abdul", "abdul": "abdul", "abdel": "abdul", "abd": "abdul", "abdal": "abdul",
	"rehman": "rahman", "rahaman": "rahman", "rahmaan": "rahman", "rohman": "rahman",
	"hussain": "hossain", "hosain": "hossain", "husain": "hossain", "hossen": "hossain", "hossein": "hossain",
	"hussein": "hossain", "husein": "hossain", "hosen": "hossain", "hussen": "hossain",
	"ahmad": "ahmed", "ahmod": "ahmed", "ahamed": "ahmed", "ahammed": "ahmed", "ahmmed": "ahmed",
	"akhter": "akter", "aktar": "akter", "akhtar": "akter", "akther": "akter", "aktér": "akter",
	"khatoon": "khatun", "khatum": "khatun",
	"begam": "begum", "bagum": "begum",
	"uddeen": "uddin", "udin": "uddin", "uddein": "uddin", "ud-din": "uddin",
	"chowdhury": "chowdhury", "chowdhuri": "chowdhury", "choudhury": "chowdhury", "chaudhry": "chowdhury",
	"chaudhury": "chowdhury", "chowdury": "chowdhury", "choudhuri": "chowdhury",
	"sheikh": "sheikh", "shaikh": "sheikh", "shaykh": "sheikh", "sk": "sheikh", "shekh": "sheikh",
	"miah": "mia", "mian": "mia", "miya": "mia", "meah": "mia",
	"karim": "karim", "kareem": "karim", "rahim": "rahim", "raheem": "rahim", "rohim": "rahim",
	"noor": "nur", "nure": "nur", "hassan": "hasan", "hasaan": "hasan",
	"islam": "islam", "eslam": "islam", "esllam": "islam",
	"fatema": "fatima", "fathima": "fatima", "fatama": "fatima",
	"ayesha": "aisha", "aysha": "aisha", "ayisha": "aisha", "aesha": "aisha",
	"jahid": "zahid", "zaheed": "zahid", "jaheed": "zahid",
	"yusuf": "yusuf", "yousuf": "yusuf", "yousef": "yusuf", "eusuf": "yusuf", "iusuf": "yusuf",
	"ibrahim": "ibrahim", "ebrahim": "ibrahim", "ibraheem": "ibrahim",
	"ismail": "ismail", "esmail": "ismail", "ismael": "ismail",
	"mostafa": "mustafa", "mustofa": "mustafa", "mostofa": "mustafa",
	"mahmud": "mahmud", "mahmood": "mahmud", "mahmood'": "mahmud", "mahamud": "mahmud",
	"salam": "salam", "salaam": "salam", "kader": "kadir", "quader": "kadir", "qadir": "kadir",
	"kabir": "kabir", "kobir": "kabir", "latif": "latif", "lotif": "latif",
	"alam": "alam", "aalam": "alam", "aziz": "aziz", "azeez": "aziz",
}

// nameTokens splits a name into search tokens and calls fn with each one.
// Latin script is folded to lower case ASCII (diacritics dropped, dots and
// apostrophes removed) and mapped through nameVariants; joined forms such as
// "Abdurrahman" are split ("abdul", "rahman"). Other scripts (Bangla) are
// NFC-normalised and kept as they are.
func nameTokens(s string, fn func(tok string)) {
	if !isLatinToken(s) {
		s = norm.NFKD.String(s)
	}
	var cur []byte
	latin := true
	flush := func() {
		if len(cur) == 0 {
			return
		}
		tok := string(cur)
		cur = cur[:0]
		if !latin {
			fn(norm.NFC.String(tok))
			latin = true
			return
		}
		emitLatin(tok, fn)
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
				cur = append(cur, byte(r))
			case r >= 'A' && r <= 'Z':
				cur = append(cur, byte(r-'A'+'a'))
			case r == '.' || r == '\'' || r == '`':
				// "Md." and "D'Souza": a dot or apostrophe belongs to the token,
				// and "Md.Rahim" still splits at the dot below.
				if r == '.' {
					flush()
				}
			default:
				flush()
			}
		case unicode.Is(unicode.Mn, r) && latin && len(cur) > 0 && isASCII(cur):
			// A combining accent on a Latin letter (é = e + ´): drop it.
		case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || unicode.IsDigit(r):
			if latin && len(cur) > 0 && isASCII(cur) {
				flush()
			}
			latin = false
			cur = utf8.AppendRune(cur, r)
		default:
			flush()
		}
	}
	flush()
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// joinedPrefixes are name parts that are often written joined to the next
// one: "Abdurrahman", "Abdulkarim" → "abdul rahman", "abdul karim".
var joinedPrefixes = []string{"abdur", "abdul", "abdus"}

// notJoined are names that start like a joined pair but are one name.
var notJoined = map[string]bool{"abdullah": true, "abdulla": true, "abdulah": true}

func emitLatin(tok string, fn func(string)) {
	if !notJoined[tok] {
		for _, p := range joinedPrefixes {
			if len(tok) >= len(p)+4 && strings.HasPrefix(tok, p) {
				fn("abdul")
				emitLatin(tok[len(p):], fn)
				return
			}
		}
	}
	if c, ok := nameVariants[tok]; ok {
		fn(c)
		return
	}
	fn(tok)
}

// isLatinToken reports whether a token came from Latin script.
func isLatinToken(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
