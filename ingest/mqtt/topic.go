package mqtt

import (
	"fmt"
	"strings"
)

// Identity modes: how a topic names the registered device.
const (
	IdentityUserDevice = "user/device" // owntracks/<user>/<device> → "<user>/<device>"
	IdentityUser       = "user"        // owntracks/<user>/<device> → "<user>"
)

// topicPattern is a subscription filter whose first two "+" levels are the
// OwnTracks user and device.
type topicPattern struct {
	levels []string
	user   int // index of the user level
	device int // index of the device level
}

func parsePattern(p string) (topicPattern, error) {
	tp := topicPattern{levels: strings.Split(p, "/"), user: -1, device: -1}
	for i, l := range tp.levels {
		switch {
		case l == "+" && tp.user < 0:
			tp.user = i
		case l == "+" && tp.device < 0:
			tp.device = i
		case l == "+":
			return tp, fmt.Errorf("topic %q: more than two + levels (want e.g. owntracks/+/+)", p)
		case strings.ContainsAny(l, "+#") || l == "":
			return tp, fmt.Errorf("topic %q: level %d %q: only whole + levels for user and device", p, i+1, l)
		}
	}
	if tp.device < 0 {
		return tp, fmt.Errorf("topic %q: want two + levels, the user and the device (e.g. owntracks/+/+)", p)
	}
	return tp, nil
}

// match returns the user and device a topic names, or ok false when the topic
// does not match the pattern (OwnTracks' own sub-topics such as
// owntracks/u/d/event are not locations).
func (tp *topicPattern) match(topic string) (user, device string, ok bool) {
	for i := range tp.levels {
		var l string
		l, topic, _ = strings.Cut(topic, "/")
		switch {
		case i == tp.user:
			user = l
		case i == tp.device:
			device = l
		case l != tp.levels[i]:
			return "", "", false
		}
		if l == "" {
			return "", "", false
		}
		if i < len(tp.levels)-1 && topic == "" {
			return "", "", false
		}
	}
	if topic != "" {
		return "", "", false
	}
	return user, device, true
}
