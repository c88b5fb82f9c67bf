package helpdesk

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"dalil"
	"dalil/registry"
)

// SearchSource is where the search index reads pilgrims from. *Registry
// implements it.
type SearchSource interface {
	Pilgrim(pid string) (registry.Pilgrim, bool)
	Each(fn func(registry.Pilgrim) bool)
}

// LiveLookup gives a pilgrim's newest position. *Engine implements it; a nil
// LiveLookup leaves LastSeen empty.
type LiveLookup interface {
	Pilgrim(pid string) (dalil.LiveState, bool)
}

// Match says which field a search hit matched.
type Match string

const (
	MatchPID        Match = "pid"
	MatchTrackingNo Match = "tracking_no"
	MatchPassport   Match = "passport"
	MatchPhone      Match = "phone"
	MatchName       Match = "name"
)

// Scores of the match classes: an exact identifier beats a phone number,
// which beats any name (names score at most scoreNameMax).
const (
	scorePID          = 1000
	scoreTrackingNo   = 990
	scorePassport     = 980
	scorePhone        = 900
	scoreNameMax      = 800
	maxQueryTokens    = 8
	maxPrefixTerms    = 256
	maxNameCandidates = 20_000
)

// SearchHit is one pilgrim found by Search: who, where they belong, and when
// and where they were last seen.
type SearchHit struct {
	PID    string  `json:"pid"`
	NameEN string  `json:"name_en"`
	NameBN string  `json:"name_bn,omitempty"`
	Group  string  `json:"group,omitempty"`
	Agency string  `json:"agency,omitempty"`
	Camp   string  `json:"camp,omitempty"` // assigned camp
	Tent   string  `json:"tent,omitempty"` // assigned tent
	Match  Match   `json:"match"`
	Score  float64 `json:"score"`
	// LastSeen is the time of the pilgrim's newest position (zero: never seen).
	LastSeen time.Time `json:"last_seen,omitzero"`
	// SeenCamp and SeenTent say where that position was.
	SeenCamp string `json:"seen_camp,omitempty"`
	SeenTent string `json:"seen_tent,omitempty"`
	// SeenTentP is SeenTent's probability.
	SeenTentP float64 `json:"seen_tent_p,omitempty"`
}

// SearchIndex finds pilgrims by PID, tracking number, passport number, phone
// (any formatting) and name (English with typos and transliteration variants,
// or Bangla by prefix and substring). It is safe for concurrent use.
//
// Memory is kept to a few tens of bytes per pilgrim: names become small term
// ids with posting lists, identifiers and phones become 64-bit hashes in a
// sorted array (verified against the source on a hit), and hit details are
// read from the source only for the hits returned.
type SearchIndex struct {
	src  SearchSource
	live LiveLookup

	seedID, seedPhone maphash.Seed

	mu sync.RWMutex
	// Documents: one per indexed pilgrim version. Updating a pilgrim
	// appends a new document and marks the old one dead, so posting lists
	// stay sorted by document number without rewriting them.
	pids   []string
	dead   []uint64 // bitset
	nDead  int
	tokOff []uint32 // document d's terms are toks[tokOff[d]:tokOff[d+1]]
	toks   []uint32

	// Terms: distinct name tokens.
	termID   map[string]uint32
	terms    []string
	latin    []bool
	postings [][]uint32
	byText   []uint32            // term ids in text order, for prefix matches
	nonLatin []uint32            // Bangla (and other script) terms, for substring matches
	dels     map[string][]uint32 // deletion variant → terms (typo tolerance)

	// Identifier and phone hashes: a sorted base built in bulk (packKey)
	// plus a map, keyed by the hash with the low keyDocBits cleared, for
	// what was added since.
	keys     []uint64
	keyDelta map[uint64][]uint32

	nameCache map[string][]uint32 // during a build only
	scratch   sync.Pool
}

// NewSearchIndex indexes every pilgrim of src. live may be nil.
func NewSearchIndex(src SearchSource, live LiveLookup) *SearchIndex {
	ix := &SearchIndex{
		src:       src,
		live:      live,
		seedID:    maphash.MakeSeed(),
		seedPhone: maphash.MakeSeed(),
	}
	ix.build()
	return ix
}

// searchDoc is what the index reads of a pilgrim.
type searchDoc struct{ pid, trackingNo, passport, nameEN, nameBN, phone string }

func searchDocOf(p *registry.Pilgrim) searchDoc {
	return searchDoc{p.PID, p.TrackingNo, p.Passport, p.NameEN, p.NameBN, p.Phone}
}

// Identifier keys are packed in one uint64: the top keyHashBits of the
// key's hash and the document number below. Sorting plain integers is fast
// and takes 8 bytes a key; the rare hash prefix collision is weeded out by
// checking the pilgrim. Documents past 1<<keyDocBits go to keyDelta.
const (
	keyDocBits  = 24
	keyHashBits = 64 - keyDocBits
	keyDocMask  = 1<<keyDocBits - 1
)

func packKey(h uint64, d uint32) uint64 { return h&^keyDocMask | uint64(d) }

// build (re)indexes everything from the source. Called without ix.mu held
// for the bulk work; the result is swapped in under the lock.
func (ix *SearchIndex) build() {
	n := &SearchIndex{
		src: ix.src, live: ix.live, seedID: ix.seedID, seedPhone: ix.seedPhone,
		termID: map[string]uint32{}, keyDelta: map[uint64][]uint32{}, nameCache: map[string][]uint32{},
	}
	var keys []uint64
	if l, ok := ix.src.(interface{ Len() int }); ok {
		size := l.Len() + 16
		n.pids = make([]string, 0, size)
		n.tokOff = make([]uint32, 0, size+1)
		n.toks = make([]uint32, 0, size*4)
		keys = make([]uint64, 0, size*4)
	}
	n.tokOff = append(n.tokOff, 0)
	// Copy out only the searchable fields first: the source (the registry)
	// is read-locked while Each runs, and a writer waiting behind a long
	// read lock would hold up every reader, ingest included.
	var docs []searchDoc
	if l, ok := ix.src.(interface{ Len() int }); ok {
		docs = make([]searchDoc, 0, l.Len()+16)
	}
	ix.src.Each(func(p registry.Pilgrim) bool {
		docs = append(docs, searchDocOf(&p))
		return true
	})
	for i := range docs {
		p := &docs[i]
		d := n.addDoc(p)
		n.eachKey(p, func(h uint64) {
			if d <= keyDocMask {
				keys = append(keys, packKey(h, d))
			} else {
				n.keyDelta[h&^keyDocMask] = append(n.keyDelta[h&^keyDocMask], d)
			}
		})
		*p = searchDoc{}
	}
	docs = nil
	slices.Sort(keys)
	n.nameCache = nil
	n.keys = keys
	n.byText = make([]uint32, len(n.terms))
	for i := range n.byText {
		n.byText[i] = uint32(i)
	}
	slices.SortFunc(n.byText, func(a, b uint32) int { return strings.Compare(n.terms[a], n.terms[b]) })
	n.dels = make(map[string][]uint32, len(n.terms)*16)
	for t := range n.terms {
		n.indexTermDeletions(uint32(t))
	}

	ix.mu.Lock()
	ix.pids, ix.dead, ix.nDead, ix.tokOff, ix.toks = n.pids, n.dead, 0, n.tokOff, n.toks
	ix.termID, ix.terms, ix.latin, ix.postings = n.termID, n.terms, n.latin, n.postings
	ix.byText, ix.nonLatin, ix.dels = n.byText, n.nonLatin, n.dels
	ix.keys, ix.keyDelta = n.keys, n.keyDelta
	ix.mu.Unlock()
}

// Rebuild re-reads the whole source, dropping the space held by replaced
// pilgrims. Call it after a bulk import; searches keep working meanwhile
// on the old index.
func (ix *SearchIndex) Rebuild() { ix.build() }

// Len is the number of pilgrims indexed.
func (ix *SearchIndex) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.pids) - ix.nDead
}

// Upsert indexes new or changed pilgrims (by PID), replacing what was indexed
// for them before.
func (ix *SearchIndex) Upsert(ps ...registry.Pilgrim) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, p := range ps {
		if old, ok := ix.docOf(p.PID); ok {
			ix.kill(old)
		}
		if len(ix.tokOff) == 0 {
			ix.tokOff = append(ix.tokOff, 0)
		}
		doc := searchDocOf(&p)
		d := ix.addDoc(&doc)
		ix.eachKey(&doc, func(h uint64) { ix.keyDelta[h&^keyDocMask] = append(ix.keyDelta[h&^keyDocMask], d) })
	}
}

// Remove drops pilgrims from the index.
func (ix *SearchIndex) Remove(pids ...string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, pid := range pids {
		if d, ok := ix.docOf(pid); ok {
			ix.kill(d)
		}
	}
}

func (ix *SearchIndex) kill(d uint32) {
	for int(d/64) >= len(ix.dead) {
		ix.dead = append(ix.dead, 0)
	}
	if ix.dead[d/64]&(1<<(d%64)) == 0 {
		ix.dead[d/64] |= 1 << (d % 64)
		ix.nDead++
	}
}

func (ix *SearchIndex) isDead(d uint32) bool {
	w := int(d / 64)
	return w < len(ix.dead) && ix.dead[w]&(1<<(d%64)) != 0
}

// docOf finds the live document of a PID through the identifier hashes.
func (ix *SearchIndex) docOf(pid string) (uint32, bool) {
	key := normalizeIDKey(pid)
	if key == "" {
		return 0, false
	}
	found, ok := uint32(0), false
	ix.lookupKey(maphash.String(ix.seedID, key), func(d uint32) {
		if !ok && !ix.isDead(d) && ix.pids[d] == pid {
			found, ok = d, true
		}
	})
	return found, ok
}

// lookupKey calls fn with every document that may have a key of hash h
// (callers check the pilgrim: hash prefixes can collide).
func (ix *SearchIndex) lookupKey(h uint64, fn func(d uint32)) {
	h &^= keyDocMask
	i, _ := slices.BinarySearch(ix.keys, h)
	for ; i < len(ix.keys) && ix.keys[i]&^keyDocMask == h; i++ {
		fn(uint32(ix.keys[i] & keyDocMask))
	}
	for _, d := range ix.keyDelta[h] {
		fn(d)
	}
}

// eachKey calls fn with the hash of each distinct identifier and phone of p.
func (ix *SearchIndex) eachKey(p *searchDoc, fn func(h uint64)) {
	var seen [3]string
	for i, v := range [3]string{p.pid, p.trackingNo, p.passport} {
		k := normalizeIDKey(v)
		if k == "" || k == seen[0] || k == seen[1] {
			continue
		}
		seen[i] = k
		fn(maphash.String(ix.seedID, k))
	}
	if ph := NormalizePhone(p.phone); ph != "" {
		fn(maphash.String(ix.seedPhone, ph))
	}
}

// addDoc appends a document for p and its name terms.
func (ix *SearchIndex) addDoc(p *searchDoc) uint32 {
	d := uint32(len(ix.pids))
	ix.pids = append(ix.pids, p.pid)
	start := len(ix.toks)
	for _, name := range [2]string{p.nameEN, p.nameBN} {
		for _, t := range ix.termsOf(name) {
			if slices.Contains(ix.toks[start:], t) {
				continue
			}
			ix.toks = append(ix.toks, t)
			ix.postings[t] = append(ix.postings[t], d)
		}
	}
	ix.tokOff = append(ix.tokOff, uint32(len(ix.toks)))
	return d
}

// nameCacheMax bounds the build-time cache of tokenised names. Names repeat
// a lot (Md. Abdur Rahman), and tokenising Bangla (Unicode normalisation)
// is the costliest part of a build.
const nameCacheMax = 1 << 19

// termsOf returns the term ids of a name, adding new terms.
func (ix *SearchIndex) termsOf(name string) []uint32 {
	if name == "" {
		return nil
	}
	if ts, ok := ix.nameCache[name]; ok {
		return ts
	}
	var ts []uint32
	nameTokens(name, func(tok string) {
		t, ok := ix.termID[tok]
		if !ok {
			t = ix.newTerm(tok)
		}
		ts = append(ts, t)
	})
	if ix.nameCache != nil && len(ix.nameCache) < nameCacheMax {
		ix.nameCache[name] = ts
	}
	return ts
}

func (ix *SearchIndex) newTerm(tok string) uint32 {
	t := uint32(len(ix.terms))
	ix.termID[tok] = t
	ix.terms = append(ix.terms, tok)
	lat := isLatinToken(tok)
	ix.latin = append(ix.latin, lat)
	ix.postings = append(ix.postings, nil)
	if !lat {
		ix.nonLatin = append(ix.nonLatin, t)
	}
	if ix.dels != nil { // incremental: keep the side structures current
		i, _ := slices.BinarySearchFunc(ix.byText, tok, func(id uint32, s string) int { return strings.Compare(ix.terms[id], s) })
		ix.byText = slices.Insert(ix.byText, i, t)
		ix.indexTermDeletions(t)
	}
	return t
}

func (ix *SearchIndex) indexTermDeletions(t uint32) {
	s := ix.terms[t]
	deletions(s, maxEdits(utf8.RuneCountInString(s)+2), func(v string) {
		ix.dels[v] = append(ix.dels[v], t)
	})
}

// Search answers a free-text query: an identifier, a phone number or a name.
// Hits are ranked: exact identifier, then phone, then name quality; at most
// limit (default 20, at most 200) are returned.
func (ix *SearchIndex) Search(q string, limit int) []SearchHit {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 200)
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()

	var hits []SearchHit
	have := map[string]bool{}
	add := func(p registry.Pilgrim, m Match, score float64) {
		if have[p.PID] {
			return
		}
		have[p.PID] = true
		hits = append(hits, SearchHit{PID: p.PID, NameEN: p.NameEN, NameBN: p.NameBN, Group: p.Group,
			Agency: p.Agency, Camp: p.Camp, Tent: p.Tent, Match: m, Score: score})
	}

	if key := normalizeIDKey(q); key != "" {
		ix.lookupKey(maphash.String(ix.seedID, key), func(d uint32) {
			if ix.isDead(d) {
				return
			}
			p, ok := ix.src.Pilgrim(ix.pids[d])
			if !ok {
				return
			}
			switch key {
			case normalizeIDKey(p.PID):
				add(p, MatchPID, scorePID)
			case normalizeIDKey(p.TrackingNo):
				add(p, MatchTrackingNo, scoreTrackingNo)
			case normalizeIDKey(p.Passport):
				add(p, MatchPassport, scorePassport)
			}
		})
	}
	if looksLikePhone(q) {
		if ph := NormalizePhone(q); ph != "" {
			ix.lookupKey(maphash.String(ix.seedPhone, ph), func(d uint32) {
				if ix.isDead(d) {
					return
				}
				if p, ok := ix.src.Pilgrim(ix.pids[d]); ok && NormalizePhone(p.Phone) == ph {
					add(p, MatchPhone, scorePhone)
				}
			})
		}
	}
	if len(hits) < limit {
		for _, c := range ix.searchNames(q, limit) {
			if p, ok := ix.src.Pilgrim(ix.pids[c.doc]); ok {
				add(p, MatchName, c.score)
			}
		}
	}

	slices.SortStableFunc(hits, func(a, b SearchHit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return strings.Compare(a.PID, b.PID)
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	if ix.live != nil {
		for i := range hits {
			if st, ok := ix.live.Pilgrim(hits[i].PID); ok {
				hits[i].LastSeen = st.Position.Time
				hits[i].SeenCamp = st.Location.Camp
				hits[i].SeenTent = st.Location.Tent
				hits[i].SeenTentP = st.Location.TentProbability
			}
		}
	}
	return hits
}
