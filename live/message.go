package live

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"dalil"
	"dalil/geo"
)

// The live feed's messages. Positions are encoded by hand: one update is
// encoded once, however many clients receive it, without reflection.

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendField(b []byte, name string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendFloat(b []byte, f float64, prec int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'f', prec, 64)
}

// CellHex is the conventional H3 text form.
func CellHex(c uint64) string {
	if c == 0 {
		return ""
	}
	return strconv.FormatUint(c, 16)
}

// appendPosition appends the position message for st:
// {"type":"position","pilgrim","device","lat","lon","acc","ts","site","camp","tent","cell",…}.
func appendPosition(b []byte, st *dalil.LiveState) []byte {
	b = append(b, `{"type":"position"`...)
	b = appendPositionFields(b, st)
	return append(b, '}')
}

// appendPositionFields appends the fields of a position after an opening
// field (so a snapshot can reuse it).
func appendPositionFields(b []byte, st *dalil.LiveState) []byte {
	p := &st.Position
	loc := &st.Location
	b = appendField(b, "pilgrim", false)
	b = appendJSONString(b, st.Pilgrim)
	b = appendField(b, "device", false)
	b = appendJSONString(b, st.Device)
	if st.Luggage != "" {
		b = appendField(b, "luggage", false)
		b = appendJSONString(b, st.Luggage)
	}
	if st.Group != "" {
		b = appendField(b, "group", false)
		b = appendJSONString(b, st.Group)
	}
	b = appendField(b, "lat", false)
	b = appendFloat(b, p.Lat, 7)
	b = appendField(b, "lon", false)
	b = appendFloat(b, p.Lon, 7)
	b = appendField(b, "acc", false)
	b = appendFloat(b, float64(p.Accuracy), 1)
	b = appendField(b, "ts", false)
	b = append(b, '"')
	b = p.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendField(b, "site", false)
	b = appendJSONString(b, string(loc.Site))
	b = appendField(b, "camp", false)
	b = appendJSONString(b, loc.Camp)
	b = appendField(b, "tent", false)
	b = appendJSONString(b, loc.Tent)
	if loc.NumCandidates > 0 || (loc.Posterior && loc.Tent != "") {
		b = appendField(b, "tent_p", false)
		b = appendFloat(b, TentProbability(loc), 3)
	}
	if loc.Posterior {
		b = appendField(b, "camp_p", false)
		b = appendFloat(b, loc.CampProbability, 3)
	}
	b = appendField(b, "cell", false)
	b = appendJSONString(b, CellHex(loc.Cell))
	if p.Battery >= 0 {
		b = appendField(b, "batt", false)
		b = appendFloat(b, float64(p.Battery), 0)
	}
	return b
}

// eventMessage is {"type":"event","kind":…,…}.
type eventMessage struct {
	Type string `json:"type"`
	*dalil.Event
}

func encodeEvent(ev *dalil.Event) []byte {
	b, err := json.Marshal(eventMessage{Type: "event", Event: ev})
	if err != nil {
		// An Event holds only strings and a time; this cannot fail.
		return []byte(`{"type":"event"}`)
	}
	return b
}

// controlMessage answers a client op.
type controlMessage struct {
	Type  string `json:"type"` // "snapshot" | "unsubscribed" | "error"
	Topic string `json:"topic,omitempty"`
	Error string `json:"error,omitempty"`
}

func encodeControl(typ, topic, errMsg string) []byte {
	b, _ := json.Marshal(controlMessage{Type: typ, Topic: topic, Error: errMsg})
	return b
}

// encodeSnapshot is {"type":"snapshot","topic":T,"positions":[…],"truncated":bool}.
func encodeSnapshot(topic string, states []dalil.LiveState, truncated bool) []byte {
	b := make([]byte, 0, 64+len(states)*256)
	b = append(b, `{"type":"snapshot","topic":`...)
	b = appendJSONString(b, topic)
	b = append(b, `,"positions":[`...)
	for i := range states {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendPosition(b, &states[i])
	}
	b = append(b, `],"truncated":`...)
	b = strconv.AppendBool(b, truncated)
	return append(b, '}')
}

// TentProbability is the probability of loc.Tent among the candidates.
func TentProbability(loc *geo.Location) float64 {
	if loc.Posterior {
		return loc.TentProbability
	}
	cs := loc.Candidates()
	for _, c := range cs {
		if c.Tent == loc.Tent {
			return c.Probability
		}
	}
	if loc.Tent != "" && len(cs) == 0 {
		return 1
	}
	return 0
}
