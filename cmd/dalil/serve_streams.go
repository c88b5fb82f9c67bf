package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"dalil/api"
	"dalil/ingest/mqtt"
)

// streamOptions are the flags of the protocols that do not come over the
// API's HTTP port: OwnTracks over MQTT and the TCP trackers. All are off
// unless given.
type streamOptions struct {
	mqttBroker, mqttUser, mqttPassword, mqttClientID string
	mqttTopic, mqttShareGroup, mqttIdentity          string
}

func addStreamFlags(fs *flag.FlagSet, getenv env, o *streamOptions) {
	md := mqtt.DefaultConfig()
	fs.StringVar(&o.mqttBroker, "mqtt-broker", getenv.str("DALIL_MQTT_BROKER", ""), "subscribe to OwnTracks locations on this MQTT broker, e.g. tcp://127.0.0.1:1883; empty: off (DALIL_MQTT_BROKER)")
	fs.StringVar(&o.mqttUser, "mqtt-user", getenv.str("DALIL_MQTT_USER", ""), "Dalil's own MQTT user name (DALIL_MQTT_USER)")
	fs.StringVar(&o.mqttPassword, "mqtt-password", getenv.str("DALIL_MQTT_PASSWORD", ""), "Dalil's own MQTT password; prefer the environment variable (DALIL_MQTT_PASSWORD)")
	fs.StringVar(&o.mqttClientID, "mqtt-client-id", getenv.str("DALIL_MQTT_CLIENT_ID", md.ClientID), "MQTT client id: stable across restarts, distinct per Dalil process (DALIL_MQTT_CLIENT_ID)")
	fs.StringVar(&o.mqttTopic, "mqtt-topic", getenv.str("DALIL_MQTT_TOPIC", md.Topic), "topic filter whose two + levels are the OwnTracks user and device (DALIL_MQTT_TOPIC)")
	fs.StringVar(&o.mqttShareGroup, "mqtt-share-group", getenv.str("DALIL_MQTT_SHARE_GROUP", md.ShareGroup), "shared subscription group ($share/<group>/…) so Dalil processes split the load; empty: plain subscription, e.g. for NATS (DALIL_MQTT_SHARE_GROUP)")
	fs.StringVar(&o.mqttIdentity, "mqtt-identity", getenv.str("DALIL_MQTT_IDENTITY", md.Identity), `registered device a topic names: "user/device" or "user" (DALIL_MQTT_IDENTITY)`)
}

// startStreams builds the enabled stream protocols and registers them as
// background tasks of srv: they start once the live state is rebuilt and
// stop, unacknowledged work left for redelivery, at shutdown.
func startStreams(srv *api.Server, o streamOptions, log *slog.Logger) error {
	if o.mqttBroker != "" {
		cfg := mqtt.DefaultConfig()
		cfg.Broker, cfg.Username, cfg.Password = o.mqttBroker, o.mqttUser, o.mqttPassword
		cfg.ClientID, cfg.Topic, cfg.ShareGroup, cfg.Identity = o.mqttClientID, o.mqttTopic, o.mqttShareGroup, o.mqttIdentity
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
	_ = time.Second
	return nil
}
