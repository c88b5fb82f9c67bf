package helpdesk

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
	// ordGen/ordStamp/ord number the driver terms in scan order, so that
	// a document reached again through a later term is skipped.
	ordGen   uint32
	ordStamp []uint32
	ord      []int32
}

func (ix *SearchIndex) getScratch() *searchScratch {
	s, _ := ix.scratch.Get().(*searchScratch)
	if s == nil {
		s = &searchScratch{}
	}
	if n := len(ix.terms); len(s.stamp) < n {
		s.stamp = make([]uint32, n+n/4)
		s.qual = make([][maxQueryTokens]uint8, n+n/4)
		s.ordStamp = make([]uint32, n+n/4)
		s.ord = make([]int32, n+n/4)
		s.gen, s.ordGen = 0, 0
	}
	if s.ordGen > 1<<31 {
		clear(s.ordStamp)
		s.ordGen = 0
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

// order gives a driver term its place in the scan (keeping the first).
func (s *searchScratch) order(t uint32, next *int32) int32 {
	if s.ordStamp[t] != s.ordGen {
		s.ordStamp[t] = s.ordGen
		s.ord[t] = *next
		*next++
	}
	return s.ord[t]
}

// seenEarlier reports whether a document holds a driver term scanned
// before the current one.
func (s *searchScratch) seenEarlier(docToks []uint32, cur int32) bool {
	for _, t := range docToks {
		if s.ordStamp[t] == s.ordGen && s.ord[t] < cur {
			return true
		}
	}
	return false
}

// inBestTier reports whether a document holds a best-quality term for
// every token (scanBestTier scored it).
func (s *searchScratch) inBestTier(docToks []uint32, topQ []int) bool {
	for i, q := range topQ {
		found := false
		for _, t := range docToks {
			if int(s.get(t, i)) == q {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
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
func (ix *SearchIndex) expand(tok string, last bool, out []expansion) []expansion {
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
	// Prefixes: from two letters, or one Bangla letter (a syllable) while
	// the last word is still being typed.
	if n >= 2 || (n == 1 && last && !isLatinToken(tok)) {
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
		if !isLatinToken(tok) && n >= 2 {
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
//
// The scan is pruned so that common names stay fast at millions of
// pilgrims: first the documents holding every token's best-quality terms
// are intersected (sorted posting lists) and scored; if the best of those
// already beat anything a weaker match could score, the search is done.
// Otherwise the rarest token's expansions are scanned best first, stopping
// when an expansion cannot beat the current top hits, and after
// maxNameCandidates documents in any case.
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

	nq := len(toks)
	qp := &queryPlan{toks: toks, exps: make([][]expansion, nq), sizes: make([]int, nq),
		topQ: make([]int, nq), nextQ: make([]int, nq)}
	for i, tok := range toks {
		qp.exps[i] = ix.expand(tok, i == nq-1, nil)
		for _, e := range qp.exps[i] {
			s.set(e.term, i, e.qual)
			qp.sizes[i] += len(ix.postings[e.term])
			if int(e.qual) < qp.topQ[i] && qp.nextQ[i] == 0 {
				qp.nextQ[i] = int(e.qual)
			}
			qp.topQ[i] = max(qp.topQ[i], int(e.qual))
		}
		if isLatinToken(tok) {
			qp.latin++
		}
	}
	order := make([]int, nq)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return qp.sizes[a] - qp.sizes[b] })

	top := &candHeap{}
	if qp.sizes[order[0]] > 0 { // every token matches something
		done, ran := ix.scanBestTier(s, qp, limit, top)
		if !done {
			ix.scanNames(s, qp, order[:1], nq, limit, ran, top)
		}
	}
	if top.Len() == 0 && nq >= 2 {
		// Relaxed: one token may be missing (a wrong word). Any candidate
		// then contains one of the two rarest tokens.
		ix.scanNames(s, qp, order[:2], nq-1, limit, false, top)
	}
	out := make([]nameCand, top.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(top).(nameCand)
	}
	return out
}

// queryPlan is a name query after expansion.
type queryPlan struct {
	toks  []string
	exps  [][]expansion // per token, best quality first
	sizes []int         // per token, total postings of its expansions
	topQ  []int         // per token, the best expansion quality
	nextQ []int         // per token, the second-best quality (0: none)
	latin int           // how many tokens are Latin script
}

// nameScore turns a sum of token qualities into a score (no penalties).
func nameScore(sum, nq int) float64 { return float64(sum) / float64(nq) * scoreNameMax / 100 }

// scanBestTier scores the documents that hold, for every token, one of its
// best-quality terms. It reports whether that settles the top hits, and
// whether it ran at all.
func (ix *SearchIndex) scanBestTier(s *searchScratch, qp *queryPlan, limit int, top *candHeap) (done, ran bool) {
	nq := len(qp.toks)
	// Each token's best tier: usually one term (the exact name), sometimes
	// several (equally good typo or prefix matches).
	tiers := make([][][]uint32, nq)
	sizes := make([]int, nq)
	for i := range qp.toks {
		for _, e := range qp.exps[i] {
			if int(e.qual) == qp.topQ[i] {
				tiers[i] = append(tiers[i], ix.postings[e.term])
				sizes[i] += len(ix.postings[e.term])
			}
		}
	}
	drv := 0
	for i := range sizes {
		if sizes[i] < sizes[drv] {
			drv = i
		}
	}
	// Other tokens with a one-term tier are checked by galloping through
	// their posting list; the rest by looking at the document's terms.
	var gallop [][]uint32
	for i := range tiers {
		if i != drv && len(tiers[i]) == 1 {
			gallop = append(gallop, tiers[i][0])
		}
	}
	slices.SortFunc(gallop, func(a, b []uint32) int { return len(a) - len(b) })
	sumTop := 0
	for _, q := range qp.topQ {
		sumTop += q
	}
	// Good enough to stop at: the best tier with up to two name parts the
	// query did not mention (most names have three or four parts; ranking
	// tens of thousands of equal matches by length helps nobody).
	enough := nameScore(sumTop, nq) - 2*extraPenalty
	examined := 0
	s.ordGen++
	ord := int32(0)
	for _, e := range qp.exps[drv] {
		if int(e.qual) != qp.topQ[drv] {
			continue
		}
		cur := s.order(e.term, &ord)
		pos := make([]int, len(gallop))
		stop := false
		for _, d := range ix.postings[e.term] {
			if !inAll(gallop, pos, d) {
				continue
			}
			if ix.isDead(d) {
				continue
			}
			docToks := ix.toks[ix.tokOff[d]:ix.tokOff[d+1]]
			if s.seenEarlier(docToks, cur) || !s.inBestTier(docToks, qp.topQ) {
				continue
			}
			if score, ok := ix.scoreDoc(s, docToks, nq, nq, qp.latin); ok {
				top.offer(nameCand{d, score}, limit)
			}
			// Stop once the list is full of good enough scores, or at the cap.
			if examined++; examined >= maxNameCandidates || (top.Len() >= limit && (*top)[0].score >= enough) {
				stop = true
				break
			}
		}
		if stop {
			break
		}
	}
	// The best a document outside the tier can score: one token at its
	// second-best quality, the others at their best.
	bound := 0.0
	for i := range qp.toks {
		bound = max(bound, nameScore(sumTop-qp.topQ[i]+qp.nextQ[i], nq))
	}
	return top.Len() >= limit && (*top)[0].score >= bound, true
}

// scanNames walks the postings of the driver tokens' expansions, best first,
// and scores every live document that matches at least need tokens.
// skipTier skips documents scanBestTier has already scored.
func (ix *SearchIndex) scanNames(s *searchScratch, qp *queryPlan, drivers []int, need, limit int, skipTier bool, top *candHeap) {
	nq := len(qp.toks)
	sumTop := 0
	for _, q := range qp.topQ {
		sumTop += q
	}
	s.ordGen++
	ord := int32(0)
	examined := 0
	for _, drv := range drivers {
		for _, e := range qp.exps[drv] {
			if need == nq && top.Len() >= limit && nameScore(sumTop-qp.topQ[drv]+int(e.qual), nq) <= (*top)[0].score {
				break // no document reached only through this or weaker terms can make the list
			}
			if top.Len() >= limit && (*top)[0].score >= nameScore(sumTop, nq)-2*extraPenalty {
				return // full of good enough scores (see scanBestTier)
			}
			cur := s.order(e.term, &ord)
			for _, d := range ix.postings[e.term] {
				if ix.isDead(d) {
					continue
				}
				docToks := ix.toks[ix.tokOff[d]:ix.tokOff[d+1]]
				if s.seenEarlier(docToks, cur) || (skipTier && s.inBestTier(docToks, qp.topQ)) {
					continue
				}
				if examined++; examined > maxNameCandidates {
					return
				}
				if score, ok := ix.scoreDoc(s, docToks, nq, need, qp.latin); ok {
					top.offer(nameCand{d, score}, limit)
				}
			}
		}
	}
}

// inAll reports whether d is in every sorted list, advancing each list's
// cursor in pos (d must grow from call to call). It gallops: doubling steps,
// then a binary search, so a long list costs a few probes per query value.
func inAll(lists [][]uint32, pos []int, d uint32) bool {
	for k, l := range lists {
		j := pos[k]
		step := 1
		for j+step < len(l) && l[j+step] < d {
			step *= 2
		}
		i, found := slices.BinarySearch(l[j:min(j+step+1, len(l))], d)
		pos[k] = j + i
		if !found {
			return false
		}
	}
	return true
}

// candHeap is a min-heap on score: the root is the weakest of the best.
type candHeap []nameCand

// offer keeps c if it is among the best limit candidates.
func (h *candHeap) offer(c nameCand, limit int) {
	if h.Len() < limit {
		heap.Push(h, c)
	} else if c.score > (*h)[0].score {
		(*h)[0] = c
		heap.Fix(h, 0)
	}
}

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
	score := nameScore(total, nq) - float64(extraPenalty*extra)
	return max(score, 1), true
}
