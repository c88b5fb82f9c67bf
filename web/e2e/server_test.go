package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dalil is a real `dalil serve --demo` process started for one test.
type dalil struct {
	t     *testing.T
	url   string
	admin string
	log   string
}

// repoRoot finds the module root (the directory holding go.mod) above the
// test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startDalil builds ./cmd/dalil into a temporary directory and runs
// `dalil serve --demo` on a free loopback port with a fresh data directory,
// then waits for /readyz. The process is stopped with SIGTERM at cleanup.
func startDalil(t *testing.T) *dalil {
	t.Helper()
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "web", "static", "vendor", "leaflet", "leaflet.js")); err != nil {
		t.Fatal("web/static/vendor is missing: run `make web` before the browser tests (make test does)")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "dalil")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	build := exec.Command(gobin, "build", "-o", bin, "./cmd/dalil")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/dalil: %v\n%s", err, out)
	}

	addr := freeAddr(t)
	admin := "e2e-admin-" + randomHex(t, 16)
	logPath := filepath.Join(tmp, "dalil.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--demo", "--addr", addr, "--data", filepath.Join(tmp, "data"))
	cmd.Env = append(os.Environ(), "DALIL_ADMIN_TOKEN="+admin)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	d := &dalil{t: t, url: "http://" + addr, admin: admin, log: logPath}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("dalil serve did not stop within 20 s of SIGTERM")
		}
		logFile.Close()
		if t.Failed() {
			t.Logf("server log (tail):\n%s", tail(logPath, 60))
		}
	})

	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("dalil serve exited before it was ready: %v\n%s", err, tail(logPath, 60))
		default:
		}
		resp, err := http.Get(d.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dalil serve not ready after 90 s\n%s", tail(logPath, 60))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(path string, lines int) string {
	b, _ := os.ReadFile(path)
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// call does one API request with a bearer token and decodes the JSON answer
// into out (when not nil). It fails the test on a status other than want.
func (d *dalil) call(token, method, path string, body any, want int, out any) {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		default:
			j, err := json.Marshal(body)
			if err != nil {
				d.t.Fatal(err)
			}
			rd = bytes.NewReader(j)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.url+path, rd)
	if err != nil {
		d.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		d.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			d.t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

// mint creates a token for role and subject with the bootstrap admin token.
func (d *dalil) mint(role, subject string) string {
	d.t.Helper()
	var ans struct {
		Token string `json:"token"`
	}
	d.call(d.admin, http.MethodPost, "/v1/tokens", map[string]string{"role": role, "subject": subject}, http.StatusCreated, &ans)
	if ans.Token == "" {
		d.t.Fatalf("POST /v1/tokens %s %s: no token in the answer", role, subject)
	}
	return ans.Token
}

// demoPilgrim is a simulated pilgrim with a live position, a device and an
// assigned tent.
type demoPilgrim struct {
	PID, Name, Tent, Camp, Group, Device string
	Lat, Lon                             float64
}

// findDemoPilgrim waits for the simulator to put pilgrims on the map and
// picks one that has a device, a tent and a live position in Mina.
func (d *dalil) findDemoPilgrim(operator string) demoPilgrim {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var near struct {
			Results []struct {
				PID  string `json:"pid"`
				Name string `json:"name_en"`
				Tent string `json:"assigned_tent"`
				Pos  *struct {
					Lat float64 `json:"lat"`
					Lon float64 `json:"lon"`
				} `json:"position"`
			} `json:"results"`
		}
		d.call(operator, http.MethodGet, "/v1/nearby?lat=21.4133&lon=39.8933&radius=5000&limit=200", nil, http.StatusOK, &near)
		for _, r := range near.Results {
			if r.PID == "" || r.Tent == "" || r.Pos == nil || r.Name == "" {
				continue
			}
			var pv struct {
				Pilgrim struct {
					PID     string   `json:"pid"`
					Name    string   `json:"name_en"`
					Camp    string   `json:"camp"`
					Tent    string   `json:"tent"`
					Group   string   `json:"group"`
					Devices []string `json:"devices"`
				} `json:"pilgrim"`
				Group *struct {
					GuidePID string `json:"guide_pid"`
				} `json:"group"`
			}
			d.call(operator, http.MethodGet, "/v1/pilgrims/"+r.PID, nil, http.StatusOK, &pv)
			if len(pv.Pilgrim.Devices) == 0 || (pv.Group != nil && pv.Group.GuidePID == r.PID) {
				continue // a guide is a pilgrim too, but pick an ordinary member
			}
			return demoPilgrim{PID: r.PID, Name: pv.Pilgrim.Name, Tent: pv.Pilgrim.Tent, Camp: pv.Pilgrim.Camp,
				Group: pv.Pilgrim.Group, Device: pv.Pilgrim.Devices[0], Lat: r.Pos.Lat, Lon: r.Pos.Lon}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no simulated pilgrim with a position near Mina after 60 s (%d results)", len(near.Results))
		}
		time.Sleep(time.Second)
	}
}

// ping posts one native ping for device at lat, lon with a device token.
func (d *dalil) ping(deviceToken, device string, lat, lon float64) {
	d.t.Helper()
	body := []map[string]any{{
		"device": device, "ts": time.Now().UTC().Format(time.RFC3339Nano),
		"lat": lat, "lon": lon, "acc": 4,
	}}
	var ans json.RawMessage
	d.call(deviceToken, http.MethodPost, "/v1/pings", body, http.StatusOK, &ans)
	if bytes.Contains(ans, []byte(`"rejected":[{`)) {
		d.t.Fatalf("POST /v1/pings rejected the ping: %s", ans)
	}
}

func (d *dalil) String() string { return fmt.Sprintf("dalil at %s", d.url) }
