package main

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

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
	logs     *syncWriter // the app's log
}

func startQuickstart(t *testing.T, sessionStore string) *quickstart {
	t.Helper()
	return startQuickstartWithAPI(t, sessionStore, "")
}

func startQuickstartWithAPI(t *testing.T, sessionStore, apiURL string) *quickstart {
	t.Helper()
	provider := logtotest.NewServer(t, logtotest.WithLoginPage(), logtotest.WithSignInHint(signInHint))
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	seedProvider(provider, base)
	key := bytes.Repeat([]byte{1}, 32)
	logs := &syncWriter{}
	handler, err := newApp(appConfig{
		Logto:        demoLogtoConfig(provider.URL()),
		BaseURL:      base,
		SessionStore: sessionStore,
		CookieKey:    key,
		Options:      []logto.Option{logto.WithClock(provider.Now)},
		APIURL:       apiURL,
		Logger:       slog.New(slog.NewTextHandler(logs, nil)),
		Embedded:     true,
	})
	require.NoError(t, err)
	app.Config.Handler = handler
	app.Start()
	t.Cleanup(app.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &quickstart{t: t, provider: provider, app: app, browser: &http.Client{Jar: jar}, logs: logs}
}

// get follows redirects from the app path (or absolute URL) and returns
// the final URL and body, requiring 200 OK.
func (q *quickstart) get(target string) (string, string) {
	q.t.Helper()
	status, final, body := q.getStatus(target)
	require.Equal(q.t, http.StatusOK, status, body)
	return final, body
}

// getStatus is get for any status.
func (q *quickstart) getStatus(target string) (int, string, string) {
	q.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = q.app.URL + target
	}
	resp, err := q.browser.Get(target)
	require.NoError(q.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(q.t, err)
	return resp.StatusCode, resp.Request.URL.String(), string(b)
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

var (
	blocks  = regexp.MustCompile(`</?(?:p|li|tr|th|td|h1|h2|table|ul|pre|summary|details|br)\b[^>]*>`)
	tags    = regexp.MustCompile(`<[^>]+>`)
	blanks  = regexp.MustCompile(`[ \t]*\n[\s]*`)
	rawJSON = regexp.MustCompile(`(?s)<pre id="userinfo">(.*?)</pre>`)
)

// text is the page's text without tags, one line per block: what the
// tests compare (the e2e suite compares what Chromium shows).
func text(page string) string {
	if i := strings.Index(page, "<body>"); i >= 0 {
		page = page[i:]
	}
	page = tags.ReplaceAllString(blocks.ReplaceAllString(page, "\n"), "")
	return strings.TrimSpace(blanks.ReplaceAllString(html.UnescapeString(page), "\n"))
}

func TestQuickstartFlow(t *testing.T) {
	for _, store := range []string{"cookie", "server"} {
		t.Run(store, func(t *testing.T) {
			q := startQuickstart(t, store)

			// Signed out: sign-in and sign-up links, and whom to sign in as.
			_, home := q.get("/")
			assert.Contains(t, home, `<a id="sign-in" href="/sign-in">Sign in</a>`)
			assert.Contains(t, home, `<a id="sign-up" href="/sign-in?interaction_mode=signUp">Sign up</a>`)
			assert.Contains(t, text(home), "sign in with the username demo")
			assert.NotContains(t, home, `id="greeting"`)

			// Sign in through the provider's page.
			landed, home := q.signInWithForm("/sign-in", demoUsername)
			assert.Equal(t, q.app.URL+"/", landed)
			assert.Contains(t, home, `<p id="greeting">Signed in as Demo User</p>`)
			assert.Contains(t, home, `<a id="userinfo" href="/protected/userinfo">`)
			assert.Contains(t, home, `<a id="organizations" href="/protected/organizations">`)
			assert.Contains(t, home, `<a id="sign-out" href="/sign-out">Sign out</a>`)

			// User info, readable, with the raw JSON kept.
			_, page := q.get("/protected/userinfo")
			body := text(page)
			for _, line := range []string{"User ID\ndemo-user", "Name\nDemo User", "Username\ndemo",
				"Email\ndemo@example.com", "Email verified\nyes", "Roles\nreader",
				"Organizations\nDemo Org (org-demo)", "Organization roles\nDemo Org (org-demo): member",
				"Custom data\nplan: free", "Picture\nnone"} {
				assert.Contains(t, body, line)
			}
			assert.Regexp(t, `Created\n\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d UTC`, body)
			assert.NotRegexp(t, `\d{13}`, strings.Split(body, "Raw JSON")[0], "no millisecond epochs outside the raw JSON")
			m := rawJSON.FindStringSubmatch(page)
			require.NotNil(t, m, page)
			var info map[string]any
			require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &info))
			assert.Equal(t, demoUserID, info["sub"])
			assert.Equal(t, "demo@example.com", info["email"])
			assert.Equal(t, map[string]any{"plan": "free"}, info["custom_data"])

			// Organizations: by name, with the user's roles and an
			// organization token's permissions.
			_, page = q.get("/protected/organizations")
			assert.Contains(t, text(page), "Demo Org\nID\norg-demo\nYour roles\nmember\nOrganization token permissions\nread:members")

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
			assert.Contains(t, page, "Demo Org")
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
		assert.Contains(t, text(page), "You are not a member of any organization.")
		q.signOut()
	}
}

// TestOrganizationsWithoutNames shows ids where Logto sent no name.
func TestOrganizationsWithoutNames(t *testing.T) {
	q := startQuickstart(t, "cookie")
	q.provider.AddOrganization(logtotest.Organization{ID: "org-unnamed"})
	q.provider.AddUser(logtotest.User{ID: "u2", Username: "two",
		Organizations: []logtotest.Membership{{OrganizationID: "org-unnamed"}}})
	q.provider.SetAutoLogin("u2")
	q.get("/sign-in")
	_, page := q.get("/protected/organizations")
	assert.Contains(t, text(page), "org-unnamed\nYour roles\nnone\nOrganization token permissions\nnone")
	_, page = q.get("/protected/userinfo")
	assert.Contains(t, text(page), "Organizations\norg-unnamed\n")
}

// TestOrganizationTokenFailure shows a short message and logs the cause.
func TestOrganizationTokenFailure(t *testing.T) {
	q := startQuickstart(t, "cookie")
	q.signInWithForm("/sign-in", demoUsername)
	q.provider.FailNext(logtotest.EndpointToken, http.StatusServiceUnavailable, "")
	status, _, page := q.getStatus("/protected/organizations")
	assert.Equal(t, http.StatusBadGateway, status)
	assert.Contains(t, text(page), "Logto did not give an organization token for Demo Org (org-demo).")
	assert.NotContains(t, page, "logto:", "no Go error chain on the page")
	assert.Contains(t, q.logs.String(), `level=ERROR msg="Logto did not give an organization token for Demo Org (org-demo)."`)
	assert.Contains(t, q.logs.String(), "503")
}

// TestSignInFailuresLogged: a failed callback and an unreachable Logto
// reach the quickstart's log (logtohttp logs through Config.Logger).
func TestSignInFailuresLogged(t *testing.T) {
	q := startQuickstart(t, "cookie")
	status, _, _ := q.getStatus("/callback?state=unknown&code=x")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.NotEmpty(t, q.logs.String(), "a bad callback is logged")

	before := len(q.logs.String())
	q.provider.FailNext(logtotest.EndpointToken, http.StatusServiceUnavailable, "")
	q.provider.SetAutoLogin(demoUserID)
	status, _, _ = q.getStatus("/sign-in")
	assert.GreaterOrEqual(t, status, 500)
	assert.Greater(t, len(q.logs.String()), before, "a failed code exchange is logged")
	assert.NotContains(t, q.logs.String(), demoAppSecret)
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
	assert.Contains(t, page, `<p id="api-status">The API answered 200 OK.</p>`)
	assert.Contains(t, text(page), `"owner": "demo-user"`)
}

// TestCallTheAPIDown: an API that does not answer is said so, and logged.
func TestCallTheAPIDown(t *testing.T) {
	api := httptest.NewServer(nil)
	apiURL := api.URL
	api.Close() // nothing listens there any more
	q := startQuickstartWithAPI(t, "cookie", apiURL)
	q.signInWithForm("/sign-in", demoUsername)
	_, page := q.get("/protected/api")
	assert.Contains(t, text(page), "The API did not answer")
	assert.Contains(t, q.logs.String(), `msg="call the API"`)
}
