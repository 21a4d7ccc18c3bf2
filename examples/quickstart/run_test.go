package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// busyPort holds a loopback port for the rest of the test.
func busyPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// freePort returns a loopback port that was free a moment ago. It is
// taken below Linux's ephemeral range (32768 and up), so that the ports
// other processes get from the system do not land on it meanwhile.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		p := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			_ = ln.Close()
			return p
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// requireFree fails unless the ports can be bound again: run left nothing
// behind. A server whose Serve goroutine had not started when it was
// closed releases its listener when that goroutine runs: allow a moment.
func requireFree(t *testing.T, ports ...int) {
	t.Helper()
	for _, p := range ports {
		var err error
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var ln net.Listener
			if ln, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p)); err == nil {
				_ = ln.Close()
				break
			}
			if time.Now().After(deadline) {
				break
			}
		}
		require.NoError(t, err, "port %d is still bound", p)
	}
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// runOnce runs the quickstart with env until it returns (a start-up error)
// or, if it starts, fails the test.
func runOnce(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out syncWriter
	err := run(ctx, func(k string) string { return env[k] }, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.Error(t, err, "the quickstart started; output:\n%s", out.String())
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	return out.String(), err
}

// TestRunStartupErrors: every bad setting is reported, naming its
// variable, before anything is printed. PORT is busy in every case, so an
// error about the setting also shows that it was checked before any port
// was bound.
func TestRunStartupErrors(t *testing.T) {
	real := map[string]string{"LOGTO_ENDPOINT": "https://tenant.logto.app", "LOGTO_APP_ID": "app", "LOGTO_APP_SECRET": "s"}
	with := func(base map[string]string, kv ...string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"endpoint scheme", with(real, "LOGTO_ENDPOINT", "ftp://x"), []string{"LOGTO_ENDPOINT", "scheme must be http or https"}},
		{"endpoint not https", with(real, "LOGTO_ENDPOINT", "http://logto.example.com"), []string{"LOGTO_ENDPOINT", "https"}},
		{"endpoint not a URL", with(real, "LOGTO_ENDPOINT", "my-tenant"), []string{"LOGTO_ENDPOINT", "absolute http(s) URL"}},
		{"missing app id", with(real, "LOGTO_APP_ID", ""), []string{"LOGTO_APP_ID is required with LOGTO_ENDPOINT"}},
		{"missing app secret", with(real, "LOGTO_APP_SECRET", ""), []string{"LOGTO_APP_SECRET is required with LOGTO_ENDPOINT"}},
		{"app id without endpoint", with(nil, "LOGTO_APP_ID", "app", "LOGTO_SCOPES", "read:data"),
			[]string{"LOGTO_APP_ID and LOGTO_SCOPES are set but LOGTO_ENDPOINT is not"}},
		{"unknown session store", with(nil, "LOGTO_SESSION_STORE", "redis"),
			[]string{`LOGTO_SESSION_STORE="redis" is unknown`, `"cookie"`, `"server"`}},
		{"short cookie key", with(nil, "LOGTO_COOKIE_KEY", "too-short"), []string{"LOGTO_COOKIE_KEY must be the base64 encoding of 32 bytes"}},
		{"base URL", with(nil, "LOGTO_BASE_URL", "ftp://x"), []string{"LOGTO_BASE_URL"}},
		{"provider address", with(nil, "LOGTO_PROVIDER_ADDR", "localhost"), []string{`LOGTO_PROVIDER_ADDR="localhost" must be host:port`}},
		{"API address", with(nil, "API_ADDR", "127.0.0.1:99999"), []string{`API_ADDR="127.0.0.1:99999" must be host:port`}},
		{"API URL", with(nil, "API_URL", "localhost:3002"), []string{`API_URL="localhost:3002" must be an absolute http(s) URL`}},
		{"several at once", with(real, "LOGTO_APP_ID", "", "LOGTO_SESSION_STORE", "memory", "API_URL", "x"),
			[]string{"LOGTO_APP_ID is required", "LOGTO_SESSION_STORE", "API_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := with(tt.env, "PORT", strconv.Itoa(busyPort(t)))
			provider, api := freePort(t), freePort(t)
			if env["LOGTO_PROVIDER_ADDR"] == "" {
				env["LOGTO_PROVIDER_ADDR"] = addr(provider)
			}
			if env["API_ADDR"] == "" {
				env["API_ADDR"] = addr(api)
			}
			out, err := runOnce(t, env)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "in use", "settings are checked before ports")
			assert.Empty(t, out, "nothing printed")
			requireFree(t, provider, api)
		})
	}

	t.Run("bad port number", func(t *testing.T) {
		for _, p := range []string{"abc", "-1", "70000"} {
			out, err := runOnce(t, map[string]string{"PORT": p})
			assert.Contains(t, err.Error(), `PORT="`+p+`" is not a port number`)
			assert.Empty(t, out)
		}
	})
}

var suggestion = regexp.MustCompile(`e\.g\. ([A-Z_]+)=(?:127\.0\.0\.1:)?(\d+)`)

// TestRunBusyPorts: a busy port names the variable that chose it and
// suggests a free port; nothing is printed and nothing stays bound.
func TestRunBusyPorts(t *testing.T) {
	tests := []struct {
		name     string
		busy     string // the variable whose port is busy
		real     bool   // with LOGTO_ENDPOINT
		want     []string
		variable string // of the suggestion
	}{
		{name: "app port only", busy: "PORT", want: []string{"127.0.0.1:%d is already in use", "set PORT to a free port"}, variable: "PORT"},
		{name: "provider port", busy: "LOGTO_PROVIDER_ADDR", want: []string{"embedded provider: 127.0.0.1:%d is already in use", "set LOGTO_PROVIDER_ADDR to a free port"}, variable: "LOGTO_PROVIDER_ADDR"},
		{name: "API port", busy: "API_ADDR", want: []string{"demo API: 127.0.0.1:%d is already in use", "set API_ADDR to a free port", "or set API_URL"}, variable: "API_ADDR"},
		{name: "app port with a real Logto", busy: "PORT", real: true, want: []string{":%d is already in use", "set PORT to a free port", "register the new <base URL>/callback in Logto"}, variable: "PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports := map[string]int{"PORT": freePort(t), "LOGTO_PROVIDER_ADDR": freePort(t), "API_ADDR": freePort(t)}
			ports[tt.busy] = busyPort(t)
			env := map[string]string{
				"PORT":                strconv.Itoa(ports["PORT"]),
				"LOGTO_PROVIDER_ADDR": addr(ports["LOGTO_PROVIDER_ADDR"]),
				"API_ADDR":            addr(ports["API_ADDR"]),
			}
			if tt.real {
				env["LOGTO_ENDPOINT"], env["LOGTO_APP_ID"], env["LOGTO_APP_SECRET"] = "https://tenant.logto.app", "app", "s"
				delete(env, "LOGTO_PROVIDER_ADDR")
				delete(env, "API_ADDR")
			}
			out, err := runOnce(t, env)
			assert.True(t, errors.Is(err, syscall.EADDRINUSE), "%v wraps the listen error", err)
			for _, w := range tt.want {
				w = strings.Replace(w, "%d", strconv.Itoa(ports[tt.busy]), 1)
				assert.Contains(t, err.Error(), w)
			}
			for name := range ports {
				if name != tt.busy {
					assert.NotContains(t, err.Error(), "set "+name, "only the busy port's variable is named")
				}
			}
			m := suggestion.FindStringSubmatch(err.Error())
			require.NotNil(t, m, "a free port is suggested: %v", err)
			assert.Equal(t, tt.variable, m[1])
			suggested, _ := strconv.Atoi(m[2])
			for _, p := range ports {
				assert.NotEqual(t, p, suggested, "the suggestion is none of the quickstart's ports")
			}
			assert.Empty(t, out, "no URL printed")
			for name, p := range ports {
				if name != tt.busy {
					requireFree(t, p)
				}
			}
		})
	}
}

// servedWriter checks, the moment a URL is printed, that it answers.
type servedWriter struct {
	syncWriter
	t       *testing.T
	checked []string
}

var printedURL = regexp.MustCompile(`^([^:]+(?: \([^)]*\))?): (http://\S+)`)

func (w *servedWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		m := printedURL.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		target := m[2]
		switch {
		case strings.HasPrefix(m[1], "Logto"):
			target += "/oidc/.well-known/openid-configuration"
		case strings.HasPrefix(m[1], "API"):
			target += "/healthz"
		default:
			target += "/"
		}
		resp, err := http.Get(target)
		if assert.NoError(w.t, err, "%s is printed before it is served", m[2]) {
			resp.Body.Close()
			assert.Equal(w.t, http.StatusOK, resp.StatusCode, target)
		}
		w.checked = append(w.checked, m[1])
	}
	return w.syncWriter.Write(p)
}

// TestRunEmbedded starts the quickstart with its embedded provider and
// demo API on ports the system picks: each printed URL is already served,
// the quickstart's URL comes last, and a cancel stops everything.
func TestRunEmbedded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{"PORT": "0", "LOGTO_PROVIDER_ADDR": "127.0.0.1:0", "API_ADDR": "127.0.0.1:0"}
	out := &servedWriter{t: t}
	var logs syncWriter
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, out, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Quickstart:") }, 10*time.Second, 10*time.Millisecond)
	assert.Regexp(t, `^Logto \(embedded test provider\): http://127\.0\.0\.1:\d+\n`+
		`API \(examples/api, for "Call the API"\): http://127\.0\.0\.1:\d+\n`+
		`Quickstart: http://127\.0\.0\.1:\d+  \(sign in as "demo"\)\n$`, out.String())
	assert.Len(t, out.checked, 3)
	assert.Contains(t, logs.String(), "LOGTO_COOKIE_KEY is not set")
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
}

// TestRunWithLogto starts the quickstart for a real Logto (no request is
// made at start-up): one URL, served when printed.
func TestRunWithLogto(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	port := freePort(t)
	env := map[string]string{
		"PORT": strconv.Itoa(port), "LOGTO_ENDPOINT": "https://tenant.logto.app", "LOGTO_APP_ID": "app", "LOGTO_APP_SECRET": "s",
		"LOGTO_COOKIE_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "LOGTO_PROVIDER_ADDR": "127.0.0.1:1",
	}
	out := &servedWriter{t: t}
	var logs syncWriter
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, out, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Quickstart:") }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "Quickstart: http://127.0.0.1:"+strconv.Itoa(port)+"\n", out.String())
	assert.Contains(t, logs.String(), "LOGTO_PROVIDER_ADDR is ignored")
	assert.NotContains(t, logs.String(), "LOGTO_COOKIE_KEY")
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	requireFree(t, port)
}

// TestStartError lists several problems one a line.
func TestStartError(t *testing.T) {
	assert.Equal(t, "quickstart: PORT is bad", startError(errors.New("PORT is bad")))
	assert.Equal(t, "quickstart: cannot start:\n  - PORT is bad\n  - API_URL is bad",
		startError(errors.Join(errors.New("PORT is bad"), errors.New("API_URL is bad"))))
}
