package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Close codes the hub sends.
const (
	closeGoingAway    = websocket.CloseGoingAway       // server shutting down
	closeTooSlow      = websocket.ClosePolicyViolation // client fell behind
	closeTryAgainLate = websocket.CloseTryAgainLater
)

// pendingPosition is the newest position of one pilgrim waiting for a client.
type pendingPosition struct {
	key string
	msg []byte
}

// client is one websocket connection. Publishers put messages in its queues
// under mu (never blocking); its writer goroutine drains them to the socket.
type client struct {
	hub  *Hub
	conn *websocket.Conn
	p    Principal
	ctx  context.Context // the upgraded request's, for audit writes

	// subs is guarded by hub.mu.
	subs map[string]*subscription

	mu      sync.Mutex
	ctrl    [][]byte // snapshots, replies, events: in order, never coalesced
	pend    []pendingPosition
	pendIdx map[string]int // key → index in pend
	dead    bool
	reason  string
	code    int
	wake    chan struct{} // cap 1: "there is something to write"
	done    chan struct{} // closed when the client is killed
}

func newClient(h *Hub, conn *websocket.Conn, p Principal) *client {
	return &client{
		hub: h, conn: conn, p: p,
		subs:    map[string]*subscription{},
		pendIdx: map[string]int{},
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueuePosition queues msg as the newest position for key, replacing an
// unsent older one. It never blocks.
func (c *client) enqueuePosition(key string, msg []byte) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	if i, ok := c.pendIdx[key]; ok {
		c.pend[i].msg = msg
		c.mu.Unlock()
		c.hub.coalesced.Add(1)
		return
	}
	if len(c.pend) >= c.hub.cfg.QueueSize {
		c.mu.Unlock()
		c.kill(closeTooSlow, "too slow: more than the queue's pending positions")
		return
	}
	c.pendIdx[key] = len(c.pend)
	c.pend = append(c.pend, pendingPosition{key, msg})
	first := len(c.pend) == 1 && len(c.ctrl) == 0
	c.mu.Unlock()
	c.hub.enqueued.Add(1)
	if first {
		c.signal()
	}
}

// enqueueControl queues a message that must not be coalesced (events,
// snapshots, replies). It never blocks.
func (c *client) enqueueControl(msg []byte) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	if len(c.ctrl) >= c.hub.cfg.ControlQueue {
		c.mu.Unlock()
		c.kill(closeTooSlow, "too slow: event queue full")
		return
	}
	c.ctrl = append(c.ctrl, msg)
	c.mu.Unlock()
	c.hub.enqueued.Add(1)
	c.signal()
}

// kill marks the client dead; the writer sends the close frame and closes the
// connection. Safe from any goroutine, never blocks.
func (c *client) kill(code int, reason string) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead, c.code, c.reason = true, code, reason
	c.ctrl, c.pend = nil, nil
	clear(c.pendIdx)
	c.mu.Unlock()
	if code == closeTooSlow {
		c.hub.dropped.Add(1)
	}
	close(c.done)
}

// writeLoop drains the queues to the socket and pings every PingInterval. It
// owns all writes except the final close frame's deadline handling.
func (c *client) writeLoop() {
	defer c.hub.wg.Done()
	cfg := &c.hub.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	var ctrl [][]byte
	var pend []pendingPosition
	for {
		select {
		case <-c.done:
			c.finish()
			return
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.kill(websocket.CloseAbnormalClosure, "ping failed")
			}
			continue
		case <-c.wake:
		}
		c.mu.Lock()
		ctrl, c.ctrl = c.ctrl, ctrl[:0]
		pend, c.pend = c.pend, pend[:0]
		clear(c.pendIdx)
		c.mu.Unlock()

		if len(ctrl)+len(pend) == 0 {
			continue
		}
		_ = c.conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
		n := 0
		var err error
		for _, m := range ctrl {
			if err = c.write(m); err != nil {
				break
			}
			n++
		}
		if err == nil {
			for i := range pend {
				if err = c.write(pend[i].msg); err != nil {
					break
				}
				n++
			}
		}
		c.hub.delivered.Add(uint64(n))
		clear(ctrl)
		clear(pend)
		if err != nil && err != errKilled {
			c.kill(websocket.CloseAbnormalClosure, "write failed: "+err.Error())
		}
	}
}

// errKilled stops a batch when the client was disconnected meanwhile.
var errKilled = errors.New("client disconnected")

func (c *client) write(m []byte) error {
	select {
	case <-c.done:
		return errKilled
	default:
	}
	return c.conn.WriteMessage(websocket.TextMessage, m)
}

// finish sends the close frame with the reason (best effort: a client that
// does not read may have a full socket) and closes the connection.
func (c *client) finish() {
	c.mu.Lock()
	code, reason := c.code, c.reason
	c.mu.Unlock()
	if code != websocket.CloseAbnormalClosure {
		msg := websocket.FormatCloseMessage(code, reason)
		_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	}
	_ = c.conn.Close()
}
