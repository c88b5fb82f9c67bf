package geo

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MarshalJSON writes the Location with its candidate tents as a list and the
// street camps only when set.
func (l Location) MarshalJSON() ([]byte, error) {
	type plain Location // without this method
	out := struct {
		plain
		NearCamps   []string        `json:"near_camps,omitempty"`
		Candidates  []TentCandidate `json:"candidates"`
		Description string          `json:"description"`
	}{plain: plain(l), Candidates: l.Candidates(), Description: l.Describe()}
	if out.Candidates == nil {
		out.Candidates = []TentCandidate{}
	}
	for _, c := range l.NearCamps {
		if c != "" {
			out.NearCamps = append(out.NearCamps, c)
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (l *Location) UnmarshalJSON(b []byte) error {
	type plain Location
	var in struct {
		plain
		NearCamps  []string        `json:"near_camps"`
		Candidates []TentCandidate `json:"candidates"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*l = Location(in.plain)
	copy(l.NearCamps[:], in.NearCamps)
	l.NumCandidates = copy(l.CandidateArr[:], in.Candidates)
	return nil
}

// Describe says where the point is in one sentence a helpdesk operator can
// read out: "In tent mina-094/3 of camp 94 (zone 5, Mina) …",
// "In the street between camps 94 and 95 (zone 5, Mina) …".
func (l Location) Describe() string {
	var b strings.Builder
	site := siteName(l.Site)
	place := site
	if l.Zone > 0 && l.Site == SiteMina {
		place = fmt.Sprintf("zone %d, %s", l.Zone, site)
	}
	switch {
	case l.Posterior:
		l.describePosterior(&b, place)
		return b.String()
	case l.Tent != "":
		fmt.Fprintf(&b, "In tent %s of camp %d (%s)", l.Tent, l.CampNumber, place)
	case l.Camp != "":
		fmt.Fprintf(&b, "In camp %d (%s), in a lane between tents", l.CampNumber, place)
	case l.NearCamps[0] != "" && l.NearCamps[1] != "":
		fmt.Fprintf(&b, "In the street between camps %s and %s (%s), %s from the nearest fence",
			campLabel(l.NearCamps[0]), campLabel(l.NearCamps[1]), place, metres(l.EdgeDistanceM))
	case l.NearCamps[0] != "":
		fmt.Fprintf(&b, "In the street by camp %s (%s), %s from its fence", campLabel(l.NearCamps[0]), place, metres(l.EdgeDistanceM))
	case site != "":
		fmt.Fprintf(&b, "In %s, %s from the nearest camp", site, metres(l.EdgeDistanceM))
	default:
		fmt.Fprintf(&b, "Outside Mina, Arafat and Muzdalifah, %s from the nearest camp", metres(l.EdgeDistanceM))
	}
	if name := landmarkName(l.Area); name != "" {
		fmt.Fprintf(&b, ", at %s", name)
	}
	b.WriteString(".")
	cs := l.Candidates()
	switch {
	case len(cs) == 0:
	case cs[0].Probability >= 0.9:
		if cs[0].Tent != l.Tent {
			fmt.Fprintf(&b, " Almost surely in tent %s.", cs[0].Tent)
		}
	default:
		fmt.Fprintf(&b, " With GPS accuracy ±%s: ", metres(l.AccuracyM))
		for i, c := range cs {
			if i == 3 {
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "tent %s %s", c.Tent, percent(c.Probability))
		}
		if len(cs) > 3 {
			fmt.Fprintf(&b, ", %d more tents", len(cs)-3)
		}
		fmt.Fprintf(&b, ", outside any tent %s.", percent(l.StreetProbability))
	}
	return b.String()
}

// describePosterior says what the posterior says of a pilgrim: the camp
// with the most probability and the likeliest tent, each with its
// probability, never a bare tent: "Near camp 94 (zone 5, Mina; 97 %),
// probably tent mina-094/3 (62 %)."
func (l Location) describePosterior(b *strings.Builder, place string) {
	switch {
	case l.Camp != "":
		fmt.Fprintf(b, "Near camp %d (%s; %s)", l.CampNumber, place, percent(l.CampProbability))
		if l.Tent != "" {
			fmt.Fprintf(b, ", probably tent %s (%s)", l.Tent, percent(l.TentProbability))
		}
	case l.NearCamps[0] != "":
		fmt.Fprintf(b, "In the street by camp %s (%s; %s)", campLabel(l.NearCamps[0]), place, percent(l.CampProbability))
	case place != "":
		fmt.Fprintf(b, "In %s, outside the camps (%s)", place, percent(l.CampProbability))
	default:
		b.WriteString("Outside Mina, Arafat and Muzdalifah")
	}
	if name := landmarkName(l.Area); name != "" {
		fmt.Fprintf(b, ", at %s", name)
	}
	b.WriteString(".")
}

func siteName(s Site) string {
	switch s {
	case SiteMina:
		return "Mina"
	case SiteArafat:
		return "Arafat"
	case SiteMuzdalifah:
		return "Muzdalifah"
	}
	return string(s)
}

func landmarkName(id string) string {
	switch id {
	case "":
		return ""
	case "jamarat":
		return "the Jamarat bridge"
	case "khayf":
		return "Masjid al-Khayf"
	case "namirah":
		return "Masjid Namirah"
	case "rahmah":
		return "Jabal al-Rahmah"
	}
	return id
}

// campLabel turns "mina-094" into "94"; other ids stay as they are.
func campLabel(id string) string {
	if i := strings.LastIndexByte(id, '-'); i >= 0 {
		if n, err := strconv.Atoi(id[i+1:]); err == nil {
			return strconv.Itoa(n)
		}
	}
	return id
}

func metres(m float64) string {
	if m >= 1000 {
		return fmt.Sprintf("%.1f km", m/1000)
	}
	return fmt.Sprintf("%.0f m", math.Round(m))
}

func percent(p float64) string { return fmt.Sprintf("%.0f %%", 100*p) }
