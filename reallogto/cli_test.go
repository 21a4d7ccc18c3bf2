package reallogto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cliBinary builds examples/cli once for the suite.
func cliBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "logto-cli-example-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "cli")
		out, err := exec.Command("go", "build", "-C", "..", "-o", cliPath, "./examples/cli").CombinedOutput()
		if err != nil {
			cliErr = &buildError{out: string(out), err: err}
		}
	})
	require.NoError(t, cliErr)
	return cliPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// cliRun is the example tool configured for tg with LOGTO_* variables,
// as its README tells a user of a real Logto.
type cliRun struct {
	t   *testing.T
	bin string
	dir string // LOGTO_CLI_DIR
	env []string
}

func (c *cliRun) command(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	return cmd
}

func (c *cliRun) ok(args ...string) (string, string) {
	c.t.Helper()
	cmd := c.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(c.t, cmd.Run(), "cli %v: %s", args, stderr.String())
	return stdout.String(), stderr.String()
}

// interactive runs a login whose standard error the user reads: each line
// goes to onLine, which may act on it (open the URL, enter the code).
func (c *cliRun) interactive(onLine func(line string), args ...string) string {
	c.t.Helper()
	cmd := c.command(args...)
	errPipe, err := cmd.StderrPipe()
	require.NoError(c.t, err)
	require.NoError(c.t, cmd.Start())
	var all strings.Builder
	sc := bufio.NewScanner(errPipe)
	for sc.Scan() {
		all.WriteString(sc.Text() + "\n")
		onLine(sc.Text())
	}
	require.NoError(c.t, cmd.Wait(), "cli %v: %s", args, all.String())
	return all.String()
}

var (
	codeLine    = regexp.MustCompile(`^    ([A-Z0-9]{4}-[A-Z0-9]{4})$`)
	verifyLine  = regexp.MustCompile(`^To sign in, open (\S+) on any device`)
	completeURL = regexp.MustCompile(`^or open (\S+)$`)
	authLine    = regexp.MustCompile(`^  (http://\S+/oidc/auth\?\S+)$`)
)

// TestCLIExample runs examples/cli as a user of a real Logto would, each
// command its own process configured by LOGTO_* variables: login --device
// (the code entered on Logto's device page, headlessly), whoami, an API
// token refreshed, an organization token, orgs, logout (the refresh token
// revoked); then the browser login on a loopback port the Native app
// registered without port.
func TestCLIExample(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		dt := tg.(deviceTarget)
		u := tg.newUser(t, userSpec{Email: true, APIScopes: []string{readData}, Organizations: []string{tg.org()}})
		nat := tg.newApp(t, appSpec{Native: true, RedirectURI: loopbackRedirect})
		dev := dt.newDeviceApp(t)
		dir := t.TempDir()
		c := &cliRun{t: t, bin: cliBinary(t), dir: dir, env: append(os.Environ(),
			"LOGTO_ENDPOINT="+tg.endpoint(),
			"LOGTO_APP_ID="+nat.ID,
			"LOGTO_DEVICE_APP_ID="+dev.ID,
			"LOGTO_RESOURCES="+tg.api(),
			"LOGTO_SCOPES="+readData+","+orgScope,
			"LOGTO_CLI_DIR="+dir,
		)}

		var da logto.DeviceAuthorization
		printed := c.interactive(func(line string) {
			if m := verifyLine.FindStringSubmatch(line); m != nil {
				da.VerificationURI = m[1]
			}
			if m := completeURL.FindStringSubmatch(line); m != nil {
				da.VerificationURIComplete = m[1]
			}
			if m := codeLine.FindStringSubmatch(line); m != nil {
				da.UserCode = m[1]
			}
			if strings.HasPrefix(line, "Waiting for the sign-in to be approved") {
				dt.deviceUserStep(t, newBrowser(t), &da, u, true)
			}
		}, "login", "--device")
		assert.Contains(t, printed, "Signed in as ")
		assert.NotContains(t, printed, "embedded")

		out, _ := c.ok("whoami", "--json")
		var claims map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &claims))
		assert.Equal(t, u.ID, claims["sub"])
		assert.Equal(t, dev.ID, claims["aud"])
		assert.Equal(t, u.Email, claims["email"])

		out, _ = c.ok("token", "--resource", tg.api())
		at := jwtClaims(t, strings.TrimSpace(out))
		assert.Equal(t, tg.api(), at["aud"])
		assert.Contains(t, strings.Fields(at["scope"].(string)), readData)
		again, _ := c.ok("token", "--resource", tg.api())
		assert.Equal(t, out, again, "cached in the file: no second refresh")
		out, _ = c.ok("token", "--org", tg.org())
		assert.Equal(t, organizationURN+tg.org(), jwtClaims(t, strings.TrimSpace(out))["aud"])
		out, _ = c.ok("orgs")
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(tg.org())+` `, out)

		// The refresh token in the file, to check the revocation.
		var file struct {
			Values map[string]string `json:"values"`
		}
		raw, err := os.ReadFile(filepath.Join(c.dir, "default.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &file))
		rt := file.Values[logto.StorageKeyRefreshToken]
		require.NotEmpty(t, rt)
		_, stderr := c.ok("logout")
		assert.Contains(t, stderr, "Signed out")
		status, body := rawRefresh(t, tg, dev, rt)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"], "logout revoked the refresh token")

		// The browser sign-in: the user opens the printed URL.
		printed = c.interactive(func(line string) {
			if m := authLine.FindStringSubmatch(line); m != nil {
				b := newBrowser(t)
				loc := tg.signIn(t, b, m[1], u)
				p := b.get(loc)
				assert.Equal(t, http.StatusOK, p.status, "%s", p)
				assert.Contains(t, string(p.body), "You are signed in")
			}
		}, "login", "--no-browser")
		assert.Contains(t, printed, "Signed in as ")
		out, _ = c.ok("whoami")
		assert.Regexp(t, `(?m)^Application +`+regexp.QuoteMeta(nat.ID)+`$`, out)
		assert.Regexp(t, `(?m)^Signed in +.*\(browser\)$`, out)
		out, _ = c.ok("token", "--resource", tg.api())
		assert.Equal(t, tg.api(), jwtClaims(t, strings.TrimSpace(out))["aud"])
		c.ok("logout")
	})
}
