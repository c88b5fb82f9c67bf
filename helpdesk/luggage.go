package helpdesk

import (
	"errors"
	"strings"
	"time"
)

// Record kinds of the lost-luggage desk.
const (
	KindLuggage = "luggage" // registered bags, keyed by tag number
	KindFound   = "found"   // found items, keyed by found-item ID
)

// ErrInvalidLuggage is wrapped by errors for a malformed luggage request or a
// step the luggage workflow does not allow.
var ErrInvalidLuggage = errors.New("invalid luggage request")

// ErrLuggageConflict is wrapped by errors for a step that does not fit the
// bag's or found item's state (matching a bag twice, handing it over twice).
var ErrLuggageConflict = errors.New("luggage step not allowed now")

// LuggageStatus is where a bag stands.
type LuggageStatus string

const (
	LuggageRegistered LuggageStatus = "registered" // tagged, with its owner or in transit
	LuggageLost       LuggageStatus = "lost"       // reported lost
	LuggageFound      LuggageStatus = "found"      // matched to a found item, at a helpdesk
	LuggageReturned   LuggageStatus = "returned"   // handed over to the owner
)

// FoundStatus is where a found item stands.
type FoundStatus string

const (
	FoundUnmatched FoundStatus = "unmatched"
	FoundMatched   FoundStatus = "matched"
	FoundReturned  FoundStatus = "returned"
)

// CustodyEntry records a bag changing hands.
type CustodyEntry struct {
	Time time.Time `json:"ts"`
	From string    `json:"from"`
	To   string    `json:"to"`
	By   string    `json:"by"` // who recorded it
	// Signature notes how the receiver confirmed: "signed slip 4411",
	// "thumbprint", "NID checked".
	Signature string `json:"signature,omitempty"`
	Note      string `json:"note,omitempty"`
}

// LuggageEntry is one line of a bag's history.
type LuggageEntry struct {
	Time   time.Time     `json:"ts"`
	By     string        `json:"by"`
	Status LuggageStatus `json:"status"`
	Note   string        `json:"note,omitempty"`
}

// LuggageItem is a tagged bag.
type LuggageItem struct {
	Tag         string        `json:"tag"` // airline or agency tag number
	Owner       string        `json:"owner"`
	Description string        `json:"description,omitempty"`
	Tracker     string        `json:"tracker,omitempty"` // a luggage-tag device ID
	Status      LuggageStatus `json:"status"`
	Registered  time.Time     `json:"registered"`
	Updated     time.Time     `json:"updated"`
	LostAt      time.Time     `json:"lost_at,omitzero"`
	LostPlace   string        `json:"lost_place,omitempty"`
	// Found is the found item this bag was matched to.
	Found   string         `json:"found,omitempty"`
	History []LuggageEntry `json:"history"`
	Custody []CustodyEntry `json:"custody,omitempty"`
}

// FoundItem is something handed in at a helpdesk.
type FoundItem struct {
	ID          string         `json:"id"`
	Time        time.Time      `json:"ts"`
	By          string         `json:"by"`
	Where       string         `json:"where"`
	Lat         float64        `json:"lat,omitempty"`
	Lon         float64        `json:"lon,omitempty"`
	Description string         `json:"description"`
	Tag         string         `json:"tag,omitempty"`   // the tag number, if the tag is still on
	Owner       string         `json:"owner,omitempty"` // a PID read off a name label, if any
	FoundBy     string         `json:"found_by,omitempty"`
	Status      FoundStatus    `json:"status"`
	Match       string         `json:"match,omitempty"` // the bag's tag once matched
	Updated     time.Time      `json:"updated"`
	Custody     []CustodyEntry `json:"custody,omitempty"`
}

// LuggageMatch is a lost bag a found item may be, ranked.
type LuggageMatch struct {
	Tag         string        `json:"tag"`
	Owner       string        `json:"owner"`
	Description string        `json:"description,omitempty"`
	Status      LuggageStatus `json:"status"`
	Score       float64       `json:"score"`  // 0..1
	Reason      string        `json:"reason"` // "tag", "owner", "description"
}

// descriptionWords are the words that identify a bag; common filler is dropped.
func descriptionWords(s string) map[string]bool {
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f)
	}) {
		if len(w) < 3 || descriptionStop[w] {
			continue
		}
		words[strings.TrimSuffix(w, "s")] = true
	}
	return words
}

var descriptionStop = map[string]bool{
	"the": true, "and": true, "with": true, "has": true, "for": true, "from": true,
	"one": true, "its": true, "that": true, "this": true, "was": true, "are": true, "near": true,
}

// descriptionScore is how alike two descriptions are: the share of the found
// item's words the bag's description also has, weighed with the reverse.
func descriptionScore(found, bag map[string]bool) float64 {
	if len(found) == 0 || len(bag) == 0 {
		return 0
	}
	common := 0
	for w := range found {
		if bag[w] {
			common++
		}
	}
	return float64(common) / float64(len(found)+len(bag)-common)
}
