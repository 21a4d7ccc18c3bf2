package logtocli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtocli"
	"github.com/gologto/logto/logtotest"
)

const (
	nativeID   = "cli-app"
	userID     = "u-ada"
	registered = "http://127.0.0.1/callback"
)

// newProvider starts logtotest with a Native app registered with the
// portless loopback redirect URI, and a user it signs in at once.
func newProvider(t *testing.T) *logtotest.Server {
	t.Helper()
	srv := logtotest.NewServer(t)
	srv.AddApp(logtotest.App{ID: nativeID, Type: logtotest.AppNative, RedirectURIs: []string{registered}})
	srv.AddUser(logtotest.User{ID: userID, Username: "ada", Name: "Ada"})
	srv.SetAutoLogin(userID)
	return srv
}

func newClient(t *testing.T, srv *logtotest.Server, storage logto.Storage) *logto.LogtoClient {
	t.Helper()
	c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: nativeID}, storage)
	require.NoError(t, err)
	return c
}

// browser plays the user's browser: it follows the authorization URL
// through the provider (auto sign-in) to the loopback listener, and keeps
// the last page it got there.
type browser struct {
	t      *testing.T
	wg     sync.WaitGroup // running gets
	mu     sync.Mutex
	status int
	body   string
	urls   []string
}

func (b *browser) get(rawURL string) error {
	b.wg.Add(1)
	defer b.wg.Done()
	resp, err := http.Get(rawURL)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status, b.body = resp.StatusCode, string(body)
	b.urls = append(b.urls, resp.Request.URL.String())
	return nil
}

// page waits for the browser to be done, and returns its last page.
func (b *browser) page() (int, string) {
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, b.body
}

// snapshot copies every key of a MemoryStorage the SDK may write.
func snapshot(t *testing.T, s logto.Storage) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeySignInSession} {
		v, err := s.Get(context.Background(), k)
		require.NoError(t, err)
		out[k] = v
	}
	return out
}

// redirectOf returns the redirect_uri of an authorization URL.
func redirectOf(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	return u.Query().Get("redirect_uri")
}

// TestLoopbackSignIn: the whole flow, its browser completed by an HTTP
// client: a free port, the redirect URI registered without port, PKCE,
// state and nonce, the success page, tokens in the client's storage and
// nothing else, and the listener closed afterwards.
func TestLoopbackSignIn(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	storage := logto.NewMemoryStorage()
	client := newClient(t, srv, storage)
	b := &browser{t: t}
	var authURL string
	var out bytes.Buffer
	err := logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{
		AppName: "mytool",
		Out:     &out,
		OpenBrowser: func(u string) error {
			authURL = u
			return b.get(u)
		},
	})
	require.NoError(t, err)

	redirect := redirectOf(t, authURL)
	assert.Regexp(t, `^http://127\.0\.0\.1:\d+/callback$`, redirect)
	q, _ := url.Parse(authURL)
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		assert.NotEmpty(t, q.Query().Get(p), p)
	}
	assert.Equal(t, "S256", q.Query().Get("code_challenge_method"))

	status, body := b.page()
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "You are signed in. You can close this window and return to mytool.")
	assert.Contains(t, b.urls[0], redirect+"?code=", "the browser ended on the loopback listener")

	assert.True(t, client.IsAuthenticated(ctx))
	claims, err := client.GetIdTokenClaims(ctx)
	require.NoError(t, err)
	assert.Equal(t, userID, claims.Subject)
	snap := snapshot(t, storage)
	assert.NotEmpty(t, snap[logto.StorageKeyRefreshToken])
	assert.NotEmpty(t, snap[logto.StorageKeyAccessTokens])
	assert.Empty(t, snap[logto.StorageKeySignInSession], "the pending sign-in never reached the storage")
	assert.NotEmpty(t, snap[logto.StorageKeyIDToken])

	tokens := srv.Requests(logtotest.EndpointToken)
	require.Len(t, tokens, 1)
	assert.Equal(t, redirect, tokens[0].Form.Get("redirect_uri"))
	assert.NotEmpty(t, tokens[0].Form.Get("code_verifier"))

	_, err = net.DialTimeout("tcp", strings.TrimPrefix(strings.TrimSuffix(redirect, "/callback"), "http://"), time.Second)
	assert.Error(t, err, "the listener is closed")
	assert.Contains(t, out.String(), "\n  "+authURL+"\n", "the URL is printed for a browser that does not appear")
}

// TestLoopbackSignInFailures: what the listener receives decides the
// outcome; every failure is typed, shows a plain page, and leaves the
// client's storage as it was.
func TestLoopbackSignInFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		// arrange prepares the provider; browse plays the browser.
		arrange  func(srv *logtotest.Server)
		browse   func(b *browser, authURL string) error
		check    func(t *testing.T, err error)
		title    string
		noStatus bool
	}{
		{
			name:    "access denied",
			arrange: func(srv *logtotest.Server) { srv.DenyNextAuthorization("access_denied", "User cancelled <b>it</b>") },
			check: func(t *testing.T, err error) {
				var oe *logto.OAuthError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, "access_denied", oe.Code)
			},
			title: "Sign-in cancelled",
		},
		{
			name:    "other error redirect",
			arrange: func(srv *logtotest.Server) { srv.DenyNextAuthorization("invalid_scope", "nope") },
			check: func(t *testing.T, err error) {
				var oe *logto.OAuthError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, "invalid_scope", oe.Code)
			},
			title: "Logto refused the sign-in (invalid_scope)",
		},
		{
			name: "state mismatch",
			browse: func(b *browser, authURL string) error {
				return b.get(redirectOf(b.t, authURL) + "?code=stolen&state=not-this-sign-in")
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, logto.ErrSignInSessionNotFound) },
			title: "Sign-in not recognised",
		},
		{
			name: "no state",
			browse: func(b *browser, authURL string) error {
				return b.get(redirectOf(b.t, authURL))
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, logto.ErrSignInSessionNotFound) },
			title: "Sign-in not recognised",
		},
		{
			name: "nonce mismatch",
			arrange: func(srv *logtotest.Server) {
				srv.MutateIDTokens(func(_, claims map[string]any) { claims["nonce"] = "another-nonce" })
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, logto.ErrInvalidIDToken) },
			title: "Sign-in failed",
		},
		{
			name: "issuer mix-up",
			browse: func(b *browser, authURL string) error {
				// The right state, from another issuer.
				u, _ := url.Parse(authURL)
				return b.get(redirectOf(b.t, authURL) + "?code=x&iss=https%3A%2F%2Fevil.example&state=" + url.QueryEscape(u.Query().Get("state")))
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, logto.ErrIssuerMismatch) },
			title: "Sign-in failed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv := newProvider(t)
			if tc.arrange != nil {
				tc.arrange(srv)
			}
			// A session from before: a failed sign-in must keep it.
			storage := logto.NewMemoryStorage()
			require.NoError(t, storage.Set(ctx, logto.StorageKeyIDToken, "previous-id-token"))
			require.NoError(t, storage.Set(ctx, logto.StorageKeyRefreshToken, "previous-refresh-token"))
			before := snapshot(t, storage)
			client := newClient(t, srv, storage)
			b := &browser{t: t}
			browse := tc.browse
			if browse == nil {
				browse = func(b *browser, u string) error { return b.get(u) }
			}
			err := logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{
				Out:         io.Discard,
				OpenBrowser: func(u string) error { return browse(b, u) },
			})
			require.Error(t, err)
			tc.check(t, err)
			assert.Equal(t, before, snapshot(t, storage), "storage unchanged")

			status, body := b.page()
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Contains(t, body, tc.title)
			assert.NotContains(t, body, "logto:", "no Go error text on the page")
			assert.NotContains(t, body, "<b>it</b>", "nothing from the redirect is echoed")
		})
	}
}

// TestLoopbackSignInIgnoresStrayRequests: other paths (404) and another
// Host header (400, DNS rebinding) do not end the sign-in.
func TestLoopbackSignInIgnoresStrayRequests(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	client := newClient(t, srv, nil)
	var statuses []int
	err := logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{
		Out: io.Discard,
		OpenBrowser: func(authURL string) error {
			redirect := redirectOf(t, authURL)
			base := strings.TrimSuffix(redirect, "/callback")
			for _, req := range []func() (*http.Request, error){
				func() (*http.Request, error) { return http.NewRequest(http.MethodGet, base+"/favicon.ico", nil) },
				func() (*http.Request, error) {
					r, err := http.NewRequest(http.MethodGet, redirect+"?code=x&state=y", nil)
					if r != nil {
						r.Host = "attacker.example"
					}
					return r, err
				},
				func() (*http.Request, error) { return http.NewRequest(http.MethodPost, redirect, nil) },
			} {
				r, err := req()
				if err != nil {
					return err
				}
				resp, err := http.DefaultClient.Do(r)
				if err != nil {
					return err
				}
				resp.Body.Close()
				statuses = append(statuses, resp.StatusCode)
			}
			resp, err := http.Get(authURL)
			if err != nil {
				return err
			}
			return resp.Body.Close()
		},
	})
	require.NoError(t, err)
	assert.Equal(t, []int{http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed}, statuses)
	assert.True(t, client.IsAuthenticated(ctx))
}

// TestLoopbackSignInPort: a configured free port is used; a taken one
// fails at once with ErrPortInUse naming it.
func TestLoopbackSignInPort(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)

	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	opened := false
	err = logtocli.LoopbackSignIn(ctx, newClient(t, srv, nil), logtocli.LoopbackOptions{
		Port: port, Out: io.Discard,
		OpenBrowser: func(string) error { opened = true; return nil },
	})
	require.ErrorIs(t, err, logtocli.ErrPortInUse)
	assert.Contains(t, err.Error(), "127.0.0.1:"+strconv.Itoa(port))
	assert.False(t, opened, "no browser for a sign-in that cannot complete")
	assert.Empty(t, srv.Requests(logtotest.EndpointDiscovery), "nothing sent")

	free, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	port = free.Addr().(*net.TCPAddr).Port
	require.NoError(t, free.Close())
	client := newClient(t, srv, nil)
	var redirect string
	err = logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{
		Port: port, Path: "/auth/done", Out: io.Discard, Timeout: time.Second,
		OpenBrowser: func(u string) error {
			redirect = redirectOf(t, u)
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
			}
			return err
		},
	})
	// The app registered /callback: the provider refuses /auth/done and
	// shows an error page, no redirect comes.
	require.ErrorIs(t, err, logtocli.ErrLoopbackTimeout)
	assert.Equal(t, fmt.Sprintf("http://127.0.0.1:%d/auth/done", port), redirect)

	srv.AddApp(logtotest.App{ID: nativeID, Type: logtotest.AppNative, RedirectURIs: []string{"http://127.0.0.1/auth/done"}})
	b := &browser{t: t}
	err = logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{
		Port: port, Path: "/auth/done", Out: io.Discard, OpenBrowser: b.get,
	})
	require.NoError(t, err)
	assert.True(t, client.IsAuthenticated(ctx))
}

// TestLoopbackSignInNoBrowser: when no browser opens, the URL is printed
// and the user (here a client reading the output) completes the sign-in.
func TestLoopbackSignInNoBrowser(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	client := newClient(t, srv, nil)
	out := &signalWriter{lines: make(chan string, 10)}
	go func() {
		for line := range out.lines {
			if u := regexp.MustCompile(`https?://\S+/oidc/auth\?\S+`).FindString(line); u != "" {
				resp, err := http.Get(u)
				if err == nil {
					resp.Body.Close()
				}
				return
			}
		}
	}()
	err := logtocli.LoopbackSignIn(ctx, client, logtocli.LoopbackOptions{
		Out:         out,
		OpenBrowser: func(string) error { return errors.New("xdg-open: not found") },
	})
	require.NoError(t, err)
	assert.True(t, client.IsAuthenticated(ctx))
	assert.Contains(t, out.String(), "Could not open a browser (xdg-open: not found): open the URL above yourself.")
}

// signalWriter passes what is written to a channel, and keeps it.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.lines <- string(p):
	default:
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestLoopbackSignInContext: a cancelled context and the timeout end the
// wait, close the listener, and leave the storage as it was.
func TestLoopbackSignInContext(t *testing.T) {
	srv := newProvider(t)

	ctx, cancel := context.WithCancel(context.Background())
	storage := logto.NewMemoryStorage()
	var redirect string
	err := logtocli.LoopbackSignIn(ctx, newClient(t, srv, storage), logtocli.LoopbackOptions{
		Out: io.Discard,
		OpenBrowser: func(u string) error {
			redirect = redirectOf(t, u)
			cancel()
			return nil
		},
	})
	require.ErrorIs(t, err, context.Canceled)
	for k, v := range snapshot(t, storage) {
		assert.Empty(t, v, "%s stays empty", k)
	}
	_, derr := net.DialTimeout("tcp", strings.TrimSuffix(strings.TrimPrefix(redirect, "http://"), "/callback"), time.Second)
	assert.Error(t, derr, "the listener is closed")

	err = logtocli.LoopbackSignIn(context.Background(), newClient(t, srv, storage), logtocli.LoopbackOptions{
		Out: io.Discard, Timeout: 50 * time.Millisecond,
		OpenBrowser: func(string) error { return nil }, // the user never signs in
	})
	require.ErrorIs(t, err, logtocli.ErrLoopbackTimeout)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	for k, v := range snapshot(t, storage) {
		assert.Empty(t, v, "%s stays empty", k)
	}
}

// TestLoopbackSignInOptions: options that cannot work are refused before
// anything listens.
func TestLoopbackSignInOptions(t *testing.T) {
	srv := newProvider(t)
	client := newClient(t, srv, nil)
	for name, opts := range map[string]logtocli.LoopbackOptions{
		"redirect URI set": {SignIn: logto.SignInOptions{RedirectURI: "http://127.0.0.1:1/cb"}},
		"negative port":    {Port: -1},
		"port too large":   {Port: 70000},
		"relative path":    {Path: "callback"},
		"path with query":  {Path: "/callback?x=1"},
		"negative timeout": {Timeout: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			opts.OpenBrowser = func(string) error { t.Error("browser opened"); return nil }
			assert.ErrorIs(t, logtocli.LoopbackSignIn(context.Background(), client, opts), logto.ErrInvalidConfig)
		})
	}
	assert.ErrorIs(t, logtocli.LoopbackSignIn(context.Background(), nil, logtocli.LoopbackOptions{}), logto.ErrInvalidConfig)
}

// TestLoopbackSignInFileStorage: the session lands in the file in one
// write, and a new FileStorage (the tool's next run) is signed in.
func TestLoopbackSignInFileStorage(t *testing.T) {
	ctx := context.Background()
	srv := newProvider(t)
	dir := t.TempDir()
	store, err := logtocli.NewFileStorage(logtocli.FileStorageOptions{Dir: dir, Profile: "work"})
	require.NoError(t, err)
	b := &browser{t: t}
	require.NoError(t, logtocli.LoopbackSignIn(ctx, newClient(t, srv, store), logtocli.LoopbackOptions{Out: io.Discard, OpenBrowser: b.get}))

	next, err := logtocli.NewFileStorage(logtocli.FileStorageOptions{Dir: dir, Profile: "work"})
	require.NoError(t, err)
	client := newClient(t, srv, next)
	assert.True(t, client.IsAuthenticated(ctx))
	pending, err := next.Get(ctx, logto.StorageKeySignInSession)
	require.NoError(t, err)
	assert.Empty(t, pending, "no PKCE verifier on disk")
	_, err = client.FetchUserInfo(ctx)
	require.NoError(t, err, "the stored access token works")
}
