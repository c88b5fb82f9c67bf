package live

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"dalil"
)

// BenchmarkHubPublish measures Publish alone — routing one ping to its
// subscribers' queues — with 9,900 guides following a group each and 100
// operators watching a ~100 m bbox, over two million pilgrims in Mina. The
// queues are drained by a goroutine per client without a socket, so the
// figure is the hub's cost per ping, apart from websocket writes.
func BenchmarkHubPublish(b *testing.B) {
	const pilgrims, groupSize, guides, operators = 2_000_000, 44, 9900, 100
	h := NewHub(DefaultHubConfig(), nil)
	rng := rand.New(rand.NewPCG(3, 4))
	stop := make(chan struct{})
	defer close(stop)
	for i := range guides + operators {
		c := newClient(h, nil, "", nil)
		var t Topic
		if i < operators {
			lat := minaMinLat + rng.Float64()*(minaMaxLat-minaMinLat-0.001)
			lon := minaMinLon + rng.Float64()*(minaMaxLon-minaMinLon-0.001)
			t = Topic{Kind: TopicBBox, MinLon: lon, MinLat: lat, MaxLon: lon + 0.001, MaxLat: lat + 0.001}
		} else {
			t = Topic{Kind: TopicGroup, ID: "G" + strconv.Itoa(i*4)} // every 4th group is watched
		}
		h.add(&subscription{c: c, topic: t})
		go func() { // drain like a writer that never falls behind
			for {
				select {
				case <-stop:
					return
				case <-c.wake:
				}
				c.mu.Lock()
				c.ctrl, c.pend = c.ctrl[:0], c.pend[:0]
				clear(c.pendIdx)
				c.mu.Unlock()
			}
		}()
	}
	// Pre-built states: the benchmark times the hub, not ID formatting.
	states := make([]dalil.LiveState, 1<<16)
	for i := range states {
		p := rng.IntN(pilgrims)
		is := strconv.Itoa(p)
		states[i] = dalil.LiveState{Device: "D" + is, Pilgrim: "P" + is, Group: "G" + strconv.Itoa(p/groupSize),
			Position: dalil.Position{Lat: minaMinLat + rng.Float64()*(minaMaxLat-minaMinLat),
				Lon: minaMinLon + rng.Float64()*(minaMaxLon-minaMinLon), Time: time.Now(), Battery: dalil.Unknown}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.Publish(dalil.Update{State: &states[i&(len(states)-1)]})
	}
	b.StopTimer()
	st := h.Stats()
	b.ReportMetric(float64(st.Enqueued)/float64(b.N), "msgs/ping")
}
