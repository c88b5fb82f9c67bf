package live

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// TopicKind is what a live-feed subscription follows.
type TopicKind string

const (
	TopicPilgrim TopicKind = "pilgrim" // pilgrim:<PID>
	TopicGroup   TopicKind = "group"   // group:<GID>
	TopicCamp    TopicKind = "camp"    // camp:<ID>
	TopicTent    TopicKind = "tent"    // tent:<ID>
	TopicBBox    TopicKind = "bbox"    // bbox:<minLon>,<minLat>,<maxLon>,<maxLat>
	TopicEvents  TopicKind = "events"  // events
	TopicCase    TopicKind = "case"    // case:<ID>
)

// Topic is a parsed subscription topic.
type Topic struct {
	Kind TopicKind
	ID   string // pilgrim, group, camp, tent or case ID
	// BBox for TopicBBox.
	MinLon, MinLat, MaxLon, MaxLat float64
}

// String is the canonical topic text.
func (t Topic) String() string {
	switch t.Kind {
	case TopicEvents:
		return string(TopicEvents)
	case TopicBBox:
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		return "bbox:" + f(t.MinLon) + "," + f(t.MinLat) + "," + f(t.MaxLon) + "," + f(t.MaxLat)
	}
	return string(t.Kind) + ":" + t.ID
}

// contains reports whether a point lies in the topic's bbox (edges included).
func (t *Topic) contains(lat, lon float64) bool {
	return lat >= t.MinLat && lat <= t.MaxLat && lon >= t.MinLon && lon <= t.MaxLon
}

// ParseTopic parses a topic string; the error says what is wrong with it.
func ParseTopic(s string) (Topic, error) {
	if s == string(TopicEvents) {
		return Topic{Kind: TopicEvents}, nil
	}
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Topic{}, fmt.Errorf("topic %q: want kind:id (pilgrim, group, camp, tent, case, bbox) or events", s)
	}
	switch k := TopicKind(kind); k {
	case TopicPilgrim, TopicGroup, TopicCamp, TopicTent, TopicCase:
		if rest == "" || len(rest) > 128 {
			return Topic{}, fmt.Errorf("topic %q: %s id must be 1–128 characters", s, k)
		}
		return Topic{Kind: k, ID: rest}, nil
	case TopicBBox:
		return parseBBox(s, rest)
	}
	return Topic{}, fmt.Errorf("topic %q: unknown kind %q", s, kind)
}

func parseBBox(s, rest string) (Topic, error) {
	parts := strings.Split(rest, ",")
	if len(parts) != 4 {
		return Topic{}, fmt.Errorf("topic %q: bbox wants minLon,minLat,maxLon,maxLat", s)
	}
	var v [4]float64
	names := [4]string{"minLon", "minLat", "maxLon", "maxLat"}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Topic{}, fmt.Errorf("topic %q: %s is not a number", s, names[i])
		}
		v[i] = f
	}
	t := Topic{Kind: TopicBBox, MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	switch {
	case t.MinLat < -90 || t.MaxLat > 90:
		return Topic{}, fmt.Errorf("topic %q: latitude out of [-90,90]", s)
	case t.MinLon < -180 || t.MaxLon > 180:
		return Topic{}, fmt.Errorf("topic %q: longitude out of [-180,180]", s)
	case t.MinLon > t.MaxLon || t.MinLat > t.MaxLat:
		return Topic{}, errors.New("topic " + strconv.Quote(s) + ": min greater than max")
	}
	return t, nil
}
