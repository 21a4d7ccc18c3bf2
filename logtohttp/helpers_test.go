package logtohttp

import (
	"bytes"
	"context"
	"fmt"
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

	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

const (
	testAppID  = "test-app"
	testSecret = "test-secret"
	testUserID = "user-1"
	testAPI    = "https://api.example.com"
)

var testKey = bytes.Repeat([]byte{7}, 32)

// env is a fake Logto, a LogtoClient, a Handler and an app server.
type env struct {
	t       testing.TB
	idp     *logtotest.Server
	client  *logto.LogtoClient
	h       *Handler
	app     *httptest.Server
	mux     *http.ServeMux
	store   *MemorySessionStore // server sessions only
	cookies *CookieSessions     // cookie sessions only
	logs    *syncBuffer
}

type envOptions struct {
	kind      string // "cookie" (default) or "server"
	scopes    []string
	resources []string
	config    func(*Config)
	cookie    func(*CookieOptions)       // options of the sessions
	idp       []logtotest.Option         // options of the fake Logto
	app       func(*logtotest.App)       // changes to the registered app
	store     func() SessionStore        // server sessions; default a MemorySessionStore of 100
	base      func(appURL string) string // BaseURL; default appURL
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	e := &env{t: t, idp: logtotest.NewServer(t, o.idp...), mux: http.NewServeMux(), logs: &syncBuffer{}}
	var handler http.Handler = e.mux
	e.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.app.Close)
	base := e.app.URL
	if o.base != nil {
		base = o.base(e.app.URL)
	}

	app := logtotest.App{
		ID: testAppID, Secret: testSecret, Type: logtotest.AppTraditional,
		RedirectURIs:           []string{base + "/callback", strings.TrimRight(base, "/") + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/", strings.TrimRight(base, "/") + "/"},
	}
	if o.app != nil {
		o.app(&app)
	}
	e.idp.AddApp(app)
	e.idp.AddResource(logtotest.Resource{Indicator: testAPI, Scopes: []string{"read:data"}})
	e.idp.AddRole("reader", testAPI, "read:data")
	e.idp.AddOrganization(logtotest.Organization{ID: "org-1", Name: "Org One"})
	e.idp.AddOrganizationRole("member", "read:org")
	e.idp.AddUser(logtotest.User{
		ID: testUserID, Username: "jane", Name: "Jane Doe", Email: "jane@example.com",
		Roles:         []string{"reader"},
		Organizations: []logtotest.Membership{{OrganizationID: "org-1", Roles: []string{"member"}}},
	})
	e.idp.SetAutoLogin(testUserID)

	scopes := o.scopes
	if scopes == nil {
		scopes = []string{logto.ScopeEmail, logto.ScopeRoles, logto.ScopeOrganizations}
	}
	resources := o.resources
	if resources == nil {
		resources = []string{testAPI}
	}
	var err error
	e.client, err = logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: e.idp.URL(), AppId: testAppID, AppSecret: testSecret,
		Scopes: scopes, Resources: resources,
	}, nil, logto.WithClock(e.idp.Now))
	require.NoError(t, err)

	var sessions SessionManager
	var copts CookieOptions
	if o.cookie != nil {
		o.cookie(&copts)
	}
	switch o.kind {
	case "", "cookie":
		copts.Keys = [][]byte{testKey}
		e.cookies, err = NewCookieSessions(copts)
		require.NoError(t, err)
		sessions = e.cookies
	case "server":
		e.store = NewMemorySessionStore(0, 100)
		var store SessionStore = e.store
		if o.store != nil {
			store = o.store()
			copts.Keys = [][]byte{testKey}
		}
		sessions, err = NewServerSessions(store, copts)
		require.NoError(t, err)
	default:
		t.Fatalf("unknown session kind %q", o.kind)
	}
	cfg := Config{
		Client:   e.client,
		Sessions: sessions,
		BaseURL:  base,
		Logger:   slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	if o.config != nil {
		o.config(&cfg)
	}
	e.h, err = New(cfg)
	require.NoError(t, err)
	e.h.Routes(e.mux)
	e.mux.Handle("GET /{$}", e.h.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := e.h.Client(r)
		if claims, err := c.GetIdTokenClaims(r.Context()); err == nil {
			fmt.Fprintf(w, "signed in as %s", claims.Subject)
			return
		}
		fmt.Fprint(w, "signed out")
	})))
	protected := func(w http.ResponseWriter, r *http.Request) {
		claims, ok := IdTokenClaims(r.Context())
		if !ok {
			http.Error(w, "no claims in context", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "protected %s for %s", r.URL.RequestURI(), claims.Subject)
	}
	e.mux.Handle("/protected/", e.h.RequireAuth(AuthOptions{Redirect: true})(http.HandlerFunc(protected)))
	e.mux.Handle("/api/", e.h.RequireAuth(AuthOptions{})(http.HandlerFunc(protected)))
	e.mux.Handle("/api-userinfo", e.h.RequireAuth(AuthOptions{FetchUserInfo: true})(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			info, ok := UserInfo(r.Context())
			if !ok {
				http.Error(w, "no user info in context", http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "user info of %s: %s", info.Subject, info.Email.Get())
		})))
	return e
}

// browser returns a client with a cookie jar that follows redirects.
func (e *env) browser() *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(e.t, err)
	return &http.Client{Jar: jar}
}

// noRedirects returns a copy of c that stops at the first redirect.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// get fetches path on the app (or an absolute URL) and returns the final
// response and its body.
func (e *env) get(c *http.Client, path string) (*http.Response, string) {
	e.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = e.app.URL + path
	}
	resp, err := c.Get(u)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp, string(b)
}

// signIn runs the whole sign-in with the auto-login user and returns the
// landing page's body.
func (e *env) signIn(c *http.Client, returnTo string) string {
	e.t.Helper()
	path := "/sign-in"
	if returnTo != "" {
		path += "?return_to=" + url.QueryEscape(returnTo)
	}
	resp, body := e.get(c, path)
	require.Equal(e.t, http.StatusOK, resp.StatusCode, body)
	return body
}

var (
	logoutFormAction = regexp.MustCompile(`<form id="op\.logoutForm"[^>]* action="([^"]+)"`)
	hiddenInput      = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// submitLogoutForm submits the form of Logto's logout page (xsrf and
// logout=yes) with c, as the page's script does in a browser, and returns
// the final response and its body.
func (e *env) submitLogoutForm(c *http.Client, page string) (*http.Response, string) {
	e.t.Helper()
	m := logoutFormAction.FindStringSubmatch(page)
	require.NotNil(e.t, m, "no logout form: %s", page)
	form := url.Values{}
	for _, in := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	resp, err := c.PostForm(html.UnescapeString(m[1]), form)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp, string(b)
}

// cookieHeader returns the Cookie header the browser would send to the app.
func (e *env) cookieHeader(c *http.Client) string {
	u, _ := url.Parse(e.app.URL)
	var parts []string
	for _, ck := range c.Jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// appCookies returns the app's cookies held by the browser, by name.
func (e *env) appCookies(c *http.Client) map[string]string {
	u, _ := url.Parse(e.app.URL)
	m := map[string]string{}
	for _, ck := range c.Jar.Cookies(u) {
		if strings.HasPrefix(ck.Name, "logto_") {
			m[ck.Name] = ck.Value
		}
	}
	return m
}

// totalProviderRequests counts the requests the fake Logto received.
func totalProviderRequests(s *logtotest.Server) int {
	n := 0
	for _, ep := range []logtotest.Endpoint{
		logtotest.EndpointDiscovery, logtotest.EndpointAuth, logtotest.EndpointToken,
		logtotest.EndpointUserInfo, logtotest.EndpointJWKS, logtotest.EndpointEndSession,
		logtotest.EndpointEndSessionConfirm, logtotest.EndpointEndSessionSuccess,
		logtotest.EndpointRevocation, logtotest.EndpointIntrospection, logtotest.EndpointSignIn,
		logtotest.EndpointUnknown,
	} {
		n += s.RequestCount(ep)
	}
	return n
}

// setCookies returns the Set-Cookie header values of a response.
func setCookies(h http.Header) []string { return h.Values("Set-Cookie") }

// setCookie returns the Set-Cookie header value of the cookie name, or "".
func setCookie(h http.Header, name string) string {
	for _, v := range h.Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	return ""
}

// request builds a server-side request with the given Cookie header.
func request(method, target, cookie string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r.WithContext(context.Background())
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
