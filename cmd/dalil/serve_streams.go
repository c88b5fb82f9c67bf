package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"dalil/api"
	"dalil/ingest/mqtt"
	"dalil/ingest/tracker"
)

// streamOptions are the flags of the protocols that do not come over the
// API's HTTP port: OwnTracks over MQTT and the TCP trackers. All are off
// unless given.
type streamOptions struct {
	mqttBroker, mqttUser, mqttPassword, mqttClientID string
	mqttTopic, mqttShareGroup, mqttIdentity          string
	gt06Addr, h02Addr, teltonikaAddr                 string
	trackerMaxFrame                                  int
	trackerFrameRate                                 float64
	trackerIdle                                      time.Duration
}

func addStreamFlags(fs *flag.FlagSet, getenv env, o *streamOptions, errs *[]error) {
	md := mqtt.DefaultConfig()
	fs.StringVar(&o.mqttBroker, "mqtt-broker", getenv.str("DALIL_MQTT_BROKER", ""), "subscribe to OwnTracks locations on this MQTT broker, e.g. tcp://127.0.0.1:1883; empty: off (DALIL_MQTT_BROKER)")
	fs.StringVar(&o.mqttUser, "mqtt-user", getenv.str("DALIL_MQTT_USER", ""), "Dalil's own MQTT user name (DALIL_MQTT_USER)")
	fs.StringVar(&o.mqttPassword, "mqtt-password", getenv.str("DALIL_MQTT_PASSWORD", ""), "Dalil's own MQTT password; prefer the environment variable (DALIL_MQTT_PASSWORD)")
	fs.StringVar(&o.mqttClientID, "mqtt-client-id", getenv.str("DALIL_MQTT_CLIENT_ID", md.ClientID), "MQTT client id: stable across restarts, distinct per Dalil process (DALIL_MQTT_CLIENT_ID)")
	fs.StringVar(&o.mqttTopic, "mqtt-topic", getenv.str("DALIL_MQTT_TOPIC", md.Topic), "topic filter whose two + levels are the OwnTracks user and device (DALIL_MQTT_TOPIC)")
	fs.StringVar(&o.mqttShareGroup, "mqtt-share-group", getenv.str("DALIL_MQTT_SHARE_GROUP", md.ShareGroup), "shared subscription group ($share/<group>/…) so Dalil processes split the load; empty or none: plain subscription, e.g. for NATS (DALIL_MQTT_SHARE_GROUP)")
	fs.StringVar(&o.mqttIdentity, "mqtt-identity", getenv.str("DALIL_MQTT_IDENTITY", md.Identity), `registered device a topic names: "user/device" or "user" (DALIL_MQTT_IDENTITY)`)
	td := tracker.DefaultConfig()
	fs.StringVar(&o.gt06Addr, "gt06-addr", getenv.str("DALIL_GT06_ADDR", ""), "serve GT06 (Concox) trackers on this address, e.g. :5023; empty: off (DALIL_GT06_ADDR)")
	fs.StringVar(&o.h02Addr, "h02-addr", getenv.str("DALIL_H02_ADDR", ""), "serve H02 trackers on this address, e.g. :5013; empty: off (DALIL_H02_ADDR)")
	fs.StringVar(&o.teltonikaAddr, "teltonika-addr", getenv.str("DALIL_TELTONIKA_ADDR", ""), "serve Teltonika (Codec 8/8E) trackers on this address, e.g. :5027; empty: off (DALIL_TELTONIKA_ADDR)")
	fs.IntVar(&o.trackerMaxFrame, "tracker-max-frame", int(getenv.integer("DALIL_TRACKER_MAX_FRAME", int64(td.MaxFrame), errs)), "largest tracker frame, bytes; a larger one closes its connection (DALIL_TRACKER_MAX_FRAME)")
	fs.Float64Var(&o.trackerFrameRate, "tracker-frame-rate", getenv.float("DALIL_TRACKER_FRAME_RATE", td.FrameRate, errs), "frames per second one tracker connection may send before it is slowed (DALIL_TRACKER_FRAME_RATE)")
	fs.DurationVar(&o.trackerIdle, "tracker-idle-timeout", getenv.duration("DALIL_TRACKER_IDLE_TIMEOUT", td.IdleTimeout, errs), "close a tracker connection silent this long (DALIL_TRACKER_IDLE_TIMEOUT)")
}

// startStreams builds the enabled stream protocols and registers them as
// background tasks of srv: they start once the live state is rebuilt and
// stop, unacknowledged work left for redelivery, at shutdown.
func startStreams(srv *api.Server, o streamOptions, log *slog.Logger) error {
	var closers []net.Listener
	if o.mqttBroker != "" {
		cfg := mqtt.DefaultConfig()
		cfg.Broker, cfg.Username, cfg.Password = o.mqttBroker, o.mqttUser, o.mqttPassword
		cfg.ClientID, cfg.Topic, cfg.ShareGroup, cfg.Identity = o.mqttClientID, o.mqttTopic, o.mqttShareGroup, o.mqttIdentity
		if cfg.ShareGroup == "none" { // an empty environment variable reads as unset
			cfg.ShareGroup = ""
		}
		c, err := mqtt.New(cfg, srv.Ingest(), srv.Ingest().Devices(), log)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		srv.OnRun(func(ctx context.Context) {
			if err := c.Run(ctx); err != nil {
				log.Error("mqtt ingest stopped", "err", err)
			}
		})
		log.Info("mqtt ingest enabled", "broker", redactURL(o.mqttBroker), "subscription", c.Subscription(), "identity", cfg.Identity)
	}
	tcfg := tracker.DefaultConfig()
	tcfg.MaxFrame, tcfg.FrameRate, tcfg.IdleTimeout = o.trackerMaxFrame, o.trackerFrameRate, o.trackerIdle
	if tcfg.MaxFrame <= 0 || tcfg.FrameRate <= 0 || tcfg.IdleTimeout <= 0 {
		return fmt.Errorf("%w: --tracker-max-frame, --tracker-frame-rate and --tracker-idle-timeout must be positive", errUsage)
	}
	tm := tracker.NewMetrics(srv.MetricsRegistry())
	h := srv.Ingest()
	for _, t := range []struct {
		addr string
		srv  *tracker.Server
	}{
		{o.gt06Addr, tracker.NewGT06(tcfg, h, h.Devices(), tm, log)},
		{o.h02Addr, tracker.NewH02(tcfg, h, h.Devices(), tm, log)},
		{o.teltonikaAddr, tracker.NewTeltonika(tcfg, h, h.Devices(), tm, log)},
	} {
		if t.addr == "" {
			continue
		}
		// Bound now, so that a taken port fails the start rather than a
		// background task.
		ln, err := net.Listen("tcp", t.addr)
		if err != nil {
			for _, c := range closers {
				c.Close()
			}
			return fmt.Errorf("listen %s %s: %w", t.srv.Protocol(), t.addr, err)
		}
		closers = append(closers, ln)
		ts := t.srv
		srv.OnRun(func(ctx context.Context) {
			if err := ts.Serve(ctx, ln); err != nil {
				log.Error("tracker server stopped", "protocol", ts.Protocol(), "err", err)
			}
		})
		log.Info("tracker ingest enabled", "protocol", ts.Protocol(), "addr", ln.Addr().String())
	}
	return nil
}
