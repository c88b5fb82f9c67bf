package main

import (
	"io"
	"testing"
	"time"
)

func TestServeStreamFlags(t *testing.T) {
	o, err := parseServeFlags(nil, fakeEnv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := o.streams
	if s.mqttBroker != "" || s.gt06Addr != "" || s.h02Addr != "" || s.teltonikaAddr != "" {
		t.Errorf("stream protocols on by default: %+v", s)
	}
	if s.mqttTopic != "owntracks/+/+" || s.mqttShareGroup != "dalil" || s.mqttIdentity != "user/device" || s.trackerMaxFrame != 4096 {
		t.Errorf("defaults %+v", s)
	}
	o, err = parseServeFlags([]string{"--mqtt-broker", "tcp://127.0.0.1:1883", "--gt06-addr", ":5023", "--tracker-idle-timeout", "5m"},
		fakeEnv(map[string]string{"DALIL_MQTT_PASSWORD": "secret", "DALIL_TELTONIKA_ADDR": ":5027", "DALIL_MQTT_SHARE_GROUP": ""}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s = o.streams
	if s.mqttBroker != "tcp://127.0.0.1:1883" || s.mqttPassword != "secret" || s.gt06Addr != ":5023" || s.teltonikaAddr != ":5027" ||
		s.trackerIdle != 5*time.Minute {
		t.Errorf("parsed %+v", s)
	}
	if _, err := parseServeFlags([]string{"--tracker-max-frame", "x"}, fakeEnv(nil), io.Discard); err == nil {
		t.Error("a bad --tracker-max-frame was accepted")
	}
}
