package helpdesk

import "unicode/utf8"

// maxEdits is how many typos a query token of n runes may have: none for
// very short tokens (they would match half the vocabulary), one for 4–6 runes,
// two from 7 runes on.
func maxEdits(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 6:
		return 1
	default:
		return 2
	}
}

// deletions calls fn with every string made by deleting up to d runes from s
// (s itself included). Matching a query against terms through shared deletion
// variants finds every term within edit distance d (SymSpell) without
// comparing the query to the whole vocabulary.
func deletions(s string, d int, fn func(string)) {
	fn(s)
	if d == 0 || utf8.RuneCountInString(s) <= 1 {
		return
	}
	seen := map[string]struct{}{}
	var rec func(s string, d int)
	rec = func(s string, d int) {
		for i := 0; i < len(s); {
			_, size := utf8.DecodeRuneInString(s[i:])
			v := s[:i] + s[i+size:]
			if _, ok := seen[v]; !ok {
				seen[v] = struct{}{}
				fn(v)
				if d > 1 && len(v) > 1 {
					rec(v, d-1)
				}
			}
			i += size
		}
	}
	rec(s, d)
}

// editDistance is the optimal string alignment distance (Levenshtein plus
// adjacent transpositions, a common typing error) between a and b in runes,
// or max+1 when it exceeds max.
func editDistance(a, b string, max int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > max || -d > max {
		return max + 1
	}
	// Three rolling rows: i-2, i-1, i.
	n := len(rb) + 1
	buf := make([]int, 3*n)
	pp, p, c := buf[:n], buf[n:2*n], buf[2*n:]
	for j := range p {
		p[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		c[0] = i
		rowMin := c[0]
		for j := 1; j < n; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(p[j]+1, c[j-1]+1, p[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, pp[j-2]+1)
			}
			c[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		pp, p, c = p, c, pp
	}
	if p[n-1] > max {
		return max + 1
	}
	return p[n-1]
}
