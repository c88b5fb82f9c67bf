// Package dalil holds the nouns every stage of Dalil speaks: a device and its
// position (a ping), the live state and events the tracking engine publishes,
// stored records, and the store's contract and errors. It imports only geo, so
// ingest, the stores, the simulator and every concept package may import it.
package dalil

import "time"

// Source says where a position came from.
type Source uint8

const (
	SourceNative        Source = iota // POST /v1/pings
	SourceOsmAnd                      // Traccar Client / OsmAnd protocol
	SourceOwnTracks                   // OwnTracks HTTP
	SourceSighting                    // QR/NFC scan or operator at a helpdesk
	SourceSimulator                   // in-process simulator
	SourceOwnTracksMQTT               // OwnTracks over MQTT (its default mode)
	SourceGT06                        // GT06 / Concox TCP tracker
	SourceH02                         // H02 TCP tracker
	SourceTeltonika                   // Teltonika Codec 8 / 8E TCP tracker
)

var sourceNames = [...]string{"native", "osmand", "owntracks", "sighting", "simulator",
	"owntracks_mqtt", "gt06", "h02", "teltonika"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "unknown"
}

// Unknown marks an optional float field (speed, heading, altitude, battery) the device did not send.
const Unknown float32 = -1

// Position is one GPS fix of one device: a ping. It is a plain value so that the
// ingest hot path can pass it around without allocating.
type Position struct {
	Device   string    `json:"device"`
	Time     time.Time `json:"ts"`
	Lat      float64   `json:"lat"`
	Lon      float64   `json:"lon"`
	Accuracy float32   `json:"acc"`     // metres, 0 = unknown
	Speed    float32   `json:"speed"`   // m/s, Unknown if not sent
	Heading  float32   `json:"heading"` // degrees from north, Unknown if not sent
	Altitude float32   `json:"alt"`     // metres, Unknown if not sent
	Battery  float32   `json:"batt"`    // percent 0..100, Unknown if not sent
	Source   Source    `json:"source"`
}
