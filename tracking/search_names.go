package tracking

import (
	"container/heap"
	"slices"
	"strings"
	"unicode/utf8"
)

// Quality of a term matching a query token, out of 100.
const (
	qualExact     = 100
	qualVariant   = 92 // a misspelt transliteration variant ("Mohamad" → muhammad)
	qualPerEdit   = 15 // lost per typo
	qualPrefix    = 60 // plus up to 15 for how much of the term the prefix covers
	qualSubstring = 55
	extraPenalty  = 4 // per name part of the pilgrim the query did not mention
)

type nameCand struct {
	doc   uint32
	score float64
}

// expansion is a term a query token may stand for, with its quality.
type expansion struct {
	term uint32
	qual uint8
}

// searchScratch is per-query working memory, pooled: qual holds, for every
// term stamped with the current generation, its quality for each query token.
type searchScratch struct {
	gen   uint32
	stamp []uint32
	qual  [][maxQueryTokens]uint8
}

func (ix *SearchIndex) getScratch() *searchScratch {
	s, _ := ix.scratch.Get().(*searchScratch)
	if s == nil {
		s = &searchScratch{}
	}
	if n := len(ix.terms); len(s.stamp) < n {
		s.stamp = make([]uint32, n+n/4)
		s.qual = make([][maxQueryTokens]uint8, n+n/4)
		s.gen = 0
	}
	s.gen++
	if s.gen == 0 { // wrapped: clear the stamps once every 4 billion queries
		clear(s.stamp)
		s.gen = 1
	}
	return s
}

func (s *searchScratch) set(t uint32, i int, q uint8) {
	if s.stamp[t] != s.gen {
		s.stamp[t] = s.gen
		s.qual[t] = [maxQueryTokens]uint8{}
	}
	s.qual[t][i] = max(s.qual[t][i], q)
}

func (s *searchScratch) get(t uint32, i int) uint8 {
	if s.stamp[t] != s.gen {
		return 0
	}
	return s.qual[t][i]
}

// expand lists the terms a query token may stand for: itself, terms within
// its typo budget, misspelt transliteration variants, terms it is a prefix
// of and, for Bangla, terms containing it.
func (ix *SearchIndex) expand(tok string, out []expansion) []expansion {
	best := map[uint32]uint8{}
	put := func(t uint32, q uint8) {
		if q > best[t] {
			best[t] = q
		}
	}
	if t, ok := ix.termID[tok]; ok {
		put(t, qualExact)
	}
	n := utf8.RuneCountInString(tok)
	if d := maxEdits(n); d > 0 {
		deletions(tok, d, func(v string) {
			for _, t := range ix.dels[v] {
				if e := editDistance(tok, ix.terms[t], d); e <= d {
					put(t, uint8(qualExact-qualPerEdit*e))
				}
			}
		})
	}
	if isLatinToken(tok) && n >= 4 {
		if _, known := ix.termID[tok]; !known {
			for v, canon := range nameVariants {
				if editDistance(tok, v, 1) <= 1 {
					if t, ok := ix.termID[canon]; ok {
						put(t, qualVariant)
					}
				}
			}
		}
	}
	if n >= 2 {
		i, _ := slices.BinarySearchFunc(ix.byText, tok, func(id uint32, s string) int { return strings.Compare(ix.terms[id], s) })
		for k := 0; i < len(ix.byText) && k < maxPrefixTerms; i, k = i+1, k+1 {
			t := ix.byText[i]
			term := ix.terms[t]
			if !strings.HasPrefix(term, tok) {
				break
			}
			if len(term) > len(tok) {
				put(t, uint8(qualPrefix+15*len(tok)/len(term)))
			}
		}
		if !isLatinToken(tok) {
			for _, t := range ix.nonLatin {
				if term := ix.terms[t]; len(term) > len(tok) && strings.Contains(term, tok) && !strings.HasPrefix(term, tok) {
					put(t, qualSubstring)
				}
			}
		}
	}
	for t, q := range best {
		out = append(out, expansion{t, q})
	}
	// Best quality first so that, when a candidate cap cuts the scan, the
	// best matches have been seen.
	slices.SortFunc(out, func(a, b expansion) int {
		if a.qual != b.qual {
			return int(b.qual) - int(a.qual)
		}
		return int(a.term) - int(b.term)
	})
	return out
}

// searchNames ranks documents whose names match every query token (or all
// but one, when nothing matches them all).
func (ix *SearchIndex) searchNames(q string, limit int) []nameCand {
	var toks []string
	nameTokens(q, func(t string) {
		if len(toks) < maxQueryTokens && !slices.Contains(toks, t) {
			toks = append(toks, t)
		}
	})
	if len(toks) == 0 {
		return nil
	}
	s := ix.getScratch()
	defer ix.scratch.Put(s)

	exps := make([][]expansion, len(toks))
	sizes := make([]int, len(toks))
	queryLatin := 0
	for i, tok := range toks {
		exps[i] = ix.expand(tok, nil)
		for _, e := range exps[i] {
			s.set(e.term, i, e.qual)
			sizes[i] += len(ix.postings[e.term])
		}
		if isLatinToken(tok) {
			queryLatin++
		}
	}
	order := make([]int, len(toks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return sizes[a] - sizes[b] })

	top := &candHeap{}
	// Strict: every token must match; drive the scan with the rarest token.
	ix.scanNames(s, toks, exps, order[:1], len(toks), queryLatin, limit, top)
	if top.Len() == 0 && len(toks) >= 2 {
		// Relaxed: one token may be missing (a wrong word). Any candidate
		// then contains one of the two rarest tokens.
		ix.scanNames(s, toks, exps, order[:2], len(toks)-1, queryLatin, limit, top)
	}
	out := make([]nameCand, top.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(top).(nameCand)
	}
	return out
}

// scanNames walks the postings of the driver tokens' expansions and scores
// every live document that matches at least need tokens.
func (ix *SearchIndex) scanNames(s *searchScratch, toks []string, exps [][]expansion, drivers []int, need, queryLatin, limit int, top *candHeap) {
	examined := 0
	for di, drv := range drivers {
		for ei, e := range exps[drv] {
			for _, d := range ix.postings[e.term] {
				if ix.isDead(d) {
					continue
				}
				docToks := ix.toks[ix.tokOff[d]:ix.tokOff[d+1]]
				if ix.seenBefore(s, docToks, exps, drivers, di, ei) {
					continue
				}
				if examined++; examined > maxNameCandidates {
					return
				}
				score, ok := ix.scoreDoc(s, docToks, len(toks), need, queryLatin)
				if !ok {
					continue
				}
				if top.Len() < limit {
					heap.Push(top, nameCand{d, score})
				} else if score > (*top)[0].score {
					(*top)[0] = nameCand{d, score}
					heap.Fix(top, 0)
				}
			}
		}
	}
}

// seenBefore reports whether a document was already scored through an
// earlier driver expansion (it contains that earlier term).
func (ix *SearchIndex) seenBefore(s *searchScratch, docToks []uint32, exps [][]expansion, drivers []int, di, ei int) bool {
	for _, t := range docToks {
		for pj := 0; pj <= di; pj++ {
			drv := drivers[pj]
			if s.get(t, drv) == 0 {
				continue
			}
			limitE := len(exps[drv])
			if pj == di {
				limitE = ei
			}
			for _, e := range exps[drv][:limitE] {
				if e.term == t {
					return true
				}
			}
		}
	}
	return false
}

// scoreDoc scores a document: the mean best quality of each query token over
// the document's terms, less a little for each name part of the same script
// the query did not mention, so "Rahim Uddin" ranks "Rahim Uddin" above
// "Muhammad Rahim Uddin".
func (ix *SearchIndex) scoreDoc(s *searchScratch, docToks []uint32, nq, need, queryLatin int) (float64, bool) {
	total, matched := 0, 0
	for i := 0; i < nq; i++ {
		best := uint8(0)
		for _, t := range docToks {
			best = max(best, s.get(t, i))
		}
		if best > 0 {
			matched++
			total += int(best)
		}
	}
	if matched < need {
		return 0, false
	}
	// Count the document's terms of the query's script(s) that no token matched.
	extra := 0
	for _, t := range docToks {
		if (ix.latin[t] && queryLatin == 0) || (!ix.latin[t] && queryLatin == nq) {
			continue
		}
		hit := false
		for i := 0; i < nq && !hit; i++ {
			hit = s.get(t, i) > 0
		}
		if !hit {
			extra++
		}
	}
	score := float64(total)/float64(nq)*scoreNameMax/100 - float64(extraPenalty*extra)
	return max(score, 1), true
}

// candHeap is a min-heap on score: the root is the weakest of the best.
type candHeap []nameCand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].doc > h[j].doc
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(nameCand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
