// Package registry holds who is who: pilgrims, their groups and guides, and the
// devices they carry, indexed in memory for the per-ping and per-request
// lookups; CSV import and export, and the demo generator.
package registry

import "dalil"

// Pilgrim is one registered pilgrim. PID is the pilgrim ID issued after payment.
type Pilgrim struct {
	PID         string   `json:"pid"`
	TrackingNo  string   `json:"tracking_no,omitempty"` // pre-registration tracking number
	Passport    string   `json:"passport,omitempty"`
	NameEN      string   `json:"name_en"`
	NameBN      string   `json:"name_bn,omitempty"`
	Gender      string   `json:"gender,omitempty"` // "M" | "F"
	BirthYear   int      `json:"birth_year,omitempty"`
	Phone       string   `json:"phone,omitempty"`
	Nationality string   `json:"nationality,omitempty"`
	Agency      string   `json:"agency,omitempty"`
	Group       string   `json:"group,omitempty"`
	GuidePID    string   `json:"guide_pid,omitempty"`
	MahramPID   string   `json:"mahram_pid,omitempty"`
	Camp        string   `json:"camp,omitempty"` // assigned camp ID
	Tent        string   `json:"tent,omitempty"` // assigned tent ID
	Devices     []string `json:"devices,omitempty"`
	// DeviceKinds, when set, has one entry per Devices entry: the kind of
	// that device. Import fills it; a missing entry means DevicePhone.
	DeviceKinds []dalil.DeviceKind `json:"device_kinds,omitempty"`
}

// Group is an agency group of 100–300 pilgrims split among guides, or one guide's ~44.
type Group struct {
	ID       string `json:"id"`
	Agency   string `json:"agency,omitempty"`
	GuidePID string `json:"guide_pid,omitempty"`
	Name     string `json:"name,omitempty"`
}
