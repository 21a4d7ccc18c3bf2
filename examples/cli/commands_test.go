package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// inProcess runs commands in this process, configured by environment
// variables for a Logto at srv (as with a real Logto): the path that
// needs no embedded provider.
type inProcess struct {
	t   *testing.T
	env map[string]string
}

func newInProcess(t *testing.T, srv *logtotest.Server) *inProcess {
	t.Helper()
	return &inProcess{t: t, env: map[string]string{
		"LOGTO_ENDPOINT":      srv.URL(),
		"LOGTO_APP_ID":        "native-app",
		"LOGTO_DEVICE_APP_ID": "device-app",
		"LOGTO_RESOURCES":     "https://api.example.com",
		"LOGTO_SCOPES":        "read:data",
		"LOGTO_CLI_DIR":       t.TempDir(),
	}}
}

func (p *inProcess) run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	e := &environment{
		stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return p.env[k] },
		openBrowser: func(u string) error {
			resp, err := http.Get(u)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		},
		startProvider: func(context.Context, string) (providerInfo, error) {
			p.t.Error("no embedded provider with LOGTO_ENDPOINT")
			return providerInfo{}, nil
		},
	}
	code := e.run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

// newLogto is a logtotest with the two Native apps a tool registers.
func newLogto(t *testing.T) *logtotest.Server {
	t.Helper()
	srv := logtotest.NewServer(t, logtotest.WithWallClock(), logtotest.WithDevicePollInterval(time.Second))
	srv.AddApp(logtotest.App{ID: "native-app", Type: logtotest.AppNative, RedirectURIs: []string{"http://127.0.0.1/callback"}})
	srv.AddApp(logtotest.App{ID: "device-app", Type: logtotest.AppNative, DeviceFlow: true})
	srv.AddResource(logtotest.Resource{Indicator: "https://api.example.com", Scopes: []string{"read:data"}})
	srv.AddRole("reader", "https://api.example.com", "read:data")
	srv.AddUser(logtotest.User{ID: "u-1", Username: "grace", Email: "grace@example.com", Roles: []string{"reader"}})
	srv.SetAutoLogin("u-1")
	srv.SetDeviceAutoApprove("u-1")
	return srv
}

// TestConfiguredLogto: with LOGTO_ENDPOINT and the app IDs, login in the
// browser uses LOGTO_APP_ID, login --device LOGTO_DEVICE_APP_ID, each
// with the resources and scopes configured; the other commands use the
// profile.
func TestConfiguredLogto(t *testing.T) {
	srv := newLogto(t)
	p := newInProcess(t, srv)

	code, _, stderr := p.run("login")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "Signed in as grace to "+srv.URL())
	assert.NotContains(t, stderr, "embedded")
	auth := srv.Requests(logtotest.EndpointAuth)
	require.Len(t, auth, 1)
	assert.Equal(t, "native-app", auth[0].Form.Get("client_id"))
	assert.Contains(t, strings.Fields(auth[0].Form.Get("scope")), "read:data")
	assert.Contains(t, auth[0].Form["resource"], "https://api.example.com")

	code, out, _ := p.run("whoami")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^Application +native-app$`, out)
	assert.Regexp(t, `(?m)^Email +grace@example\.com$`, out)

	// The environment no longer matters: the profile holds the config.
	p.env["LOGTO_ENDPOINT"] = "http://127.0.0.1:1"
	code, out, stderr = p.run("token", "--resource", "https://api.example.com")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "https://api.example.com", jwtPayload(t, out)["aud"])
	p.env["LOGTO_ENDPOINT"] = srv.URL()

	code, _, stderr = p.run("login", "--device", "--profile", "tv")
	require.Equal(t, 0, code, stderr)
	dev := srv.Requests(logtotest.EndpointDeviceAuth)
	require.Len(t, dev, 1)
	assert.Equal(t, "device-app", dev[0].Form.Get("client_id"))
	code, out, _ = p.run("whoami", "--profile", "tv")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^Application +device-app$`, out)
	code, out, _ = p.run("whoami")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^Application +native-app$`, out, "profiles are separate")

	code, _, stderr = p.run("orgs")
	require.Equal(t, 0, code)
	assert.Contains(t, stderr, "You belong to no organization")

	for _, profile := range []string{"default", "tv"} {
		code, _, stderr = p.run("logout", "--profile", profile)
		require.Equal(t, 0, code)
		assert.Contains(t, stderr, "Signed out")
	}
	assert.Len(t, srv.Requests(logtotest.EndpointRevocation), 2, "each logout revoked its refresh token")
}

// TestCorruptProfile: an unreadable token file makes the commands fail
// with a message naming it, and logout removes it.
func TestCorruptProfile(t *testing.T) {
	srv := newLogto(t)
	p := newInProcess(t, srv)
	path := filepath.Join(p.env["LOGTO_CLI_DIR"], "default.json")
	require.NoError(t, os.WriteFile(path, []byte("{\"access_token\":"), 0o600))

	for _, args := range [][]string{{"whoami"}, {"token", "--resource", "https://api.example.com"}, {"login"}} {
		code, _, stderr := p.run(args...)
		assert.Equal(t, 1, code, args)
		assert.Contains(t, stderr, path, args)
		assert.Contains(t, stderr, "token file is unreadable", args)
		assert.Contains(t, stderr, "Run `cli logout` to remove it", args)
		assert.NotContains(t, stderr, "panic", args)
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "{\"access_token\":", string(got), "nothing wrote over it")
	assert.Empty(t, srv.Requests(logtotest.EndpointAuth), "login stopped before the browser")

	code, _, stderr := p.run("logout")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Removed the unreadable token file "+path)
	_, err = os.Stat(path)
	assert.ErrorIs(t, err, os.ErrNotExist)
	code, _, stderr = p.run("login")
	assert.Equal(t, 0, code, stderr)
}

// TestUsage: command-line mistakes exit with status 2 and say what to fix.
func TestUsage(t *testing.T) {
	srv := newLogto(t)
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "Usage: cli <command>"},
		{[]string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{[]string{"token"}, nil, "token needs --resource, --org or both"},
		{[]string{"login", "--device", "--port", "8080"}, nil, "--port and --no-browser are for the browser sign-in"},
		{[]string{"login", "--port", "70000"}, nil, "--port 70000 is not a port number"},
		{[]string{"login", "extra"}, nil, "login takes no arguments"},
		{[]string{"login", "--nope"}, nil, "flag provided but not defined"},
		{[]string{"login"}, map[string]string{"LOGTO_ENDPOINT": ""}, "--app-id (LOGTO_APP_ID) is set but --endpoint (LOGTO_ENDPOINT) is not"},
		{[]string{"login"}, map[string]string{"LOGTO_APP_ID": "", "LOGTO_DEVICE_APP_ID": ""}, "--app-id (LOGTO_APP_ID) is required"},
		{[]string{"whoami", "--profile", "../x"}, nil, "invalid profile name"},
	} {
		p := newInProcess(t, srv)
		for k, v := range tc.env {
			p.env[k] = v
		}
		code, _, stderr := p.run(tc.args...)
		want := 2
		if len(tc.args) > 0 && tc.args[0] == "whoami" {
			want = 1
		}
		assert.Equal(t, want, code, "%v: %s", tc.args, stderr)
		assert.Contains(t, stderr, tc.want, tc.args)
	}
	p := newInProcess(t, srv)
	code, _, stderr := p.run("login", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "Usage: cli login")
}

// TestProgress: on a pipe, the time left is written at the first poll and
// then at most every 30 s, never on every poll.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1_700_000_000, 0)
	expires := now.Add(10 * time.Minute)
	p := newProgress(&buf, false, func() time.Time { return now }, expires)
	for i := 0; i < 13; i++ { // a poll every 5 s for a minute
		p.poll(expires.Sub(now))
		now = now.Add(5 * time.Second)
	}
	p.finish()
	assert.Equal(t, "Waiting for the sign-in to be approved; the code expires in 10m0s\n"+
		"Waiting for the sign-in to be approved; the code expires in 9m30s\n"+
		"Waiting for the sign-in to be approved; the code expires in 9m0s\n", buf.String())
	assert.Equal(t, "Waiting for the sign-in to be approved; the code expires in 0s (checked 3×)", line(-time.Second, 3))

	// On a terminal: one line, rewritten in place, cleared at the end.
	var tty syncBuffer
	p = newProgress(&tty, true, func() time.Time { return now }, now.Add(90*time.Second))
	p.poll(90 * time.Second)
	p.finish()
	out := tty.String()
	assert.True(t, strings.HasPrefix(out, "\r\033[KWaiting for the sign-in to be approved; the code expires in 1m30s"), "%q", out)
	assert.True(t, strings.HasSuffix(out, "\r\033[K"), "%q", out)
	assert.NotContains(t, out, "\n")
}

// syncBuffer is a bytes.Buffer safe for a writing goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
