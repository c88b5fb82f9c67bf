package mqtt

import (
	"strings"
	"testing"
)

func TestTopicPattern(t *testing.T) {
	tp, err := parsePattern("owntracks/+/+")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		topic, user, device string
		ok                  bool
	}{
		{"owntracks/alice/phone", "alice", "phone", true},
		{"owntracks/alice/phone/event", "", "", false}, // OwnTracks' sub-topics are not locations
		{"owntracks/alice", "", "", false},
		{"owntracks/alice/", "", "", false},
		{"owntracks//phone", "", "", false},
		{"other/alice/phone", "", "", false},
		{"", "", "", false},
	} {
		u, d, ok := tp.match(c.topic)
		if ok != c.ok || u != c.user || d != c.device {
			t.Errorf("match(%q) = %q, %q, %v; want %q, %q, %v", c.topic, u, d, ok, c.user, c.device, c.ok)
		}
	}
	tp, err = parsePattern("hajj/2026/+/loc/+")
	if err != nil {
		t.Fatal(err)
	}
	if u, d, ok := tp.match("hajj/2026/u1/loc/d1"); !ok || u != "u1" || d != "d1" {
		t.Errorf("custom pattern: %q %q %v", u, d, ok)
	}
	for _, bad := range []string{"owntracks/#", "owntracks/+", "owntracks/+/+/+", "owntracks/a+/+", "owntracks//+/+"} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("parsePattern(%q): no error", bad)
		}
	}
}

func FuzzTopicMatch(f *testing.F) {
	f.Add("owntracks/+/+", "owntracks/alice/phone")
	f.Add("hajj/+/loc/+", "hajj/u/loc/d/x")
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		tp, err := parsePattern(pattern)
		if err != nil {
			return
		}
		u, d, ok := tp.match(topic)
		if !ok {
			return
		}
		// What matched names two non-empty levels of the topic, and
		// rebuilding the topic from the pattern gives it back.
		if u == "" || d == "" || strings.Contains(u, "/") || strings.Contains(d, "/") {
			t.Fatalf("match(%q) on %q = %q, %q", topic, pattern, u, d)
		}
		levels := append([]string(nil), tp.levels...)
		levels[tp.user], levels[tp.device] = u, d
		if got := strings.Join(levels, "/"); got != topic {
			t.Fatalf("rebuilt %q from %q, want %q", got, pattern, topic)
		}
	})
}
