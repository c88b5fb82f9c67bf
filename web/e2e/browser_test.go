package e2e_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
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

// jsErrors collects uncaught exceptions and console.error calls of a page:
// a console that throws is broken even when the clicks still work.
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

// newBrowser starts headless Chromium with a fresh profile and returns a
// context for its first tab.
func newBrowser(t *testing.T, width, height int) (context.Context, *jsErrors) {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	errs := &jsErrors{}
	listen(ctx, errs)
	if err := chromedp.Run(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	return ctx, errs
}

func listen(ctx context.Context, errs *jsErrors) {
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			errs.add("uncaught: " + msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				errs.add("console.error: " + strings.Join(parts, " "))
			}
		}
	})
}

// newTab opens another tab in the same browser.
func newTab(t *testing.T, parent context.Context, errs *jsErrors) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	listen(ctx, errs)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// run runs actions with a deadline and fails the test, naming the step, if
// they fail.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(t *testing.T, ctx context.Context, step, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf("Boolean(%s)", expr), &ok))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			_ = chromedp.Run(ctx, chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 1500) : ""`, &state))
			t.Fatalf("%s: %s not true after %v (err %v)\npage text:\n%s", step, expr, timeout, err, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	run(t, ctx, "read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// screenshot saves a PNG of the page to docs/<name> when
// DALIL_UPDATE_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("DALIL_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	var png []byte
	run(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot(&png))
	path := repoRoot(t) + "/docs/" + name
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// grantGeolocation lets pages of origin use the location and pins it.
func grantGeolocation(origin string, lat, lon float64) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := browser.GrantPermissions([]browser.PermissionType{browser.PermissionTypeGeolocation}).
			WithOrigin(origin).Do(ctx); err != nil {
			return err
		}
		return emulation.SetGeolocationOverride().WithLatitude(lat).WithLongitude(lon).WithAccuracy(8).Do(ctx)
	})
}
