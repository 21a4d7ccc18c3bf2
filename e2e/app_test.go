package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	buildTimeout = 5 * time.Minute
	readyTimeout = 30 * time.Second
	stopTimeout  = 5 * time.Second
)

var (
	buildOnce sync.Once
	builtBin  string // the quickstart binary, once built
	buildDir  string // removed by TestMain
	buildErr  error
)

// quickstartBinary compiles the quickstart example of the root module once
// per test run and returns the path of the binary. E2E_QUICKSTART_BIN names
// a prebuilt binary to use instead.
func quickstartBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("E2E_QUICKSTART_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			t.Fatalf("E2E_QUICKSTART_BIN: %v", err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatalf("E2E_QUICKSTART_BIN: %v", err)
		}
		t.Logf("using prebuilt quickstart %s", abs)
		return abs
	}
	buildOnce.Do(func() {
		start := time.Now()
		builtBin, buildErr = buildQuickstart()
		if buildErr == nil {
			t.Logf("built quickstart in %s", time.Since(start).Round(time.Millisecond))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// buildQuickstart runs go build ./examples/quickstart in the root module,
// into a new temporary directory.
func buildQuickstart() (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("root module not found at %s: %w", root, err)
	}
	buildDir, err = os.MkdirTemp("", "logto-e2e-bin-*")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(buildDir, "quickstart")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	// The build runs in the root module, so the quickstart is compiled with the
	// root module's own go.mod and go.sum, exactly as `go run ./examples/quickstart`.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/quickstart")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./examples/quickstart (in %s): %w\n%s", root, err, out)
	}
	return bin, nil
}

// quickstartEnv is the caller's environment without the quickstart's
// settings (LOGTO_*, PORT, API_*), plus kv: without LOGTO_ENDPOINT the
// quickstart starts its embedded provider, which is what these tests drive.
func quickstartEnv(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LOGTO_") && !strings.HasPrefix(e, "PORT=") && !strings.HasPrefix(e, "API_") {
			env = append(env, e)
		}
	}
	return append(env, kv...)
}

// freeAddrs returns n distinct 127.0.0.1 addresses whose ports were free a
// moment ago. All listeners stay open until the last is picked, so the ports
// differ.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free port: %v", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs
}

// lockedBuffer collects the output of the app; the process writes to it from
// its own goroutines while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// app is one running quickstart process.
type app struct {
	URL         string // base URL of the quickstart, without a trailing slash
	ProviderURL string // base URL of the embedded provider
	APIURL      string // base URL of the demo API it starts
	output      *lockedBuffer
	exited      chan struct{}
	waitErr     error
}

// startQuickstart starts the quickstart binary with the session store kind on
// free ports, waits until it serves its home page and the provider accepts
// connections, and stops it when the test ends. The app's output goes to
// app.log in artifacts and, when the test fails, to the test log.
func startQuickstart(t *testing.T, bin, store, artifacts string) *app {
	t.Helper()
	addrs := freeAddrs(t, 3)
	appAddr, providerAddr, apiAddr := addrs[0], addrs[1], addrs[2]
	a := &app{
		URL:         "http://" + appAddr,
		ProviderURL: "http://" + providerAddr,
		APIURL:      "http://" + apiAddr,
		output:      &lockedBuffer{},
		exited:      make(chan struct{}),
	}
	_, port, _ := net.SplitHostPort(appAddr)

	cmd := exec.Command(bin)
	cmd.Env = quickstartEnv(
		"PORT="+port,
		"LOGTO_BASE_URL="+a.URL,
		"LOGTO_SESSION_STORE="+store,
		"LOGTO_PROVIDER_ADDR="+providerAddr,
		"API_ADDR="+apiAddr,
	)
	cmd.Stdout = a.output
	cmd.Stderr = a.output
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start quickstart: %v", err)
	}
	go func() {
		a.waitErr = cmd.Wait()
		close(a.exited)
	}()
	t.Logf("quickstart (store=%s) pid %d: app %s, provider %s", store, cmd.Process.Pid, a.URL, a.ProviderURL)

	t.Cleanup(func() {
		signalGroup(cmd, false)
		select {
		case <-a.exited:
		case <-time.After(stopTimeout):
			signalGroup(cmd, true)
			<-a.exited
		}
		out := a.output.String()
		if err := os.WriteFile(filepath.Join(artifacts, "app.log"), []byte(out), 0o644); err != nil {
			t.Errorf("save app log: %v", err)
		}
		if t.Failed() {
			t.Logf("quickstart output (store=%s):\n%s", store, indent(out))
		}
	})

	if err := a.waitReady(providerAddr); err != nil {
		t.Fatalf("quickstart (store=%s) not ready: %v\noutput:\n%s", store, err, indent(a.output.String()))
	}
	if u := a.printedProviderURL(); u != "" && u != a.ProviderURL {
		t.Logf("provider announces itself as %s", u)
		a.ProviderURL = u
	}
	return a
}

// waitReady waits until the quickstart prints its URL, then checks at once,
// without retrying, that the home page, the provider and the demo API
// answer: the quickstart prints its URL only once everything is served.
func (a *app) waitReady(providerAddr string) error {
	deadline := time.Now().Add(readyTimeout)
	for !strings.Contains(a.output.String(), "Quickstart: "+a.URL) {
		select {
		case <-a.exited:
			return fmt.Errorf("process exited early: %v", a.waitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no line %q after %s", "Quickstart: "+a.URL, readyTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for _, u := range []string{a.URL + "/", a.APIURL + "/healthz"} {
		if err := probe(client, u); err != nil {
			return fmt.Errorf("printed its URL before serving: %w", err)
		}
	}
	conn, err := net.DialTimeout("tcp", providerAddr, time.Second)
	if err != nil {
		return fmt.Errorf("printed its URL before the provider listened: %w", err)
	}
	return conn.Close()
}

func probe(client *http.Client, u string) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// printedProviderURL returns the URL from the quickstart's line
// "Logto (embedded test provider): <url>", or "" if it has not printed one.
func (a *app) printedProviderURL() string {
	const prefix = "Logto (embedded test provider):"
	sc := bufio.NewScanner(strings.NewReader(a.output.String()))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, prefix); i >= 0 {
			if f := strings.Fields(line[i+len(prefix):]); len(f) > 0 {
				return strings.TrimRight(f[0], "/")
			}
		}
	}
	return ""
}

func indent(s string) string {
	if s == "" {
		return "    (no output)"
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
