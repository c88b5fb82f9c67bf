package geo

// MaxCandidates bounds the tents listed for one fix, so that Locate never allocates.
const MaxCandidates = 8

// TentCandidate is a tent the true position may lie in, with the probability
// that it does given the fix's accuracy circle.
type TentCandidate struct {
	Tent        string  `json:"tent"`
	Probability float64 `json:"probability"`
}

// Location answers "where is this point". GPS error (5–13 m) exceeds a tent
// (8 m), so the camp is reliable while the tent is a probability: Tent is the
// most likely tent and Candidates lists every tent the accuracy circle touches,
// with probabilities summing to 1 (including the street, see StreetProbability).
type Location struct {
	Site       Site   `json:"site,omitempty"`
	Zone       int    `json:"zone,omitempty"`
	Camp       string `json:"camp,omitempty"`        // camp ID, "" when in a street
	CampNumber int    `json:"camp_number,omitempty"` //
	Tent       string `json:"tent,omitempty"`        // tent containing the point, "" when none
	// NearCamps names the nearest camps when the point is outside every camp
	// ("in the street between camps 94 and 95").
	NearCamps [2]string `json:"near_camps,omitempty"`
	// EdgeDistanceM is the distance from the point to the nearest camp or tent edge.
	EdgeDistanceM float64 `json:"edge_distance_m"`
	// Cell is the H3 cell of the point at the index resolution.
	Cell uint64 `json:"cell,string"`

	// AccuracyM is the accuracy the fix was placed with (the 68 % radius in
	// metres; 10 when the device gave none).
	AccuracyM float64 `json:"accuracy_m,omitempty"`
	// Area names a landmark area containing the point ("jamarat", "khayf").
	Area string `json:"area,omitempty"`

	// The posterior's answer (Index.Refine), set only where Dalil locates a
	// pilgrim rather than a point: Camp is then the camp with the most
	// probability, CampProbability its probability (of no camp when Camp is
	// ""), Tent the most probable tent and TentProbability its
	// probability; FusedFixes is how many independent fixes it rests on.
	CampProbability float64 `json:"camp_probability,omitempty"`
	TentProbability float64 `json:"tent_probability,omitempty"`
	FusedFixes      float64 `json:"fused_fixes,omitempty"`
	Posterior       bool    `json:"posterior,omitempty"`

	NumCandidates     int                          `json:"-"`
	CandidateArr      [MaxCandidates]TentCandidate `json:"-"`
	StreetProbability float64                      `json:"street_probability"`
}

// Candidates returns the candidate tents, most likely first. The slice aliases
// the Location; copy it to keep it.
func (l *Location) Candidates() []TentCandidate { return l.CandidateArr[:l.NumCandidates] }

// Locator is what the rest of Dalil needs from geo. *Index implements it.
type Locator interface {
	// Locate places a fix with accuracy accM metres (0 = unknown: assume 10 m).
	Locate(lat, lon, accM float64) Location
}
