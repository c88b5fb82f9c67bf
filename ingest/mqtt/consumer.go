package mqtt

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"dalil/ingest"
)

// Config configures the MQTT consumer. Start from DefaultConfig.
type Config struct {
	// Broker is the broker's URL: tcp://host:1883, ssl://host:8883 or
	// ws://host/mqtt.
	Broker string
	// ClientID must be stable across restarts (the broker keeps the
	// session's unacknowledged messages under it) and distinct per Dalil
	// process. Default "dalil-<hostname>".
	ClientID string
	// Username and Password are Dalil's own broker credentials.
	Username, Password string
	// Topic is the subscription filter; its first two "+" levels are the
	// OwnTracks user and device. Default owntracks/+/+ (OwnTracks' default).
	Topic string
	// ShareGroup subscribes as $share/<ShareGroup>/<Topic> so that Dalil
	// processes with the same group split the messages; "" subscribes
	// plainly (one Dalil only; NATS's MQTT listener has no shared
	// subscriptions).
	ShareGroup string
	// Identity is IdentityUserDevice (default) or IdentityUser.
	Identity string
	// Workers process messages in parallel; MaxBatch messages at most go
	// to the store in one write.
	Workers, MaxBatch int
	// Linger is how long a batch waits for more messages before it is
	// stored: one commit then serves many messages (latency traded for
	// CPU, docs/performance.md). The broker limits how many unacknowledged
	// messages it sends at once (Mosquitto: max_inflight_messages, 20 by
	// default), which bounds a batch too.
	Linger time.Duration
	// RetryMax caps the wait between attempts to store a batch the store
	// refused (the messages stay unacknowledged meanwhile).
	RetryMax time.Duration
}

// DefaultConfig returns the defaults documented in docs/ingest.md.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "local"
	}
	return Config{
		ClientID:   "dalil-" + host,
		Topic:      "owntracks/+/+",
		ShareGroup: "dalil",
		Identity:   IdentityUserDevice,
		Workers:    1, // one worker batches best: what arrives during a commit goes into the next
		MaxBatch:   256,
		RetryMax:   5 * time.Second,
		Linger:     5 * time.Millisecond,
	}
}

// Consumer subscribes to OwnTracks locations on an MQTT broker and ingests
// them. Create it with New and run it with Run.
type Consumer struct {
	cfg     Config
	pattern topicPattern
	h       *ingest.Handler
	devices ingest.Devices
	log     *slog.Logger
	seed    maphash.Seed
	queues  []chan paho.Message
	// full[i] is signalled when queues[i] fills: it ends the worker's
	// linger early.
	full []chan struct{}
}

// New checks cfg and returns a consumer feeding h; devices resolves the
// devices that topics name (usually h.Devices(), the registry).
func New(cfg Config, h *ingest.Handler, devices ingest.Devices, log *slog.Logger) (*Consumer, error) {
	def := DefaultConfig()
	if cfg.Broker == "" {
		return nil, errors.New("mqtt: no broker URL")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = def.ClientID
	}
	if cfg.Topic == "" {
		cfg.Topic = def.Topic
	}
	if cfg.Identity == "" {
		cfg.Identity = def.Identity
	}
	if cfg.Identity != IdentityUserDevice && cfg.Identity != IdentityUser {
		return nil, fmt.Errorf("mqtt: identity %q: want %q or %q", cfg.Identity, IdentityUserDevice, IdentityUser)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = def.MaxBatch
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = def.RetryMax
	}
	tp, err := parsePattern(cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	if devices == nil {
		return nil, errors.New("mqtt: no device registry")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Consumer{cfg: cfg, pattern: tp, h: h, devices: devices, log: log, seed: maphash.MakeSeed()}
	for range cfg.Workers {
		c.queues = append(c.queues, make(chan paho.Message, cfg.MaxBatch))
		c.full = append(c.full, make(chan struct{}, 1))
	}
	return c, nil
}

// Subscription is the filter the consumer subscribes to.
func (c *Consumer) Subscription() string {
	if c.cfg.ShareGroup == "" {
		return c.cfg.Topic
	}
	return "$share/" + c.cfg.ShareGroup + "/" + c.cfg.Topic
}

// Run connects (and reconnects) to the broker and ingests until ctx ends,
// then disconnects. Messages received but not yet durable are left
// unacknowledged: the broker delivers them again.
func (c *Consumer) Run(ctx context.Context) error {
	opts := paho.NewClientOptions().
		AddBroker(c.cfg.Broker).
		SetClientID(c.cfg.ClientID).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		SetCleanSession(false). // the broker keeps unacknowledged messages while Dalil restarts
		SetAutoAckDisabled(true).
		SetOrderMatters(false). // the handler blocks while the queue is full: back-pressure on the broker
		SetKeepAlive(30 * time.Second).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(10 * time.Second)
	if bufferedScheme(c.cfg.Broker) {
		opts.SetCustomOpenConnectionFn(openBuffered)
	}
	opts.SetOnConnectHandler(func(cl paho.Client) {
		c.log.Info("mqtt: connected", "broker", c.cfg.Broker, "subscription", c.Subscription())
		// Subscribe on every connect: a broker that lost its state (no
		// persistence) forgets the subscription.
		tok := cl.Subscribe(c.Subscription(), 1, func(_ paho.Client, m paho.Message) { c.enqueue(ctx, m) })
		go func() {
			if tok.WaitTimeout(30*time.Second) && tok.Error() != nil {
				c.log.Error("mqtt: subscribe failed", "subscription", c.Subscription(), "err", tok.Error())
			}
		}()
	})
	opts.SetConnectionLostHandler(func(_ paho.Client, err error) {
		c.log.Warn("mqtt: connection lost; reconnecting", "broker", c.cfg.Broker, "err", err)
	})
	client := paho.NewClient(opts)

	var wg sync.WaitGroup
	for i, q := range c.queues {
		wg.Go(func() { c.work(ctx, q, c.full[i]) })
	}
	tok := client.Connect() // retries in the background until it connects
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			c.log.Error("mqtt: connect", "broker", c.cfg.Broker, "err", err)
		}
	case <-ctx.Done():
	}
	<-ctx.Done()
	client.Disconnect(250)
	wg.Wait()
	return nil
}

// enqueue hands a message to the worker of its topic (one device's messages
// stay in order). It blocks while that worker is busy, which holds back the
// broker's next deliveries.
func (c *Consumer) enqueue(ctx context.Context, m paho.Message) {
	i := maphash.String(c.seed, m.Topic()) % uint64(len(c.queues))
	q := c.queues[i]
	select {
	case q <- m:
	case <-ctx.Done():
		return
	}
	if len(q) == cap(q) {
		select {
		case c.full[i] <- struct{}{}:
		default:
		}
	}
}

// work collects the messages waiting in q into batches and ingests them.
// After a batch's first message it waits for Linger (or until q is full,
// signalled on full) and then takes what q holds: receiving each message as
// it came woke the worker once per message, one goroutine wake-up per fix.
func (c *Consumer) work(ctx context.Context, q chan paho.Message, full chan struct{}) {
	b := c.h.NewBatch(ingest.MQTT)
	msgs := make([]paho.Message, 0, c.cfg.MaxBatch)
	ids := make([]string, 0, c.cfg.MaxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case m := <-q:
			msgs = append(msgs[:0], m)
		case <-ctx.Done():
			return
		}
		if c.cfg.Linger > 0 && len(q) < cap(q) {
			linger.Reset(c.cfg.Linger)
			select {
			case <-linger.C:
			case <-full:
			case <-ctx.Done():
			}
			linger.Stop()
		}
	drain:
		for len(msgs) < c.cfg.MaxBatch {
			select {
			case m := <-q:
				msgs = append(msgs, m)
			default:
				break drain
			}
		}
		c.ingest(ctx, b, msgs, ids)
		clear(msgs)
		clear(ids[:cap(ids)])
	}
}

// ingest stores one batch of messages and acknowledges them once durable,
// retrying with back-off while the store refuses. It returns without
// acknowledging when ctx ends.
func (c *Consumer) ingest(ctx context.Context, b *ingest.Batch, msgs []paho.Message, ids []string) {
	ids = c.identify(b, msgs, ids[:0])
	wait := 100 * time.Millisecond
	for {
		for i, m := range msgs {
			if ids[i] == "" {
				continue
			}
			if err := b.AddOwnTracks(ids[i], m.Payload()); err != nil {
				c.log.Debug("mqtt: message dropped", "topic", m.Topic(), "err", err)
				ids[i] = "" // counted once; not decoded again on a retry
			}
		}
		_, err := b.Commit(ctx)
		if err == nil {
			for _, m := range msgs {
				m.Ack()
			}
			return
		}
		// Commit logged the failure (rate-limited). Not acknowledged: the
		// broker keeps the messages until they are.
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, c.cfg.RetryMax)
	}
}

// identify appends to ids the registered device each message speaks for, ""
// for one that names none: it is counted and dropped (it would never be
// stored) and acknowledged with the rest.
func (c *Consumer) identify(b *ingest.Batch, msgs []paho.Message, ids []string) []string {
	for _, m := range msgs {
		user, device, ok := c.pattern.match(m.Topic())
		id := ""
		switch {
		case !ok:
		case c.cfg.Identity == IdentityUser:
			id = user
		default:
			id = user + "/" + device
		}
		if _, known := c.devices.Device(id); id != "" && !known {
			b.RejectUnknown(1)
			c.log.Debug("mqtt: message of an unregistered device dropped", "topic", m.Topic())
			id = ""
		}
		ids = append(ids, id)
	}
	return ids
}
