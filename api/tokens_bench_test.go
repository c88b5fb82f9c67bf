package api

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkDeviceForToken is what the secure default adds to every OsmAnd
// and OwnTracks request: the SHA-256 of the presented id or token and a map
// lookup, among 100,000 enrolled devices.
func BenchmarkDeviceForToken(b *testing.B) {
	ts := newTokenStore(nil, nil)
	var secret string
	for i := range 100_000 {
		secret = tokenPrefix + randomString(24)
		ts.byHash[hashToken(secret)] = TokenInfo{ID: "tok_" + strconv.Itoa(i), Role: RoleDevice, Subject: "enr-" + strconv.Itoa(i)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.DeviceForToken(ctx, secret); err != nil {
			b.Fatal(err)
		}
	}
}
