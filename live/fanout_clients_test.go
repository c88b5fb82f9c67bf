package live

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// inProcessClients is the most benchmark clients dialled from the server's
// own process: each connection costs a descriptor on both ends, and the
// machine's limit is 20,000 per process.
const inProcessClients = 9000

// fanoutClients are the benchmark's websocket readers, wherever they run.
type fanoutClients interface {
	measure(on bool)
	// result stops the clients and returns their latency histogram and the
	// positions they received while measuring.
	result() (latencyHist, int64, error)
	cpu() time.Duration // CPU of the clients when in another process
	close()
}

// localClients read in goroutines of this process.
type localClients struct {
	measuring atomic.Bool
	delivered atomic.Int64
	hists     []latencyHist
	conns     []*websocket.Conn
	wg        sync.WaitGroup
}

func (l *localClients) dial(wsBase string, topics []string) error {
	dialer := *websocket.DefaultDialer
	dialer.HandshakeTimeout = 30 * time.Second
	l.hists = make([]latencyHist, len(topics))
	for i, topic := range topics {
		c, _, err := dialer.Dial(wsBase+topic, nil)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		l.conns = append(l.conns, c)
		l.wg.Add(1)
		go func(h *latencyHist) {
			defer l.wg.Done()
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				if !l.measuring.Load() {
					continue
				}
				if t, ok := PositionTime(msg); ok {
					h.add(time.Since(t))
					l.delivered.Add(1)
				}
			}
		}(&l.hists[i])
	}
	return nil
}

func (l *localClients) measure(on bool)    { l.measuring.Store(on) }
func (l *localClients) cpu() time.Duration { return 0 } // counted with this process

func (l *localClients) result() (latencyHist, int64, error) {
	l.measuring.Store(false)
	l.close()
	var all latencyHist
	for i := range l.hists {
		all.merge(&l.hists[i])
	}
	return all, l.delivered.Load(), nil
}

func (l *localClients) close() {
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
	l.wg.Wait()
}

// childClients run in a child process: this test binary again, running
// TestFanoutClientProcess. The parent writes "measure", "idle" and "result"
// lines to its stdin; it answers "ready" once every client is connected and
// a JSON report for "result".
type childClients struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

type childReport struct {
	Delivered int64   `json:"delivered"`
	Counts    []int64 `json:"counts"`
	Error     string  `json:"error,omitempty"`
}

func startClientProcess(wsBase string, topics []string) (*childClients, error) {
	f, err := os.CreateTemp("", "fanout-topics-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name()) // read by the child before it answers "ready"
	if _, err := f.WriteString(strings.Join(topics, "\n")); err != nil {
		return nil, err
	}
	f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutClientProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DALIL_FANOUT_CHILD_URL="+wsBase, "DALIL_FANOUT_CHILD_TOPICS="+f.Name())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &childClients{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			c.close()
			return nil, fmt.Errorf("client process: %w", err)
		}
		if strings.TrimSpace(line) == "ready" {
			return c, nil
		}
		if strings.HasPrefix(line, "error") {
			c.close()
			return nil, errors.New("client process: " + line)
		}
	}
}

func (c *childClients) measure(on bool) {
	if on {
		fmt.Fprintln(c.stdin, "measure")
	} else {
		fmt.Fprintln(c.stdin, "idle")
	}
}

// cpu reads the child's user+system time from /proc (clock ticks of 10 ms).
func (c *childClients) cpu() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (c *childClients) result() (latencyHist, int64, error) {
	var h latencyHist
	fmt.Fprintln(c.stdin, "result")
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			return h, 0, fmt.Errorf("client process: %w", err)
		}
		if !strings.HasPrefix(line, "{") {
			continue // the test framework's own output
		}
		var r childReport
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return h, 0, err
		}
		if r.Error != "" {
			return h, 0, errors.New(r.Error)
		}
		copy(h.counts[:], r.Counts)
		return h, r.Delivered, nil
	}
}

func (c *childClients) close() {
	if c.stdin != nil {
		c.stdin.Close()
		c.stdin = nil
		_ = c.cmd.Wait()
	}
}

// TestFanoutClientProcess is the child side of the fan-out benchmark; it is
// skipped unless the benchmark started it.
func TestFanoutClientProcess(t *testing.T) {
	url := os.Getenv("DALIL_FANOUT_CHILD_URL")
	if url == "" {
		t.Skip("runs only as the fan-out benchmark's client process")
	}
	b, err := os.ReadFile(os.Getenv("DALIL_FANOUT_CHILD_TOPICS"))
	if err != nil {
		fmt.Println("error", err)
		return
	}
	var l localClients
	if err := l.dial(url, strings.Split(string(b), "\n")); err != nil {
		fmt.Println("error", err)
		return
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "measure":
			l.measure(true)
		case "idle":
			l.measure(false)
		case "result":
			h, n, err := l.result()
			r := childReport{Delivered: n, Counts: h.counts[:]}
			if err != nil {
				r.Error = err.Error()
			}
			out, _ := json.Marshal(r)
			fmt.Println(string(out))
		}
	}
	l.close()
}
