package tracker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"dalil"
	"dalil/ingest"
)

// Config limits each connection. Start from DefaultConfig.
type Config struct {
	// MaxFrame is the largest frame a connection may send, in bytes.
	MaxFrame int
	// FrameRate and FrameBurst bound how many frames per second a
	// connection may send; beyond them the server stops reading from it
	// (TCP pushes back on the tracker) and counts the wait.
	FrameRate  float64
	FrameBurst int
	// IdleTimeout closes a connection that sends nothing for this long
	// (trackers send a heartbeat every few minutes). Login must come
	// within LoginTimeout of connecting.
	IdleTimeout, LoginTimeout time.Duration
	// WriteTimeout bounds one reply.
	WriteTimeout time.Duration
	// MaxConns bounds the open connections of one server.
	MaxConns int
	// CommitLinger is how long the fixes of one connection wait for other
	// connections' fixes to share a store commit with (latency traded for
	// CPU: see docs/performance.md). 0 commits at once.
	CommitLinger time.Duration
	// FailedLogins per minute (burst FailedLoginBurst) may come from one
	// source address; beyond, its connections are closed at once.
	FailedLogins     float64
	FailedLoginBurst int
	// RetryStore is how long a location waits for a store that refuses
	// before the connection is closed unacknowledged (the tracker resends).
	RetryStore time.Duration
}

// DefaultConfig returns the defaults documented in docs/ingest.md.
func DefaultConfig() Config {
	return Config{
		MaxFrame:         4096,
		FrameRate:        20,
		FrameBurst:       100,
		IdleTimeout:      15 * time.Minute,
		LoginTimeout:     30 * time.Second,
		WriteTimeout:     10 * time.Second,
		MaxConns:         50000,
		RetryStore:       10 * time.Second,
		CommitLinger:     5 * time.Millisecond,
		FailedLogins:     10,
		FailedLoginBurst: 30,
	}
}

// Devices resolves a tracker's IMEI to its registered device; tracking.Registry
// (and ingest.Handler.Devices) implement it.
type Devices = ingest.Devices

// Server serves one tracker protocol.
type Server struct {
	cfg     Config
	proto   protocol
	h       *ingest.Handler
	devices Devices
	log     *slog.Logger
	m       *protoMetrics
	group   *committer
	refused *refusals
	conns   atomic.Int64
	wg      sync.WaitGroup
}

// protocol is what differs between GT06, H02 and Teltonika: how a
// connection is spoken.
type protocol interface {
	name() string
	kind() ingest.Protocol
	// serve speaks the protocol on c until an error; c.err* helpers say why.
	serve(ctx context.Context, c *conn) error
}

// NewGT06, NewH02 and NewTeltonika return a server of that protocol. m may
// be nil (metrics kept but not registered).
func NewGT06(cfg Config, h *ingest.Handler, devices Devices, m *Metrics, log *slog.Logger) *Server {
	return newServer(cfg, gt06{}, h, devices, m, log)
}

func NewH02(cfg Config, h *ingest.Handler, devices Devices, m *Metrics, log *slog.Logger) *Server {
	return newServer(cfg, h02{}, h, devices, m, log)
}

func NewTeltonika(cfg Config, h *ingest.Handler, devices Devices, m *Metrics, log *slog.Logger) *Server {
	return newServer(cfg, teltonika{}, h, devices, m, log)
}

func newServer(cfg Config, p protocol, h *ingest.Handler, devices Devices, m *Metrics, log *slog.Logger) *Server {
	def := DefaultConfig()
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = def.MaxFrame
	}
	if cfg.FrameRate <= 0 {
		cfg.FrameRate = def.FrameRate
	}
	if cfg.FrameBurst <= 0 {
		cfg.FrameBurst = def.FrameBurst
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = def.IdleTimeout
	}
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = def.LoginTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = def.WriteTimeout
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = def.MaxConns
	}
	if cfg.CommitLinger < 0 {
		cfg.CommitLinger = 0
	}
	if cfg.FailedLogins <= 0 {
		cfg.FailedLogins = def.FailedLogins
	}
	if cfg.FailedLoginBurst <= 0 {
		cfg.FailedLoginBurst = def.FailedLoginBurst
	}
	if cfg.RetryStore <= 0 {
		cfg.RetryStore = def.RetryStore
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, proto: p, h: h, devices: devices, log: log, m: m.of(p.name()), group: newCommitter(h, p.kind(), cfg.CommitLinger),
		refused: newRefusals(cfg.FailedLogins, cfg.FailedLoginBurst)}
}

// Protocol is the server's protocol name: gt06, h02 or teltonika.
func (s *Server) Protocol() string { return s.proto.name() }

// Serve accepts connections on ln until ctx ends, then closes ln and every
// connection and waits for their goroutines. A location being stored when
// ctx ends is not acknowledged: the tracker sends it again.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { <-ctx.Done(); ln.Close() }()
	var committing sync.WaitGroup
	committing.Go(func() { s.group.run(ctx) })
	defer committing.Wait()
	var err error
	for {
		var nc net.Conn
		nc, err = ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				err = nil
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			break
		}
		if s.conns.Load() >= int64(s.cfg.MaxConns) {
			s.m.closed(reasonTooMany).Inc()
			nc.Close()
			continue
		}
		if s.refused.blocked(sourceOf(nc.RemoteAddr()), time.Now()) {
			s.m.closed(reasonRateLimited).Inc()
			nc.Close()
			continue
		}
		s.conns.Add(1)
		s.m.open.Inc()
		s.wg.Go(func() {
			defer func() { s.conns.Add(-1); s.m.open.Dec() }()
			s.handle(ctx, nc)
		})
	}
	cancel()
	s.wg.Wait()
	return err
}

// readBufferSize is each connection's read buffer; it also bounds an H02
// text frame.
const readBufferSize = 1024

// conn is one tracker connection.
type conn struct {
	s       *Server
	nc      net.Conn
	br      *bufio.Reader
	limiter *rate.Limiter
	batch   *ingest.Batch    // counts refusals; fixes go through the server's committer
	done    chan error       // this connection's answer from the committer
	dev     dalil.Device     // zero until login
	pending []dalil.Position // fixes of the frame being handled
	buf     []byte           // frame assembly
	out     []byte           // reply assembly
}

func (s *Server) handle(ctx context.Context, nc net.Conn) {
	c := &conn{
		s:       s,
		nc:      nc,
		br:      bufio.NewReaderSize(nc, readBufferSize),
		limiter: rate.NewLimiter(rate.Limit(s.cfg.FrameRate), s.cfg.FrameBurst),
		batch:   s.h.NewBatch(s.proto.kind()),
		done:    make(chan error, 1),
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.LoginTimeout))
	err := s.proto.serve(ctx, c)
	nc.Close()
	r := closeReason(ctx, err)
	s.m.closed(r).Inc()
	if r == reasonUnknownDevice {
		c.batch.RejectUnknown(1)
		s.refused.failed(sourceOf(nc.RemoteAddr()), time.Now())
	}
	lvl := slog.LevelDebug
	if r == reasonMalformed || r == reasonTooLarge || r == reasonStore {
		lvl = slog.LevelInfo
	}
	s.log.Log(ctx, lvl, "tracker connection closed", "protocol", s.proto.name(), "remote", nc.RemoteAddr().String(),
		"device", c.dev.ID, "reason", r, "err", err)
}

// Reasons a connection closes: the "reason" label of
// dalil_tracker_connections_closed_total.
const (
	reasonEOF           = "eof"            // the tracker hung up
	reasonIdle          = "idle_timeout"   // nothing sent for IdleTimeout (or no login within LoginTimeout)
	reasonMalformed     = "malformed"      // a frame that cannot be decoded (bad start, length, checksum, field)
	reasonTooLarge      = "too_large"      // a frame larger than MaxFrame
	reasonUnknownDevice = "unknown_device" // IMEI not registered as a wristband or luggage tag
	reasonNoLogin       = "no_login"       // data before the login frame
	reasonStore         = "store_failed"   // the store refused for RetryStore: unacknowledged, the tracker resends
	reasonShutdown      = "shutdown"       // the server stopped
	reasonTooMany       = "too_many_connections"
	reasonRateLimited   = "rate_limited" // too many failed logins from the source address
	reasonIOError       = "io_error"
)

var allReasons = []string{reasonEOF, reasonIdle, reasonMalformed, reasonTooLarge, reasonUnknownDevice,
	reasonNoLogin, reasonStore, reasonShutdown, reasonTooMany, reasonRateLimited, reasonIOError}

// Errors the protocol loops return; closeReason maps them to reasons.
var (
	errMalformed     = errors.New("malformed frame")
	errTooLarge      = errors.New("frame too large")
	errUnknownDevice = errors.New("unknown device")
	errNoLogin       = errors.New("data before login")
	errStore         = errors.New("store unavailable")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

func closeReason(ctx context.Context, err error) string {
	switch {
	case ctx.Err() != nil:
		return reasonShutdown
	case errors.Is(err, errMalformed), errors.Is(err, bufio.ErrBufferFull):
		return reasonMalformed
	case errors.Is(err, errTooLarge):
		return reasonTooLarge
	case errors.Is(err, errUnknownDevice):
		return reasonUnknownDevice
	case errors.Is(err, errNoLogin):
		return reasonNoLogin
	case errors.Is(err, errStore):
		return reasonStore
	case errors.Is(err, os.ErrDeadlineExceeded):
		return reasonIdle
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return reasonEOF
	}
	return reasonIOError
}

// frameStart is called by a protocol loop before it reads each frame: it
// waits for the rate limit and arms the idle deadline.
func (c *conn) frameStart(ctx context.Context) error {
	if !c.limiter.Allow() {
		c.s.m.throttled.Inc()
		if err := c.limiter.Wait(ctx); err != nil {
			return err
		}
	}
	if c.dev.ID != "" {
		return c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
	}
	return nil
}

// login identifies the connection's tracker by IMEI. Unregistered IMEIs and
// devices that are not trackers get the same error.
func (c *conn) login(imei string) error {
	d, ok := c.s.devices.Device(imei)
	if !ok || (d.Kind != dalil.DeviceWristband && d.Kind != dalil.DeviceLuggageTag) {
		return errUnknownDevice
	}
	c.dev = d
	return c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
}

// add queues one fix of the logged-in device; commit makes them durable.
func (c *conn) add(p dalil.Position) {
	p.Device = c.dev.ID
	c.pending = append(c.pending, p)
}

// noFix counts a record that carried no valid GPS fix (skipped, but
// acknowledged: resending it would not give it one).
func (c *conn) noFix() { c.s.m.noFix.Inc() }

// commit stores the queued fixes, retrying a refusing store with back-off
// for up to RetryStore. An error means nothing was stored and the frame must
// not be acknowledged.
func (c *conn) commit(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	deadline := time.Now().Add(c.s.cfg.RetryStore)
	wait := 50 * time.Millisecond
	for {
		err := c.s.group.commit(ctx, c.pending, c.done)
		if err == nil {
			c.pending = c.pending[:0]
			return nil
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("%w: %v", errStore, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, time.Second)
	}
}

// write sends a reply within WriteTimeout.
func (c *conn) write(b []byte) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	_, err := c.nc.Write(b)
	return err
}
