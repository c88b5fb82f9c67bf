package send

import "encoding/json"

// mustJSON marshals values that hold only numbers, strings and bools.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("send: " + err.Error()) // unreachable for the plain structs above
	}
	return b
}
