package ingest

// paramReader walks "k=v&k=v" (a URL query or a form body) without building
// a map, unescaping %XX and '+' into reused buffers. Keys and values are valid
// until the next call to next.
type paramReader struct {
	s      []byte
	i      int
	keyBuf []byte
	valBuf []byte
}

func (p *paramReader) reset(s []byte) { p.s, p.i = s, 0 }

// next returns the next parameter; ok is false at the end. Empty segments
// ("a=1&&b=2") are skipped.
func (p *paramReader) next() (key, val []byte, ok bool) {
	for p.i < len(p.s) {
		start := p.i
		end := start
		for end < len(p.s) && p.s[end] != '&' {
			end++
		}
		p.i = end + 1
		seg := p.s[start:end]
		if len(seg) == 0 {
			continue
		}
		k, v := seg, seg[:0]
		for j, c := range seg {
			if c == '=' {
				k, v = seg[:j], seg[j+1:]
				break
			}
		}
		p.keyBuf = unescapeQuery(p.keyBuf[:0], k)
		p.valBuf = unescapeQuery(p.valBuf[:0], v)
		return p.keyBuf, p.valBuf, true
	}
	return nil, nil, false
}

// unescapeQuery appends the form-decoded s to dst. A malformed escape is kept
// literally rather than failing the whole request: the field that contains it
// will then fail to parse and be named in the error.
func unescapeQuery(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
