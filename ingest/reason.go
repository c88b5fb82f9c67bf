package ingest

// reason says why a ping or a request was refused. Its name is the value of
// the "reason" label of dalil_pings_rejected_total and of the "reason" field in
// native batch answers, so names are part of the API: never rename one.
type reason uint8

const (
	reasonNone          reason = iota
	reasonMalformed            // the ping could not be decoded: syntax, missing or non-numeric field
	reasonNotFinite            // NaN or ±Inf coordinates
	reasonOutOfRange           // |lat| > 90 or |lon| > 180
	reasonNullIsland           // exactly (0,0): a device with no fix
	reasonFuture               // timestamp later than now + MaxFuture
	reasonTooOld               // timestamp earlier than now - MaxAge
	reasonLowAccuracy          // accuracy radius larger than MaxAccuracy
	reasonDuplicate            // the same fix (time and place) was already accepted
	reasonJump                 // implied speed from the nearest-in-time accepted fix beyond the bound
	reasonWrongDevice          // a native item names another device than the token's
	reasonUnknownDevice        // the device id is not registered
	reasonTooLarge             // body larger than the limit, or more pings than MaxBatch
	reasonUnauthorized         // missing or bad device token
	reasonResent               // a single-ping client resent a ping that was rejected already
	reasonRateLimited          // the source address spent its budget of failed device authentications
	numReasons
)

var reasonNames = [numReasons]string{
	reasonNone:          "none",
	reasonMalformed:     "malformed",
	reasonNotFinite:     "not_finite",
	reasonOutOfRange:    "out_of_range",
	reasonNullIsland:    "null_island",
	reasonFuture:        "future",
	reasonTooOld:        "too_old",
	reasonLowAccuracy:   "low_accuracy",
	reasonDuplicate:     "duplicate",
	reasonJump:          "jump",
	reasonWrongDevice:   "wrong_device",
	reasonUnknownDevice: "unknown_device",
	reasonTooLarge:      "too_large",
	reasonUnauthorized:  "unauthorized",
	reasonResent:        "resent_rejected",
	reasonRateLimited:   "rate_limited",
}

// reasonDetails is the human explanation sent with a rejection.
var reasonDetails = [numReasons]string{
	reasonNone:          "",
	reasonMalformed:     "could not be decoded",
	reasonNotFinite:     "coordinates are NaN or infinite",
	reasonOutOfRange:    "latitude must be within ±90 and longitude within ±180",
	reasonNullIsland:    "coordinates are (0,0): the device has no fix",
	reasonFuture:        "timestamp is too far in the future; check the device clock",
	reasonTooOld:        "timestamp is older than the oldest accepted age",
	reasonLowAccuracy:   "accuracy radius is too large to place the device",
	reasonDuplicate:     "this fix was already received",
	reasonJump:          "implausible jump: speed from the previous fix is beyond the bound",
	reasonWrongDevice:   "a device may post only its own pings",
	reasonUnknownDevice: "device is not registered",
	reasonTooLarge:      "request body or batch is too large",
	reasonUnauthorized:  "the device did not prove itself",
	reasonResent:        "this ping was rejected before and is not retried",
	reasonRateLimited:   "too many failed device authentications from this address",
}

func (r reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// fault is a decode or filter failure of one ping: the reason, and for decode
// failures the field at fault and what is wrong with it. All strings are
// constants or strings the request already owns, so a fault never allocates.
type fault struct {
	reason reason
	field  string
	msg    string
}

func (f fault) detail() string {
	if f.msg != "" {
		return f.msg
	}
	return reasonDetails[f.reason]
}

// appendText appends "reason: field: message" to b.
func (f fault) appendText(b []byte) []byte {
	b = append(b, reasonNames[f.reason]...)
	b = append(b, ": "...)
	if f.field != "" {
		b = append(b, f.field...)
		b = append(b, ": "...)
	}
	return append(b, f.detail()...)
}
