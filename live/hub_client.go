package live

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Close codes the hub sends.
const (
	closeGoingAway = websocket.CloseGoingAway       // server shutting down
	closeTooSlow   = websocket.ClosePolicyViolation // client fell behind
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
	// token is the id of the token the subscriber signed in with, so that
	// revoking it ends the connection; pol decides what it may follow.
	token string
	pol   Policy
	ctx   context.Context // the upgraded request's, for audit writes

	// subs is guarded by hub.mu.
	subs map[string]*subscription

	mu      sync.Mutex
	ctrl    [][]byte // snapshots, replies, events: in order, never coalesced
	pend    []pendingPosition
	pendIdx map[string]int // key → index in pend
	pong    []byte         // payload of the last ping to answer
	pongDue bool
	dead    bool
	reason  string
	code    int
	wake    chan struct{} // cap 1: "there is something to write"
	done    chan struct{} // closed when the client is killed
}

func newClient(h *Hub, conn *websocket.Conn, token string, pol Policy) *client {
	return &client{
		hub: h, conn: conn, token: token, pol: pol,
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
		c.dropSlow("too slow: more than the queue's pending positions")
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
		c.dropSlow("too slow: event queue full")
		return
	}
	c.ctrl = append(c.ctrl, msg)
	c.mu.Unlock()
	c.hub.enqueued.Add(1)
	c.signal()
}

// dropSlow disconnects a client that fell behind, counting it.
func (c *client) dropSlow(reason string) {
	if c.kill(closeTooSlow, reason) {
		c.hub.dropped.Add(1)
	}
}

// kill marks the client dead; the writer sends the close frame and closes the
// connection. Safe from any goroutine, never blocks. It reports whether this
// call killed it.
func (c *client) kill(code int, reason string) (first bool) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return false
	}
	c.dead, c.code, c.reason = true, code, reason
	c.ctrl, c.pend = nil, nil
	clear(c.pendIdx)
	c.mu.Unlock()
	close(c.done)
	return true
}

// writeLoop drains the queues to the socket and pings every PingInterval.
// It writes frames itself, many per write call: a client that fell behind
// gets its whole backlog in one syscall instead of one per message, so the
// server works less exactly when it is busiest. Every write call carries
// whole frames, so the rare control frame gorilla writes itself (on a
// protocol error) cannot split one.
func (c *client) writeLoop() {
	defer c.hub.wg.Done()
	cfg := &c.hub.cfg
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	var ctrl [][]byte
	var pend []pendingPosition
	var buf []byte
	for {
		pingDue := false
		select {
		case <-c.done:
			c.finish()
			return
		case <-ping.C:
			pingDue = true
		case <-c.wake:
		}
		c.mu.Lock()
		ctrl, c.ctrl = c.ctrl, ctrl[:0]
		pend, c.pend = c.pend, pend[:0]
		clear(c.pendIdx)
		pong, pongDue := c.pong, c.pongDue
		c.pong, c.pongDue = nil, false
		c.mu.Unlock()

		buf = buf[:0]
		if pingDue {
			buf = appendFrame(buf, opPing, nil)
		}
		if pongDue {
			buf = appendFrame(buf, opPong, pong)
		}
		n := len(ctrl) + len(pend)
		var err error
		for _, m := range ctrl {
			if buf = appendFrame(buf, opText, m); len(buf) >= maxWriteBatch {
				if buf, err = c.flush(buf); err != nil {
					break
				}
			}
		}
		for i := range pend {
			if err != nil {
				break
			}
			if buf = appendFrame(buf, opText, pend[i].msg); len(buf) >= maxWriteBatch {
				buf, err = c.flush(buf)
			}
		}
		if err == nil && len(buf) > 0 {
			buf, err = c.flush(buf)
		}
		if err == nil {
			c.hub.delivered.Add(uint64(n))
		}
		clear(ctrl)
		clear(pend)
		if cap(buf) > 4*maxWriteBatch {
			buf = nil // one burst should not pin a large buffer per client
		}
		if err != nil && err != errKilled {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.hub.dropped.Add(1) // stopped reading: fell behind for good
			}
			c.kill(websocket.CloseAbnormalClosure, "write failed: "+err.Error())
		}
	}
}

// maxWriteBatch is the most bytes given to one write call.
const maxWriteBatch = 64 << 10

// Websocket opcodes (RFC 6455 §5.2).
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xa
)

// appendFrame appends one unmasked, final server frame (RFC 6455 §5.2).
func appendFrame(b []byte, op byte, payload []byte) []byte {
	b = append(b, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// errKilled stops a batch when the client was disconnected meanwhile.
var errKilled = errors.New("client disconnected")

// flush writes buf with the write timeout and returns it emptied.
func (c *client) flush(buf []byte) ([]byte, error) {
	select {
	case <-c.done:
		return buf[:0], errKilled
	default:
	}
	nc := c.conn.NetConn()
	_ = nc.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteTimeout))
	_, err := nc.Write(buf)
	return buf[:0], err
}

// onPing queues the pong (gorilla's default handler would write it from the
// reader goroutine, resetting the writer's deadline).
func (c *client) onPing(data string) error {
	c.mu.Lock()
	c.pong, c.pongDue = []byte(data), true
	c.mu.Unlock()
	c.signal()
	return nil
}

// finish sends the close frame with the reason (best effort: a client that
// does not read may have a full socket) and closes the connection.
func (c *client) finish() {
	c.mu.Lock()
	code, reason := c.code, c.reason
	c.mu.Unlock()
	if code != websocket.CloseAbnormalClosure {
		nc := c.conn.NetConn()
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = nc.Write(appendFrame(nil, opClose, websocket.FormatCloseMessage(code, reason)))
	}
	_ = c.conn.Close()
}
