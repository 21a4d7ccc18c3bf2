package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	stepTimeout    = 20 * time.Second // one browser step
	flowTimeout    = 3 * time.Minute  // one store kind, start to end
	browserTimeout = 30 * time.Second // starting Chromium
	defaultBrowser = "/usr/bin/chromium"
)

// The claims that the embedded provider issues for the user "demo", as the
// quickstart's user info page shows them.
var wantClaims = map[string]string{
	"sub":      "demo-user",
	"username": "demo",
	"name":     "Demo User",
	"email":    "demo@example.com",
}

var (
	artifactsOnce sync.Once
	artifactsRoot string
	artifactsErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if artifactsRoot != "" {
		fmt.Printf("e2e screenshots: %s\n", artifactsRoot)
	}
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// artifactsDir returns the directory for screenshots and logs: E2E_ARTIFACTS
// if set, otherwise a new temporary directory. It is never removed.
func artifactsDir(t *testing.T) string {
	t.Helper()
	artifactsOnce.Do(func() {
		if dir := os.Getenv("E2E_ARTIFACTS"); dir != "" {
			artifactsRoot, artifactsErr = filepath.Abs(dir)
			if artifactsErr == nil {
				artifactsErr = os.MkdirAll(artifactsRoot, 0o755)
			}
			return
		}
		artifactsRoot, artifactsErr = os.MkdirTemp("", "logto-e2e-*")
	})
	if artifactsErr != nil {
		t.Fatalf("artifacts directory: %v", artifactsErr)
	}
	return artifactsRoot
}

// chromiumPath returns the browser to drive. With E2E=1 (as in CI) a missing
// browser fails the test; otherwise it skips it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	e2e := strings.ToLower(os.Getenv("E2E"))
	switch e2e {
	case "0", "false", "no", "off":
		t.Skip("E2E is off; unset it or set E2E=1 to run the browser tests")
	}
	required := e2e != ""
	if !required && testing.Short() {
		t.Skip("browser tests skipped in -short mode; set E2E=1 to run them")
	}
	path := os.Getenv("CHROMIUM_PATH")
	if path == "" {
		path = defaultBrowser
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("Chromium not found at %s (%v); install Debian's chromium package "+
			"(apt-get install chromium), set CHROMIUM_PATH, or run .ci/e2e.sh from the repository root", path, err)
		if required {
			t.Fatalf("E2E=%s requires a browser: %s", e2e, msg)
		}
		t.Skip(msg + "; set E2E=1 to turn this skip into a failure")
	}
	return path
}

// TestQuickstart drives headless Chromium through the quickstart example with
// its embedded Logto provider, once for each session store.
func TestQuickstart(t *testing.T) {
	browser := chromiumPath(t)
	root := artifactsDir(t)
	t.Logf("screenshots and logs go to %s", root)
	t.Cleanup(func() { t.Logf("screenshots and logs: %s", root) })

	bin := quickstartBinary(t)

	for _, store := range []string{"cookie", "server"} {
		t.Run(store, func(t *testing.T) {
			dir := filepath.Join(root, store)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			a := startQuickstart(t, bin, store, dir)
			f := newFlow(t, browser, a, dir)
			f.run()
			t.Logf("store=%s: signed in, checked every page and signed out in %s; screenshots in %s",
				store, time.Since(start).Round(time.Millisecond), dir)
		})
	}
}

// flow is one browser session against one running quickstart.
type flow struct {
	t     *testing.T
	ctx   context.Context // the tab; steps derive their timeouts from it
	app   *app
	dir   string
	n     int
	shots []string
}

func newFlow(t *testing.T, browser string, a *app, dir string) *flow {
	t.Helper()
	overall, cancelOverall := context.WithTimeout(context.Background(), flowTimeout)
	t.Cleanup(cancelOverall)

	browserLog := &lockedBuffer{}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()), // a fresh profile: no cookies from another run
		chromedp.Headless,
		chromedp.NoSandbox, // Chromium refuses to run as root with its sandbox
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(browserLog),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(overall, opts...)
	t.Cleanup(cancelAlloc) // stops Chromium and waits for it
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)

	// The first Do starts the browser and binds it to ctx, which has no step
	// timeout; a goroutine bounds the start instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start %s: %v\nbrowser output:\n%s", browser, err, indent(browserLog.String()))
		}
	case <-time.After(browserTimeout):
		cancelTab()
		t.Fatalf("start %s: no answer after %s\nbrowser output:\n%s", browser, browserTimeout, indent(browserLog.String()))
	}

	console := &lockedBuffer{}
	go func() {
		for msg, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			fmt.Fprintln(console, msg.String())
		}
	}()
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(dir, "console.log"), []byte(console.String()), 0o644)
		_ = os.WriteFile(filepath.Join(dir, "browser.log"), []byte(browserLog.String()), 0o644)
		if t.Failed() && console.String() != "" {
			t.Logf("browser console:\n%s", indent(console.String()))
		}
	})

	return &flow{t: t, ctx: ctx, app: a, dir: dir}
}

func (f *flow) run() {
	a := f.app
	f.step("home-signed-out", "home-signed-out", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.URL+"/")); err != nil {
			return err
		}
		if err := f.signedOutHome(ctx); err != nil {
			return err
		}
		return f.present(ctx, "sign-up")
	})

	f.step("provider-sign-in-form", "provider-sign-in", func(ctx context.Context) error {
		if err := f.clickAndLoad(ctx, "sign-in"); err != nil {
			return err
		}
		if err := chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.ID("sign-in-form")),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.WaitVisible(chromedp.ID("submit")),
		); err != nil {
			return err
		}
		loc, err := f.at(ctx, a.ProviderURL, "/sign-in")
		if err != nil {
			return err
		}
		// Where Logto's sign-in experience is, with the app's id.
		if u, _ := url.Parse(loc); u.Query().Get("app_id") != "quickstart" {
			return fmt.Errorf("provider sign-in page %s has no app_id=quickstart parameter", loc)
		}
		return nil
	})

	f.step("form-filled", "", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("username"), "demo")); err != nil {
			return err
		}
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("username")))
		if err != nil {
			return err
		}
		if v != "demo" {
			return fmt.Errorf("username field holds %q, want %q", v, "demo")
		}
		return nil
	})

	f.step("home-signed-in", "home-signed-in", func(ctx context.Context) error {
		if err := f.clickAndLoad(ctx, "submit"); err != nil {
			return err
		}
		return f.signedInHome(ctx)
	})

	f.step("userinfo", "userinfo", func(ctx context.Context) error {
		if err := f.clickAndLoad(ctx, "userinfo"); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("table#claims"))); err != nil {
			return err
		}
		_, err := f.at(ctx, a.URL, "/protected/userinfo")
		return err
	})

	// The raw JSON is still there, one click away.
	f.step("userinfo-raw-json", "userinfo-raw-json", func(ctx context.Context) error {
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS("details#raw summary"), chromedp.NodeVisible),
			chromedp.WaitVisible(chromedp.CSS("pre#userinfo")),
		); err != nil {
			return err
		}
		text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("pre#userinfo")))
		if err != nil {
			return err
		}
		return checkClaims(text)
	})

	f.step("organizations", "organizations", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.URL+"/")); err != nil {
			return err
		}
		if err := f.clickAndLoad(ctx, "organizations"); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("organizations"))); err != nil {
			return err
		}
		_, err := f.at(ctx, a.URL, "/protected/organizations")
		return err
	})

	// The demo API the quickstart started answers with the user's data.
	f.step("call-api", "call-api", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.URL+"/")); err != nil {
			return err
		}
		if err := f.clickAndLoad(ctx, "call-api"); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("api-status"))); err != nil {
			return err
		}
		status, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("api-status")))
		if err != nil {
			return err
		}
		if want := "The API answered 200 OK."; strings.TrimSpace(status) != want {
			return fmt.Errorf("API status is %q, want %q", status, want)
		}
		return nil
	})

	f.step("home-still-signed-in", "home-signed-in", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.URL+"/")); err != nil {
			return err
		}
		return f.signedInHome(ctx)
	})

	f.step("signed-out", "home-signed-out", func(ctx context.Context) error {
		if err := f.clickAndLoad(ctx, "sign-out"); err != nil {
			return err
		}
		return f.signedOutHome(ctx)
	})

	// A reload must not bring the session back.
	f.step("signed-out-after-reload", "home-signed-out", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
			return err
		}
		return f.signedOutHome(ctx)
	})

	// The logout page's script posted its form, so the provider session
	// ended too: signing in again asks for the user (a live provider session
	// would skip the form, as Logto does).
	f.step("sign-in-asks-again", "provider-sign-in", func(ctx context.Context) error {
		if err := f.clickAndLoad(ctx, "sign-in"); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("sign-in-form"))); err != nil {
			return err
		}
		_, err := f.at(ctx, a.ProviderURL, "/sign-in")
		return err
	})

	// The sign-up link opens the provider's page for creating an account,
	// where Logto has it.
	f.step("sign-up", "provider-sign-up", func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(a.URL+"/")); err != nil {
			return err
		}
		if err := f.clickAndLoad(ctx, "sign-up"); err != nil {
			return err
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("sign-in-form"))); err != nil {
			return err
		}
		_, err := f.at(ctx, a.ProviderURL, "/register")
		return err
	})
}

// step runs one step with its own timeout, then compares the page's visible
// text with testdata/<golden>.txt (unless golden is ""), saves a full-page
// screenshot (also when the step failed, so the failure is visible) and
// stops the test on error.
func (f *flow) step(name, golden string, fn func(ctx context.Context) error) {
	f.t.Helper()
	f.n++
	ctx, cancel := context.WithTimeout(f.ctx, stepTimeout)
	start := time.Now()
	err := fn(ctx)
	if err == nil && golden != "" {
		err = f.compareText(ctx, fmt.Sprintf("%02d-%s", f.n, name), golden)
	}
	cancel()

	file := fmt.Sprintf("%02d-%s.png", f.n, name)
	if err != nil {
		file = fmt.Sprintf("%02d-%s-FAILED.png", f.n, name)
	}
	path, shotErr := f.screenshot(file)
	if err != nil {
		shot := path
		if shotErr != nil {
			shot = "none: " + shotErr.Error()
		}
		f.t.Fatalf("step %d %s failed after %s: %v\n    page: %s\n    screenshot: %s",
			f.n, name, time.Since(start).Round(time.Millisecond), err, f.location(), shot)
	}
	if shotErr != nil {
		f.t.Fatalf("step %d %s: screenshot: %v", f.n, name, shotErr)
	}
	f.t.Logf("step %d %-24s ok in %6s  %s", f.n, name, time.Since(start).Round(time.Millisecond), path)
}

func (f *flow) screenshot(file string) (string, error) {
	ctx, cancel := context.WithTimeout(f.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	if err != nil {
		return "", err
	}
	path := filepath.Join(f.dir, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", err
	}
	f.shots = append(f.shots, path)
	return path, nil
}

// location returns the page's URL for error messages.
func (f *flow) location() string {
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(unknown: %v)", err)
	}
	return loc
}

// clickAndLoad clicks the element with the id and waits until the navigation
// that the click starts has loaded, failing on an HTTP error page.
func (f *flow) clickAndLoad(ctx context.Context, id string) error {
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID(id), chromedp.NodeVisible))
	if err != nil {
		return fmt.Errorf("click #%s: %w", id, err)
	}
	if resp != nil && resp.Status >= 400 {
		return fmt.Errorf("click #%s: %s answered %d %s", id, resp.URL, resp.Status, resp.StatusText)
	}
	return nil
}

// at checks that the page is on base's origin at path, and returns the URL.
func (f *flow) at(ctx context.Context, base, path string) (string, error) {
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "", err
	}
	got, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	want, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if got.Scheme != want.Scheme || got.Host != want.Host || got.Path != path {
		return loc, fmt.Errorf("page is %s, want %s%s", loc, base, path)
	}
	return loc, nil
}

// present checks that the page has an element with the id.
func (f *flow) present(ctx context.Context, id string) error {
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		fmt.Sprintf(`document.getElementById(%q) !== null`, id)))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no element #%s on the page", id)
	}
	return nil
}

// absent checks that the page has no element with the id.
func (f *flow) absent(ctx context.Context, id string) error {
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		fmt.Sprintf(`document.getElementById(%q) === null`, id)))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("element #%s is on the page, want none", id)
	}
	return nil
}

// signedOutHome checks the home page of a signed-out visitor.
func (f *flow) signedOutHome(ctx context.Context) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("sign-in"))); err != nil {
		return fmt.Errorf("wait for the sign-in link: %w", err)
	}
	if _, err := f.at(ctx, f.app.URL, "/"); err != nil {
		return err
	}
	for _, id := range []string{"greeting", "sign-out", "userinfo"} {
		if err := f.absent(ctx, id); err != nil {
			return fmt.Errorf("signed out: %w", err)
		}
	}
	return nil
}

// signedInHome checks the home page of the signed-in demo user.
func (f *flow) signedInHome(ctx context.Context) error {
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("greeting"))); err != nil {
		return fmt.Errorf("wait for the greeting: %w", err)
	}
	if _, err := f.at(ctx, f.app.URL, "/"); err != nil {
		return err
	}
	greeting, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("greeting")))
	if err != nil {
		return err
	}
	if got, want := strings.TrimSpace(greeting), "Signed in as Demo User"; got != want {
		return fmt.Errorf("greeting is %q, want %q", got, want)
	}
	for _, id := range []string{"userinfo", "organizations", "call-api", "sign-out"} {
		if err := f.present(ctx, id); err != nil {
			return fmt.Errorf("signed in: %w", err)
		}
	}
	if err := f.absent(ctx, "sign-in"); err != nil {
		return fmt.Errorf("signed in: %w", err)
	}
	return nil
}

// checkClaims checks the JSON of the user info page.
func checkClaims(text string) error {
	var claims map[string]any
	if err := json.Unmarshal([]byte(text), &claims); err != nil {
		return fmt.Errorf("user info is not a JSON object: %v\n%s", err, text)
	}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(wantClaims)) {
		if got, ok := claims[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s missing", k))
		} else if got != wantClaims[k] {
			problems = append(problems, fmt.Sprintf("%s = %v, want %q", k, got, wantClaims[k]))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("user info claims: %s\n%s", strings.Join(problems, "; "), text)
	}
	return nil
}
