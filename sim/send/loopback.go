package send

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrNotLoopback is returned for a target that is not on this machine.
var ErrNotLoopback = errors.New("target is not a loopback address")

// CheckTarget parses a target base URL and refuses anything but http(s) to a
// loopback host: "localhost", 127.0.0.0/8 or ::1. Host names other than
// localhost are refused without being resolved, so no DNS query leaves the
// machine either.
func CheckTarget(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %v", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: scheme %q, want http or https (e.g. http://127.0.0.1:8080)", target, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("target %q: no host (e.g. http://127.0.0.1:8080)", target)
	}
	if !IsLoopbackHost(host) {
		return nil, fmt.Errorf("%w: %q in %q; the simulator only sends to this machine (127.0.0.1, ::1 or localhost)", ErrNotLoopback, host, target)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// IsLoopbackHost reports whether host (no port) names this machine.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
