package send

import (
	"fmt"
	"hash/fnv"
)

// Protocol is how pings reach the server.
type Protocol string

const (
	// OsmAnd is the Traccar Client / OsmAnd protocol: GET or POST
	// /ingest/osmand with the fix in the query string, a form body, or the
	// JSON body of Traccar Client 9.
	OsmAnd Protocol = "osmand"
	// OwnTracks is OwnTracks HTTP mode: POST /ingest/owntracks with a
	// _type:"location" JSON body and X-Limit-U / X-Limit-D headers.
	OwnTracks Protocol = "owntracks"
	// Native is Dalil's own batches: POST /v1/pings, NDJSON, with the
	// device's bearer token.
	Native Protocol = "native"
	// Mixed gives each device one of the three, fixed by its id, as a real
	// crowd of phones, wristbands and tags would.
	Mixed Protocol = "mixed"
)

// Protocols lists the protocols a flag may name.
var Protocols = []Protocol{OsmAnd, OwnTracks, Native, Mixed}

// ParseProtocol checks a protocol name.
func ParseProtocol(s string) (Protocol, error) {
	for _, p := range Protocols {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown protocol %q (want osmand, owntracks, native or mixed)", s)
}

// For returns the protocol one device uses: p itself, or for Mixed a choice
// fixed by the device id.
func (p Protocol) For(device string) Protocol {
	if p != Mixed {
		return p
	}
	return []Protocol{OsmAnd, OwnTracks, Native}[hash(device)%3]
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
