// Package mqtt ingests OwnTracks in its default mode: the phones publish
// their location JSON with QoS 1 to an MQTT broker (Mosquitto, NATS's MQTT
// listener, …) on owntracks/<user>/<device>, and Dalil subscribes to the
// broker as a client.
//
// The subscription is shared ($share/<group>/…) so that several Dalil
// processes split the messages; the session is persistent so that the
// broker keeps the messages of a Dalil that is restarting. A message is
// acknowledged (PUBACK) only once its fix is durable, or once it is known to
// be one that will never be stored (malformed, unknown device, refused by a
// filter); a message whose store failed is not acknowledged, so the broker
// delivers it again.
//
// Identity: the broker authenticates each phone with its own MQTT user name
// and password and its ACL lets user u publish only under owntracks/u/#, so
// the topic's user level is proved. The device is "<user>/<device>" (or,
// with Identity "user", the user name alone) and must be registered.
package mqtt
