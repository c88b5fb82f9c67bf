// Package tracking is the engine: the live state of every device placed in the
// layout, trails, enter/exit events with hysteresis, and the group alerts.
package tracking

import (
	"dalil"
	"dalil/registry"
)

// The engine and the alert monitor speak the shared nouns of package dalil
// and the registry's unqualified: these aliases keep their code short and
// unchanged since the nouns moved out of this package. New code outside tracking names them
// dalil.X.
type (
	Device     = dalil.Device
	DeviceKind = dalil.DeviceKind
	Event      = dalil.Event
	EventKind  = dalil.EventKind
	LiveState  = dalil.LiveState
	Position   = dalil.Position
	Publisher  = dalil.Publisher
	Record     = dalil.Record
	Source     = dalil.Source
	Store      = dalil.Store
	Update     = dalil.Update

	DeviceOwner = registry.DeviceOwner
	Group       = registry.Group
	Pilgrim     = registry.Pilgrim
	Registry    = registry.Registry
)

const (
	DeviceLuggageTag = dalil.DeviceLuggageTag
	DevicePhone      = dalil.DevicePhone
	DeviceWristband  = dalil.DeviceWristband
	EventCampEnter   = dalil.EventCampEnter
	EventCampExit    = dalil.EventCampExit
	EventOutsideCamp = dalil.EventOutsideCamp
	EventRejoined    = dalil.EventRejoined
	EventSeparation  = dalil.EventSeparation
	EventSiteEnter   = dalil.EventSiteEnter
	EventSiteExit    = dalil.EventSiteExit
	EventTentEnter   = dalil.EventTentEnter
	EventTentExit    = dalil.EventTentExit
	SourceNative     = dalil.SourceNative
	SourceOsmAnd     = dalil.SourceOsmAnd
	Unknown          = dalil.Unknown
)

// The store's sentinel errors, the same values as dalil's (errors.Is holds).
var (
	ErrNotFound    = dalil.ErrNotFound
	ErrStopScan    = dalil.ErrStopScan
	ErrUnavailable = dalil.ErrUnavailable
)
