package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// chromiumPath is the browser the tests drive: Debian's chromium, named by
// DALIL_TEST_CHROMIUM (.ci/run sets it to /usr/bin/chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("DALIL_TEST_CHROMIUM")
	if p == "" {
		t.Skip("DALIL_TEST_CHROMIUM is not set: the browser tests need Chromium " +
			"(apt-get install -y chromium; export DALIL_TEST_CHROMIUM=/usr/bin/chromium)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("DALIL_TEST_CHROMIUM=%s: %v", p, err)
	}
	return p
}

// jsErrors collects uncaught exceptions and console.error calls of the
// pages: a console that throws is broken even when the clicks still work.
type jsErrors struct {
	mu   sync.Mutex
	errs []string
}

func (j *jsErrors) add(s string) {
	j.mu.Lock()
	j.errs = append(j.errs, s)
	j.mu.Unlock()
}

func (j *jsErrors) check(t *testing.T) {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range j.errs {
		t.Errorf("browser reported: %s", e)
	}
	j.errs = nil
}

// watch collects the console errors and exceptions of a tab. Network
// entries of the browser log are left out: a refused sign-in is a 401 the
// page handles, not a bug.
func (j *jsErrors) watch(ctx context.Context) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source == "") {
				j.add(fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
			}
		}
	}()
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// context for its first tab.
func newBrowser(t *testing.T, width, height int) (context.Context, *jsErrors) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	errs := &jsErrors{}
	errs.watch(ctx)
	return ctx, errs
}

// newTab opens another tab in the same browser.
func newTab(t *testing.T, parent context.Context, errs *jsErrors) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	errs.watch(ctx)
	return ctx
}

// do runs steps with a deadline and fails the test, naming the step, if
// they fail.
func do(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, step, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	return v
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(t *testing.T, ctx context.Context, step, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("Boolean(%s)", expr)))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
			t.Fatalf("%s: not true after %v (err %v): %s\npage text:\n%s", step, timeout, err, expr, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// screenshot saves a PNG of the page to docs/<name> when
// DALIL_UPDATE_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("DALIL_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(repoRoot(t), "docs", name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// phone makes the tab a phone screen whose location is pinned at lat, lon,
// with the location permission granted to origin.
func phone(origin string, lat, lon float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "geolocation"},
			Setting:    browser.PermissionSettingGranted,
			Origin:     origin,
		}); err != nil {
			return fmt.Errorf("grant geolocation: %w", err)
		}
		if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 412, Height: 915, DeviceScaleFactor: 2, Mobile: true,
		}); err != nil {
			return fmt.Errorf("phone screen: %w", err)
		}
		acc := 8.0
		_, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
			Latitude: &lat, Longitude: &lon, Accuracy: &acc,
		})
		return err
	})
}

// clickJS clicks the element sel as soon as it exists and is enabled, in one
// JavaScript step. Panels that live updates re-render (the case actions) can
// replace a node between chromedp's query and its click; finding and clicking
// inside the page leaves no such gap.
func clickJS(t *testing.T, ctx context.Context, step, sel string, timeout time.Duration) {
	t.Helper()
	waitJS(t, ctx, step, fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); if (!e || e.disabled) return false; e.click(); return true; })()`,
		sel), timeout)
}
