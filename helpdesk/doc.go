// Package helpdesk is the operators' work: search for a pilgrim or a bag, the
// lost-case book and its locator, sightings, and lost and found luggage. It
// reads the registry and the tracking engine and keeps its records in the
// store; it knows nothing of HTTP.
package helpdesk
