package helpdesk

import (
	"fmt"
	"testing"
	"time"

	"dalil"
)

// BenchmarkCaseLocatorPublish is the cost the case locator adds to every
// position update on the ingest path (Publish only: the work happens on its
// own goroutine).
func BenchmarkCaseLocatorPublish(b *testing.B) {
	book := &CaseBook{cases: map[string]*Case{}}
	book.refreshActive()
	loc := NewCaseLocator(book)
	states := make([]dalil.LiveState, 4096)
	for i := range states {
		states[i] = dalil.LiveState{Device: fmt.Sprintf("d%d", i), Pilgrim: fmt.Sprintf("P%d", i), Position: dalil.Position{Time: time.Now()}}
	}
	b.Run("serial", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			loc.Publish(dalil.Update{State: &states[i%len(states)]})
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				loc.Publish(dalil.Update{State: &states[i%len(states)]})
				i++
			}
		})
	})
}
