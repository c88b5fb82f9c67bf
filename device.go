package dalil

// DeviceKind is the kind of a tracked device.
type DeviceKind string

const (
	DevicePhone      DeviceKind = "phone"
	DeviceWristband  DeviceKind = "wristband"
	DeviceLuggageTag DeviceKind = "luggage-tag"
)

// Device is a tracked device bound to a pilgrim or to a luggage item.
type Device struct {
	ID      string     `json:"id"` // unique id the device reports (OsmAnd id, OwnTracks user/device, …)
	Kind    DeviceKind `json:"kind"`
	Pilgrim string     `json:"pilgrim,omitempty"`
	Luggage string     `json:"luggage,omitempty"`
}
