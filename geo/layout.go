// Package geo models the camps and tents of Mina and Arafat, indexes them with H3
// and answers "where is this point" and "how do I walk to my tent".
// It knows nothing of pilgrims.
package geo

// Site names a holy site. Mina and Arafat hold camps; Muzdalifah is an open area.
type Site string

const (
	SiteMina       Site = "mina"
	SiteArafat     Site = "arafat"
	SiteMuzdalifah Site = "muzdalifah"
)

// Point is a WGS84 position in degrees.
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Ring is a closed polygon ring, first point repeated last, counter-clockwise for
// outer rings (RFC 7946).
type Ring []Point

// Camp is a fenced, numbered camp ("maktab").
type Camp struct {
	ID       string  // "mina-094", "arafat-012"
	Site     Site    // mina | arafat
	Number   int     // 94
	Zone     int     // Mina zone 1..7; 0 at Arafat
	Category string  // "A".."D"
	Capacity int     // pilgrims
	Polygon  Ring    // the fence
	Gates    []Point // points on the fence where pilgrims enter
}

// Tent is one tent inside a camp.
type Tent struct {
	ID       string // "mina-094/3"
	Camp     string // camp ID
	Number   int
	Capacity int
	Polygon  Ring
}

// Area is a named region without camps (Muzdalifah) or a site's outline.
type Area struct {
	ID      string
	Site    Site
	Name    string
	Polygon Ring
}

// Layout is the whole map: sites, camps and tents. Loaders validate it fully
// before returning it, so a Layout in hand is always consistent.
type Layout struct {
	Areas []Area
	Camps []Camp
	Tents []Tent

	// Lookup tables, built once by the constructors (Generate, ReadGeoJSON,
	// NewLayout) and never changed afterwards, so a *Layout is safe to share
	// between goroutines. A Layout built by hand without them still answers
	// the accessors, by scanning.
	lookup *lookup
}
