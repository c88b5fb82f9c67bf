package tracking

import (
	"fmt"
	"testing"
	"time"

	"dalil/registry"
)

// BenchmarkAlertPublish is the cost the alert monitor adds to every position
// update on the ingest path (Publish only: the work happens on its own
// goroutine). The case locator's share is helpdesk's BenchmarkCaseLocatorPublish.
func BenchmarkAlertPublish(b *testing.B) {
	m := NewAlertMonitor(DefaultAlertConfig(), registry.NewRegistry(), nil, nil, nil)
	states := make([]LiveState, 4096)
	for i := range states {
		states[i] = LiveState{Device: fmt.Sprintf("d%d", i), Pilgrim: fmt.Sprintf("P%d", i), Position: Position{Time: time.Now()}}
	}
	b.Run("serial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			u := Update{State: &states[i%len(states)]}
			m.Publish(u)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				u := Update{State: &states[i%len(states)]}
				m.Publish(u)
				i++
			}
		})
	})
}
