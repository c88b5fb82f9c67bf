package tracking

// cmpString orders two strings for the engine's sorted answers.
func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
