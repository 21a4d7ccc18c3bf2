package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// quickstart runs the app against a fake Logto seeded like the embedded
// one.
type quickstart struct {
	t        *testing.T
	provider *logtotest.Server
	app      *httptest.Server
	browser  *http.Client
}

func startQuickstart(t *testing.T, sessionStore string) *quickstart {
	t.Helper()
	return startQuickstartWithAPI(t, sessionStore, "")
}

func startQuickstartWithAPI(t *testing.T, sessionStore, apiURL string) *quickstart {
	t.Helper()
	provider := logtotest.NewServer(t, logtotest.WithLoginPage())
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	seedProvider(provider, base)
	key := bytes.Repeat([]byte{1}, 32)
	handler, err := newApp(appConfig{
		Logto:        demoLogtoConfig(provider.URL()),
		BaseURL:      base,
		SessionStore: sessionStore,
		CookieKey:    key,
		Options:      []logto.Option{logto.WithClock(provider.Now)},
		APIURL:       apiURL,
	})
	require.NoError(t, err)
	app.Config.Handler = handler
	app.Start()
	t.Cleanup(app.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &quickstart{t: t, provider: provider, app: app, browser: &http.Client{Jar: jar}}
}

// get follows redirects from the app path (or absolute URL) and returns
// the final URL and body.
func (q *quickstart) get(target string) (string, string) {
	q.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = q.app.URL + target
	}
	resp, err := q.browser.Get(target)
	require.NoError(q.t, err)
	return q.read(resp)
}

func (q *quickstart) read(resp *http.Response) (string, string) {
	q.t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(q.t, err)
	require.Equal(q.t, http.StatusOK, resp.StatusCode, string(b))
	return resp.Request.URL.String(), string(b)
}

var hiddenUID = regexp.MustCompile(`name="uid" value="([^"]+)"`)

// signInWithForm follows a sign-in or sign-up link to the fake Logto's
// sign-in page and submits it as a person would.
func (q *quickstart) signInWithForm(link, username string) (string, string) {
	q.t.Helper()
	pageURL, page := q.get(link)
	require.Contains(q.t, page, `id="sign-in-form"`, pageURL)
	m := hiddenUID.FindStringSubmatch(page)
	require.NotNil(q.t, m)
	resp, err := q.browser.PostForm(q.provider.URL()+"/sign-in", url.Values{"uid": {html.UnescapeString(m[1])}, "username": {username}})
	require.NoError(q.t, err)
	return q.read(resp)
}

var (
	logoutFormAction = regexp.MustCompile(`<form id="op\.logoutForm"[^>]* action="([^"]+)"`)
	hiddenInput      = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// signOut follows the sign-out link to Logto's logout page and submits its
// form (xsrf and logout=yes), as the page's script does in a browser, then
// follows the redirects back.
func (q *quickstart) signOut() (string, string) {
	q.t.Helper()
	pageURL, page := q.get("/sign-out")
	m := logoutFormAction.FindStringSubmatch(page)
	require.NotNil(q.t, m, "no logout form at %s: %s", pageURL, page)
	form := url.Values{}
	for _, in := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	require.Equal(q.t, "yes", form.Get("logout"))
	resp, err := q.browser.PostForm(html.UnescapeString(m[1]), form)
	require.NoError(q.t, err)
	return q.read(resp)
}

func TestQuickstartFlow(t *testing.T) {
	for _, store := range []string{"cookie", "server"} {
		t.Run(store, func(t *testing.T) {
			q := startQuickstart(t, store)

			// Signed out: sign-in and sign-up links.
			_, home := q.get("/")
			assert.Contains(t, home, `<a id="sign-in" href="/sign-in">Sign in</a>`)
			assert.Contains(t, home, `<a id="sign-up" href="/sign-in?interaction_mode=signUp">Sign up</a>`)
			assert.NotContains(t, home, `id="greeting"`)

			// Sign in through the provider's page.
			landed, home := q.signInWithForm("/sign-in", demoUsername)
			assert.Equal(t, q.app.URL+"/", landed)
			assert.Contains(t, home, `<p id="greeting">Signed in as Demo User</p>`)
			assert.Contains(t, home, `<a id="userinfo" href="/protected/userinfo">`)
			assert.Contains(t, home, `<a id="organizations" href="/protected/organizations">`)
			assert.Contains(t, home, `<a id="sign-out" href="/sign-out">Sign out</a>`)

			// User info, as indented JSON.
			_, page := q.get("/protected/userinfo")
			m := regexp.MustCompile(`(?s)<pre id="userinfo">(.*)</pre>`).FindStringSubmatch(page)
			require.NotNil(t, m, page)
			var info map[string]any
			require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &info))
			assert.Equal(t, demoUserID, info["sub"])
			assert.Equal(t, "demo@example.com", info["email"])
			assert.Equal(t, map[string]any{"plan": "free"}, info["custom_data"])
			assert.Contains(t, m[1], "\n  &#34;sub&#34;: &#34;demo-user&#34;")

			// Organizations: one organization token.
			_, page = q.get("/protected/organizations")
			assert.Contains(t, page, `<ul id="organizations">`)
			assert.Contains(t, page, "<li>"+demoOrgID+": read:members</li>")

			// Sign out through Logto's end-session endpoint and its logout
			// form, back home.
			landed, home = q.signOut()
			assert.Equal(t, q.app.URL+"/", landed)
			assert.Contains(t, home, `id="sign-in"`)
			assert.Equal(t, 1, q.provider.RequestCount(logtotest.EndpointEndSession))
			assert.Equal(t, 1, q.provider.RequestCount(logtotest.EndpointEndSessionConfirm))

			// The provider session ended too: signing in shows the page again.
			pageURL, page := q.get("/sign-in")
			assert.Contains(t, page, `id="sign-in-form"`, pageURL)

			// Protected pages send a signed-out browser to sign in, and
			// back to the page afterwards.
			q.provider.SetAutoLogin(demoUserID)
			landed, page = q.get("/protected/organizations")
			assert.Equal(t, q.app.URL+"/protected/organizations", landed)
			assert.Contains(t, page, demoOrgID)
		})
	}
}

func TestQuickstartSignUpLink(t *testing.T) {
	q := startQuickstart(t, "cookie")
	_, home := q.signInWithForm("/sign-in?interaction_mode=signUp", demoUserID)
	assert.Contains(t, home, `id="greeting"`)
	auth := q.provider.Requests(logtotest.EndpointAuth)
	require.NotEmpty(t, auth)
	assert.Equal(t, "signUp", auth[0].Form.Get("interaction_mode"))
}

func TestQuickstartGreetingFallsBack(t *testing.T) {
	q := startQuickstart(t, "server")
	q.provider.AddUser(logtotest.User{ID: "u-no-name", Username: "nameless"})
	q.provider.AddUser(logtotest.User{ID: "u-nothing"})
	for user, want := range map[string]string{"u-no-name": "nameless", "u-nothing": "u-nothing"} {
		q.provider.SetAutoLogin(user)
		_, home := q.get("/sign-in")
		assert.Contains(t, home, `<p id="greeting">Signed in as `+want+`</p>`)
		assert.NotContains(t, home, `id="organizations"`, "no organizations, no link")
		_, page := q.get("/protected/organizations")
		assert.Contains(t, page, `<ul id="organizations">`+"\n</ul>")
		q.signOut()
	}
}

func TestRunEmbedded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	env := map[string]string{
		"PORT":                "0",
		"LOGTO_PROVIDER_ADDR": "127.0.0.1:0",
		"LOGTO_BASE_URL":      "http://127.0.0.1:3999/",
	}
	var out syncWriter
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, &out) }()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "Quickstart:") }, 5*time.Second, 10*time.Millisecond)
	assert.Regexp(t, `^Logto \(embedded test provider\): http://127\.0\.0\.1:\d+\n`+
		`Quickstart: http://127\.0\.0\.1:3999  \(sign in as "demo"\)\n$`, out.String())
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}

	env["LOGTO_COOKIE_KEY"] = "too-short"
	assert.ErrorContains(t, run(context.Background(), func(k string) string { return env[k] }, io.Discard), "LOGTO_COOKIE_KEY")
	env["LOGTO_COOKIE_KEY"] = ""
	env["LOGTO_SESSION_STORE"] = "redis"
	assert.ErrorContains(t, run(context.Background(), func(k string) string { return env[k] }, io.Discard), "LOGTO_SESSION_STORE")
}

type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestCallTheAPI runs the quickstart with the API of examples/api in front
// of the same provider: the "Call the API" page gets the user's data.
func TestCallTheAPI(t *testing.T) {
	api := httptest.NewUnstartedServer(nil)
	q := startQuickstartWithAPI(t, "cookie", "http://"+api.Listener.Addr().String())
	api.Config.Handler = protectedAPI(t, q.provider.URL())
	api.Start()
	t.Cleanup(api.Close)

	_, home := q.signInWithForm("/sign-in", demoUsername)
	assert.Contains(t, home, `<a id="call-api" href="/protected/api">Call the API</a>`)
	_, page := q.get("/protected/api")
	assert.Contains(t, page, `<p id="api-status">200 OK</p>`)
	assert.Contains(t, page, `&#34;owner&#34;:&#34;demo-user&#34;`)
}
