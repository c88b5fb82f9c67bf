package helpdesk

import (
	"fmt"
	"testing"
	"time"

	"dalil"
	"dalil/geo"
	"dalil/registry"
)

func searchFixture() []registry.Pilgrim {
	return []registry.Pilgrim{
		{PID: "PID-1001", TrackingNo: "TRK778899", Passport: "EB0123456", NameEN: "Md. Abdur Rahman", NameBN: "মোঃ আব্দুর রহমান",
			Phone: "+880 1712-345678", Group: "G1", Agency: "Al-Noor Travels", Camp: "mina-094", Tent: "mina-094/3"},
		{PID: "PID-1002", NameEN: "Mohammed Karim Uddin", NameBN: "মোহাম্মদ করিম উদ্দিন", Phone: "01812000111", Group: "G1", Camp: "mina-094", Tent: "mina-094/4"},
		{PID: "PID-1003", NameEN: "Fatema Begum", NameBN: "ফাতেমা বেগম", Phone: "01912000222", Group: "G2", Camp: "mina-095", Tent: "mina-095/1"},
		{PID: "PID-1004", NameEN: "Abdul Rehman Chowdhury", NameBN: "আব্দুল রহমান চৌধুরী", Group: "G2", Camp: "mina-095", Tent: "mina-095/2"},
		{PID: "PID-1005", NameEN: "Rahima Khatun", NameBN: "রহিমা খাতুন", Passport: "EC7654321", Group: "G3"},
		{PID: "PID-1006", NameEN: "Abdurrahman Sarkar", Group: "G3"},
		{PID: "PID-1007", NameEN: "Nurjahan Akhter", NameBN: "নূরজাহান আক্তার", Group: "G3"},
	}
}

type searchLiveStub map[string]dalil.LiveState

func (f searchLiveStub) Pilgrim(pid string) (dalil.LiveState, bool) { s, ok := f[pid]; return s, ok }

func pidsOf(hits []SearchHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.PID
	}
	return out
}

func TestSearchIdentifiers(t *testing.T) {
	ix := NewSearchIndex(newMapSource(searchFixture()), nil)
	cases := []struct {
		q     string
		pid   string
		match Match
	}{
		{"PID-1001", "PID-1001", MatchPID},
		{"pid 1001", "PID-1001", MatchPID},
		{"trk778899", "PID-1001", MatchTrackingNo},
		{"EC7654321", "PID-1005", MatchPassport},
		{"+8801712345678", "PID-1001", MatchPhone},
		{"8801712345678", "PID-1001", MatchPhone},
		{"01712-345678", "PID-1001", MatchPhone},
		{"017 1234 5678", "PID-1001", MatchPhone},
		{"00880 1812 000111", "PID-1002", MatchPhone},
	}
	for _, c := range cases {
		hits := ix.Search(c.q, 5)
		if len(hits) == 0 || hits[0].PID != c.pid || hits[0].Match != c.match {
			t.Errorf("Search(%q) = %+v, want first %s by %s", c.q, hits, c.pid, c.match)
		}
	}
	if hits := ix.Search("PID-9999", 5); len(hits) != 0 {
		t.Errorf("unknown PID found %v", pidsOf(hits))
	}
}

func TestSearchNames(t *testing.T) {
	ix := NewSearchIndex(newMapSource(searchFixture()), nil)
	cases := []struct {
		q     string
		first string
		also  []string
	}{
		{"Muhammad Abdul Rahman", "PID-1001", nil},                     // transliteration variants of Md. Abdur Rahman
		{"Mohamed Karim", "PID-1002", nil},                             // Mohammed = Mohamed
		{"karim udin", "PID-1002", nil},                                // Uddin misspelt
		{"Fatima Begam", "PID-1003", nil},                              // both parts as variants
		{"Fatmea Begum", "PID-1003", nil},                              // transposed letters
		{"Abdul Rahman", "PID-1006", []string{"PID-1001", "PID-1004"}}, // Abdurrahman joined
		{"Rahman Chowdhuri", "PID-1004", nil},
		{"Rahima Katun", "PID-1005", nil},           // a letter missing
		{"nurjah", "PID-1007", nil},                 // prefix while typing
		{"রহমান", "PID-1004", []string{"PID-1001"}}, // Bangla word
		{"নূরজা", "PID-1007", nil},                  // Bangla prefix
		{"জাহান", "PID-1007", nil},                  // Bangla substring
		{"Rahima Khatun Xyzzy", "PID-1005", nil},    // one wrong word is tolerated
	}
	for _, c := range cases {
		hits := ix.Search(c.q, 10)
		got := pidsOf(hits)
		if len(got) == 0 || (got[0] != c.first && !hasString(c.also, got[0])) {
			t.Errorf("Search(%q) = %v, want %s first", c.q, got, c.first)
			continue
		}
		for _, want := range append([]string{c.first}, c.also...) {
			if !hasString(got, want) {
				t.Errorf("Search(%q) = %v, missing %s", c.q, got, want)
			}
		}
		for _, h := range hits {
			if h.Match != MatchName {
				t.Errorf("Search(%q): hit %s matched %s, want name", c.q, h.PID, h.Match)
			}
		}
	}
	// A name search must not drag in unrelated people.
	if got := pidsOf(ix.Search("Fatema Begum", 10)); len(got) != 1 {
		t.Errorf("Fatema Begum matched %v, want only PID-1003", got)
	}
	if got := ix.Search("Qwertyuiop", 10); len(got) != 0 {
		t.Errorf("nonsense matched %v", pidsOf(got))
	}
}

func hasString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestSearchRanking(t *testing.T) {
	ps := searchFixture()
	// Someone whose name is another's phone-looking PID must still rank the
	// identifier first; and an exact name beats a longer one.
	ps = append(ps, registry.Pilgrim{PID: "PID-2001", NameEN: "Karim Uddin"}, registry.Pilgrim{PID: "PID-2002", NameEN: "Karim Uddin Bhuiyan Molla"})
	ix := NewSearchIndex(newMapSource(ps), nil)
	got := pidsOf(ix.Search("Karim Uddin", 10))
	if len(got) < 3 || got[0] != "PID-2001" {
		t.Fatalf("Karim Uddin ranked %v, want PID-2001 (exact) first", got)
	}
	hits := ix.Search("Karim Uddin", 10)
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Fatalf("hits not ranked by score: %+v", hits)
		}
	}
	// Exact id beats a name, phone beats a name.
	ix2 := NewSearchIndex(newMapSource([]registry.Pilgrim{
		{PID: "RAHIM", NameEN: "Someone Else"},
		{PID: "X1", NameEN: "Rahim Mia"},
	}), nil)
	got = pidsOf(ix2.Search("rahim", 10))
	if len(got) != 2 || got[0] != "RAHIM" {
		t.Fatalf("rahim ranked %v, want the PID match first", got)
	}
}

func TestSearchUpdates(t *testing.T) {
	src := newMapSource(searchFixture())
	ix := NewSearchIndex(src, nil)
	p, _ := src.Pilgrim("PID-1003")
	p.NameEN = "Fatema Khatun"
	p.Phone = "01555000999"
	src.put(p)
	ix.Upsert(p)
	for _, h := range ix.Search("Fatema Begum", 10) {
		if h.PID == "PID-1003" && h.Score >= 700 {
			t.Errorf("old name still matches fully: %+v", h)
		}
	}
	if got := pidsOf(ix.Search("Fatema Khatun", 10)); len(got) == 0 || got[0] != "PID-1003" {
		t.Errorf("new name not found: %v", got)
	}
	if got := pidsOf(ix.Search("01912000222", 10)); len(got) != 0 {
		t.Errorf("old phone still found: %v", got)
	}
	if got := pidsOf(ix.Search("+880 1555 000999", 10)); len(got) != 1 || got[0] != "PID-1003" {
		t.Errorf("new phone not found: %v", got)
	}
	newP := registry.Pilgrim{PID: "PID-3000", NameEN: "Zubayer Hamdan", NameBN: "জুবায়ের"}
	src.put(newP)
	ix.Upsert(newP)
	if got := pidsOf(ix.Search("zubayer hamdan", 10)); len(got) != 1 {
		t.Errorf("new pilgrim not found: %v", got)
	}
	if got := pidsOf(ix.Search("zubayr", 10)); len(got) != 1 {
		t.Errorf("new term not reachable by typo: %v", got)
	}
	if got := pidsOf(ix.Search("জুবা", 10)); len(got) != 1 {
		t.Errorf("new Bangla term not reachable by prefix: %v", got)
	}
	ix.Remove("PID-3000")
	if got := ix.Search("PID-3000", 10); len(got) != 0 {
		t.Errorf("removed pilgrim still found")
	}
	if n := ix.Len(); n != len(searchFixture()) {
		t.Errorf("Len = %d, want %d", n, len(searchFixture()))
	}
	ix.Rebuild()
	if got := pidsOf(ix.Search("Fatema Khatun", 10)); len(got) == 0 || got[0] != "PID-1003" {
		t.Errorf("after rebuild: %v", got)
	}
}

func TestSearchLastSeen(t *testing.T) {
	at := time.Date(2025, 6, 5, 14, 0, 0, 0, time.UTC)
	live := searchLiveStub{"PID-1001": {Pilgrim: "PID-1001", Position: dalil.Position{Time: at}, Location: geo.Location{Camp: "mina-101", Tent: "mina-101/7"}}}
	ix := NewSearchIndex(newMapSource(searchFixture()), live)
	h := ix.Search("PID-1001", 1)
	if len(h) != 1 || !h[0].LastSeen.Equal(at) || h[0].SeenCamp != "mina-101" || h[0].Camp != "mina-094" || h[0].Tent != "mina-094/3" {
		t.Fatalf("hit = %+v", h)
	}
}

func TestSearchGenerated(t *testing.T) {
	ps := genSearchPilgrims(20_000, 1)
	ix := NewSearchIndex(newMapSource(ps), nil)
	for _, i := range []int{0, 777, 19_999} {
		p := ps[i]
		if h := ix.Search(p.Passport, 3); len(h) == 0 || h[0].PID != p.PID {
			t.Errorf("passport %s: %v", p.Passport, pidsOf(h))
		}
		if h := ix.Search(p.Phone, 3); len(h) == 0 || h[0].PID != p.PID {
			t.Errorf("phone %s: %v", p.Phone, pidsOf(h))
		}
		h := ix.Search(p.NameEN, 20)
		if len(h) == 0 {
			t.Fatalf("name %q found nothing", p.NameEN)
		}
		// Common names have many holders; hits with exactly the name's parts
		// (up to transliteration) must come before any longer name.
		want := tokenSet(p.NameEN)
		exact := true
		for _, x := range h {
			same := sameSet(tokenSet(x.NameEN), want)
			if same && !exact {
				t.Errorf("name %q: exact holder %s ranked below another name: %+v", p.NameEN, x.PID, h)
				break
			}
			exact = exact && same
		}
		if !sameSet(tokenSet(h[0].NameEN), want) {
			t.Errorf("name %q: best hit %q", p.NameEN, h[0].NameEN)
		}
	}
}

func tokenSet(name string) map[string]bool {
	m := map[string]bool{}
	nameTokens(name, func(t string) { m[t] = true })
	return m
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+880 1712-345678": "1712345678", "8801712345678": "1712345678", "01712345678": "1712345678",
		"(017) 1234 5678": "1712345678", "+966 50 123 4567": "501234567", "0501234567": "501234567",
		"12345": "", "": "",
	} {
		if got := NormalizePhone(in); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		max  int
		want int
	}{
		{"rahim", "rahim", 2, 0}, {"rahim", "rahin", 2, 1}, {"fatema", "fatmea", 2, 1},
		{"karim", "krim", 2, 1}, {"abc", "xyz", 2, 3}, {"রহমান", "রহমন", 1, 1},
	} {
		if got := editDistance(c.a, c.b, c.max); got != c.want {
			t.Errorf("editDistance(%q,%q,%d) = %d, want %d", c.a, c.b, c.max, got, c.want)
		}
	}
}

func FuzzSearch(f *testing.F) {
	for _, s := range []string{"Md. Abdur Rahman", "+880 1712", "রহমান", "PID-1001", "", "ab", "a\x00\xff", "মোঃ"} {
		f.Add(s)
	}
	ix := NewSearchIndex(newMapSource(searchFixture()), nil)
	f.Fuzz(func(t *testing.T, q string) {
		hits := ix.Search(q, 5)
		if len(hits) > 5 {
			t.Fatalf("%d hits over the limit", len(hits))
		}
		for _, h := range hits {
			if _, ok := ix.src.Pilgrim(h.PID); !ok {
				t.Fatalf("hit %s not in the source", h.PID)
			}
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+880 1712-345678", "00966501234567", "Md.Abdur-Rahman", "মোঃ আব্দুর", "Ébrahim", "abdurrahman", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p := NormalizePhone(s); p != "" {
			if NormalizePhone(p) != p {
				t.Fatalf("NormalizePhone not idempotent: %q → %q → %q", s, p, NormalizePhone(p))
			}
			for _, c := range p {
				if c < '0' || c > '9' {
					t.Fatalf("NormalizePhone(%q) = %q has a non-digit", s, p)
				}
			}
		}
		k := normalizeIDKey(s)
		if normalizeIDKey(k) != k {
			t.Fatalf("normalizeIDKey not idempotent on %q", s)
		}
		nameTokens(s, func(tok string) {
			if tok == "" {
				t.Fatalf("empty token from %q", s)
			}
			// A token is stable: tokenising it again gives itself.
			var again []string
			nameTokens(tok, func(x string) { again = append(again, x) })
			if isLatinToken(tok) && (len(again) == 0 || again[0] == "") {
				t.Fatalf("token %q of %q vanishes when re-tokenised", tok, s)
			}
		})
	})
}

func TestSearchConcurrentWithUpdates(t *testing.T) {
	src := newMapSource(genSearchPilgrims(2000, 3))
	ix := NewSearchIndex(src, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			p := registry.Pilgrim{PID: fmt.Sprintf("NEW%d", i), NameEN: fmt.Sprintf("Zubair Newname%d", i)}
			src.put(p)
			ix.Upsert(p)
			if i%50 == 0 {
				ix.Rebuild()
			}
		}
	}()
	for i := 0; i < 200; i++ {
		ix.Search("Muhammad Rahim", 10)
		ix.Search("zubair", 10)
	}
	<-done
	if got := ix.Search("NEW199", 1); len(got) != 1 {
		t.Fatalf("last upsert not searchable: %v", got)
	}
	if got := ix.Search("Zubair Newname150", 1); len(got) != 1 || got[0].PID != "NEW150" {
		t.Fatalf("name of an upserted pilgrim: %+v", got)
	}
}
