package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtocli"
)

// asCLIEnv makes the test binary run main: the tool itself, for the tests
// that run it as a separate process (and for the provider it starts).
const asCLIEnv = "LOGTO_CLI_EXAMPLE_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asCLIEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// tool runs the tool as separate processes in one configuration
// directory, with no LOGTO_* variable but LOGTO_CLI_DIR: the embedded
// demo provider.
type tool struct {
	t   *testing.T
	dir string
}

func newTool(t *testing.T) *tool {
	t.Helper()
	tl := &tool{t: t, dir: t.TempDir()}
	t.Cleanup(tl.stopProvider)
	return tl
}

func (tl *tool) command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOGTO_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, asCLIEnv+"=1", "LOGTO_CLI_DIR="+tl.dir)
	return cmd
}

// run runs the tool to its end and returns its exit status and output.
func (tl *tool) run(args ...string) (int, string, string) {
	tl.t.Helper()
	cmd := tl.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(tl.t, err)
	}
	return code, stdout.String(), stderr.String()
}

// ok runs the tool, requires success, and returns its standard output.
func (tl *tool) ok(args ...string) string {
	tl.t.Helper()
	code, stdout, stderr := tl.run(args...)
	require.Equal(tl.t, 0, code, "%v: %s", args, stderr)
	return stdout
}

// provider returns the state of the background demo provider.
func (tl *tool) provider() providerInfo {
	tl.t.Helper()
	st, err := providerState(tl.dir)
	require.NoError(tl.t, err)
	ctx := context.Background()
	url, _ := st.Get(ctx, "url")
	pid, _ := st.Get(ctx, "pid")
	n, _ := strconv.Atoi(pid)
	return providerInfo{URL: url, PID: n}
}

// stopProvider ends the background provider the tool started, and waits
// until it has cleaned up.
func (tl *tool) stopProvider() {
	p := tl.provider()
	if p.PID <= 0 {
		return
	}
	proc, err := os.FindProcess(p.PID)
	if err != nil || proc.Signal(syscall.SIGTERM) != nil {
		return
	}
	for i := 0; i < 200 && proc.Signal(syscall.Signal(0)) == nil; i++ {
		time.Sleep(25 * time.Millisecond)
	}
}

// storage opens the tool's default profile.
func (tl *tool) storage() *logtocli.FileStorage {
	tl.t.Helper()
	s, err := logtocli.NewFileStorage(logtocli.FileStorageOptions{Dir: tl.dir})
	require.NoError(tl.t, err)
	return s
}

// jwtPayload decodes the claims of a compact JWT.
func jwtPayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(tok), ".")
	require.Len(t, parts, 3, "not a JWT: %q", tok)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(raw, &claims))
	return claims
}

// TestEmbeddedDeviceFlow runs the tool as a user would on a fresh clone,
// each command its own process against the embedded provider the first
// login starts in the background: login --device (the code approved by
// the provider after a moment), whoami, token twice at once (one refresh,
// the same token for both), orgs, logout (the refresh token revoked, the
// file gone), then a browser login whose page a client opens.
func TestEmbeddedDeviceFlow(t *testing.T) {
	tl := newTool(t)

	_, _, stderr := tl.run("login", "--device")
	require.Contains(t, stderr, "Signed in as Demo User", stderr)
	assert.Regexp(t, `To sign in, open http://127\.0\.0\.1:\d+/device on any device and enter the code\n\n    [A-Z]{4}-[A-Z]{4}\n`, stderr)
	assert.Regexp(t, `or open http://127\.0\.0\.1:\d+/device\?user_code=[A-Z]{4}-[A-Z]{4}\n`, stderr)
	assert.Regexp(t, `Waiting for the sign-in to be approved; the code expires in 9m5\ds\n`, stderr, "the time left, once on a non-terminal")
	p := tl.provider()
	require.NotEmpty(t, p.URL)
	require.Positive(t, p.PID)

	out := tl.ok("whoami")
	assert.Regexp(t, `(?m)^Subject +demo-user$`, out)
	assert.Regexp(t, `(?m)^Email +demo@example\.com$`, out)
	assert.Regexp(t, `(?m)^Organizations +org-demo$`, out)
	assert.Regexp(t, `(?m)^Application +logto-cli-example-device$`, out)
	assert.Regexp(t, `(?m)^Issuer +`+regexp.QuoteMeta(p.URL)+`/oidc$`, out)
	var claims map[string]any
	require.NoError(t, json.Unmarshal([]byte(tl.ok("whoami", "--json")), &claims))
	assert.Equal(t, "demo-user", claims["sub"])
	assert.Equal(t, "logto-cli-example-device", claims["aud"])

	// Two runs at once need the same API token: one refreshes (the
	// refresh token rotates and cannot be spent twice), the other waits
	// for the profile's lock and finds the token in the file.
	rt0, err := tl.storage().Get(context.Background(), logto.StorageKeyRefreshToken)
	require.NoError(t, err)
	var wg sync.WaitGroup
	tokens := make([]string, 2)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i] = tl.ok("token", "--resource", demoAPI)
		}()
	}
	wg.Wait()
	assert.Equal(t, tokens[0], tokens[1], "one refresh for both runs")
	at := jwtPayload(t, tokens[0])
	assert.Equal(t, demoAPI, at["aud"])
	assert.Contains(t, strings.Fields(at["scope"].(string)), "read:data")
	rt1, err := tl.storage().Get(context.Background(), logto.StorageKeyRefreshToken)
	require.NoError(t, err)
	assert.NotEqual(t, rt0, rt1, "the refresh token rotated once")
	assert.Equal(t, tokens[0], tl.ok("token", "--resource", demoAPI), "cached: no refresh")

	org := jwtPayload(t, tl.ok("token", "--org", demoOrgID))
	assert.Equal(t, "urn:logto:organization:"+demoOrgID, org["aud"])
	code, _, stderr := tl.run("token", "--resource", "https://other.example.com")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "https://other.example.com was not requested at login")

	assert.Regexp(t, `(?m)^org-demo +Demo Org +member$`, tl.ok("orgs"))

	_, _, stderr = tl.run("logout")
	assert.Contains(t, stderr, `Signed out (profile "default").`)
	_, err = os.Stat(filepath.Join(tl.dir, "default.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the token file is gone")
	status := refresh(t, p.URL, demoDeviceAppID, rt1)
	assert.Equal(t, http.StatusBadRequest, status, "the refresh token was revoked")
	code, _, stderr = tl.run("whoami")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not signed in")
	_, _, stderr = tl.run("logout")
	assert.Contains(t, stderr, `Profile "default" is not signed in.`)

	// The browser sign-in, on the same provider (still running): the
	// user opens the printed URL.
	cmd := tl.command("login", "--no-browser")
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var page string
	var printed strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if u := regexp.MustCompile(`^  (http://\S+/oidc/auth\?\S+)$`).FindStringSubmatch(sc.Text()); u != nil {
			resp, err := http.Get(u[1])
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page = string(body)
		}
	}
	require.NoError(t, cmd.Wait(), printed.String())
	assert.Contains(t, page, "You are signed in. You can close this window and return to the terminal.")
	assert.Contains(t, printed.String(), "using the embedded demo provider at "+p.URL, "the running provider is reused")
	assert.Regexp(t, `(?m)^Application +logto-cli-example$`, tl.ok("whoami"))
	assert.Regexp(t, `(?m)^Signed in +.*\(browser\)$`, tl.ok("whoami"))
	tl.ok("logout")
}

// refresh sends a refresh request for a public client and returns the
// status.
func refresh(t *testing.T, endpoint, clientID, rt string) int {
	t.Helper()
	resp, err := http.PostForm(endpoint+"/oidc/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID},
	})
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestProviderRestart: when the background provider has stopped, a
// command says so, and the next login starts a new one.
func TestProviderRestart(t *testing.T) {
	tl := newTool(t)
	tl.ok("login", "--device")
	first := tl.provider()
	proc, err := os.FindProcess(first.PID)
	require.NoError(t, err)
	require.NoError(t, proc.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return !providerAlive(context.Background(), first.URL) }, 10*time.Second, 50*time.Millisecond)

	code, _, stderr := tl.run("token", "--resource", demoAPI)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "the embedded demo provider has stopped")
	assert.Regexp(t, `(?m)^Subject +demo-user$`, tl.ok("whoami"), "whoami reads the file alone")

	tl.ok("login", "--device")
	second := tl.provider()
	assert.NotEqual(t, first.URL, second.URL)
	assert.NotEqual(t, first.PID, second.PID)
	_, _, stderr = tl.run("logout")
	assert.Contains(t, stderr, "Signed out")
}
