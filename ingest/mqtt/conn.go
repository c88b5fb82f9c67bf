package mqtt

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/url"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// bufferedConn reads through a buffer. The client library reads each
// packet's header a byte at a time straight from the connection — three or
// four system calls per message, a fifth of the consumer's CPU in a profile
// at 12,000 messages/s (docs/performance.md); buffered, one read serves many
// messages.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// openBuffered opens tcp:// and ssl:// brokers with a read buffer; it is
// used for those schemes only (the library's own dialer keeps ws://).
func openBuffered(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var nc net.Conn
	var err error
	switch uri.Scheme {
	case "ssl", "tls", "mqtts", "tcps":
		cfg := o.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{}
		}
		nc, err = tls.DialWithDialer(d, "tcp", uri.Host, cfg)
	default:
		nc, err = d.Dial("tcp", uri.Host)
	}
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: nc, r: bufio.NewReaderSize(nc, 16<<10)}, nil
}

// bufferedScheme reports whether openBuffered handles the broker URL's scheme.
func bufferedScheme(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps":
		return true
	}
	return false
}
