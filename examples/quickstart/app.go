package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtohttp"
)

// appConfig is what the app needs to start.
type appConfig struct {
	Logto        logto.LogtoConfig
	BaseURL      string // public URL, without trailing slash
	SessionStore string // "cookie" or "server"
	CookieKey    []byte // 32 bytes, for cookie sessions
	Options      []logto.Option
	// APIURL is the base URL of the protected API of examples/api; the
	// "Call the API" page is shown when it is set and Logto.Resources is
	// not empty.
	APIURL string
	// Logger receives sign-in failures (through logtohttp) and the app's
	// own errors. Default slog.Default().
	Logger *slog.Logger
	// Embedded is true with the embedded test provider: the home page then
	// says whom to sign in as.
	Embedded bool
}

// apiTimeout bounds a call of the API.
const apiTimeout = 5 * time.Second

// apiBodyLimit bounds the API answer the page shows.
const apiBodyLimit = 64 << 10

// newApp returns the app's handler: the pages, and sign-in, callback and
// sign-out from logtohttp. Its errors name the variable to fix.
func newApp(cfg appConfig) (http.Handler, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	// The scopes of the Python sample: e-mail, roles, organizations with
	// their roles, and custom data.
	cfg.Logto.Scopes = append(cfg.Logto.Scopes, logto.ScopeEmail, logto.ScopeRoles,
		logto.ScopeOrganizations, logto.ScopeOrganizationRoles, logto.ScopeCustomData)
	// One LogtoClient for the whole app; each request gets a view of it.
	opts := append([]logto.Option{logto.WithLogger(logger)}, cfg.Options...)
	client, err := logto.NewLogtoClient(cfg.Logto, nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("check LOGTO_ENDPOINT, LOGTO_SCOPES and LOGTO_RESOURCES: %w", err)
	}

	if err := checkSessionStore(cfg.SessionStore); err != nil {
		return nil, err
	}
	var sessions logtohttp.SessionManager
	if cfg.SessionStore == storeServer {
		sessions, err = logtohttp.NewServerSessions(logtohttp.NewMemorySessionStore(0, 0), logtohttp.CookieOptions{})
	} else {
		sessions, err = logtohttp.NewCookieSessions(logtohttp.CookieOptions{Keys: [][]byte{cfg.CookieKey}})
	}
	if err != nil {
		return nil, fmt.Errorf("sessions (LOGTO_SESSION_STORE, LOGTO_COOKIE_KEY): %w", err)
	}

	auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: cfg.BaseURL, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("check LOGTO_BASE_URL: %w", err)
	}
	a := &app{auth: auth, apiURL: cfg.APIURL, logger: logger, embedded: cfg.Embedded}
	if len(cfg.Logto.Resources) > 0 {
		a.apiResource = cfg.Logto.Resources[0]
	}
	signedIn := auth.RequireAuth(logtohttp.AuthOptions{Redirect: true})
	withUserInfo := auth.RequireAuth(logtohttp.AuthOptions{Redirect: true, FetchUserInfo: true})

	mux := http.NewServeMux()
	auth.Routes(mux) // GET /sign-in, GET /callback, GET and POST /sign-out
	mux.HandleFunc("GET /{$}", a.home)
	mux.Handle("GET /protected/userinfo", withUserInfo(http.HandlerFunc(a.userInfo)))
	// The user info carries the organizations' names (organization_data).
	mux.Handle("GET /protected/organizations", withUserInfo(http.HandlerFunc(a.organizations)))
	mux.Handle("GET /protected/api", signedIn(http.HandlerFunc(a.callAPI)))
	return auth.Sessions(mux), nil
}

type app struct {
	auth        *logtohttp.Handler
	apiURL      string
	apiResource string
	logger      *slog.Logger
	embedded    bool
}

// hasAPI reports whether the "Call the API" page has an API to call.
func (a *app) hasAPI() bool { return a.apiURL != "" && a.apiResource != "" }

// home shows who is signed in, or the sign-in and sign-up links.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	data := homeData{HasAPI: a.hasAPI()}
	if a.embedded {
		data.DemoUser = demoUsername
	}
	if claims, err := a.auth.Client(r).GetIdTokenClaims(r.Context()); err == nil {
		data.SignedIn = true
		data.Name = displayName(claims)
		data.HasOrganizations = len(claims.Organizations.Get()) > 0
	}
	render(w, homePage, data)
}

// displayName is the name claim, else the username, else the user ID.
func displayName(c logto.IdTokenClaims) string {
	if name := c.Name.Get(); name != "" {
		return name
	}
	if username := c.Username.Get(); username != "" {
		return username
	}
	return c.Subject
}

// userInfo shows the user info RequireAuth fetched from Logto: a table a
// person can read, and the raw JSON.
func (a *app) userInfo(w http.ResponseWriter, r *http.Request) {
	info, _ := logtohttp.UserInfo(r.Context())
	var all map[string]any // every claim, including those UserInfo has no field for
	if err := info.Claims(&all); err != nil {
		a.fail(w, r, http.StatusInternalServerError, "The user info could not be read.", err)
		return
	}
	raw, _ := json.MarshalIndent(all, "", "  ")
	render(w, userInfoPage, userInfoData{Rows: claimRows(all, organizationNames(info)), JSON: string(raw)})
}

// organizations shows each organization of the user by name, with the
// user's roles there and the permissions of an organization token.
func (a *app) organizations(w http.ResponseWriter, r *http.Request) {
	info, _ := logtohttp.UserInfo(r.Context())
	names := organizationNames(info)
	ids := info.Organizations.Get()
	if !info.Organizations.Present() {
		claims, _ := logtohttp.IdTokenClaims(r.Context())
		ids = claims.Organizations.Get()
	}
	roles := organizationRoles(info.OrganizationRoles.Get())
	client := a.auth.Client(r)
	orgs := make([]organization, 0, len(ids))
	for _, id := range ids {
		token, err := client.GetOrganizationTokenClaims(r.Context(), id)
		if err != nil {
			a.fail(w, r, http.StatusBadGateway,
				fmt.Sprintf("Logto did not give an organization token for %s.", orgLabel(names, id)), err)
			return
		}
		orgs = append(orgs, organization{
			ID:          id,
			Name:        names[id],
			Roles:       roles[id],
			Permissions: token.Scopes(),
		})
	}
	render(w, organizationsPage, orgs)
}

// callAPI calls the protected API of examples/api with the user's access
// token for it, through an oauth2 client that refreshes the token itself.
func (a *app) callAPI(w http.ResponseWriter, r *http.Request) {
	data := apiData{URL: a.apiURL + "/api/data", Resource: a.apiResource}
	if !a.hasAPI() {
		render(w, apiPage, data) // the page explains how to set an API up
		return
	}
	ts := a.auth.Client(r).TokenSource(r.Context(), a.apiResource)
	hc := oauth2.NewClient(r.Context(), ts)
	hc.Timeout = apiTimeout
	resp, err := hc.Get(data.URL)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "call the API", "url", data.URL, "err", err)
		data.Problem = "The API did not answer (" + err.Error() + ")."
		render(w, apiPage, data)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, apiBodyLimit))
	if err != nil {
		a.logger.ErrorContext(r.Context(), "read the API's answer", "url", data.URL, "err", err)
	}
	data.Called = true
	data.OK = resp.StatusCode == http.StatusOK
	data.Status = resp.Status
	data.Body = indentJSON(b)
	data.Challenge = resp.Header.Get("WWW-Authenticate")
	if !data.OK {
		a.logger.WarnContext(r.Context(), "the API refused the call", "url", data.URL, "status", resp.StatusCode,
			"www_authenticate", data.Challenge)
	}
	render(w, apiPage, data)
}

// fail logs err and shows a short message; the detail stays in the log.
func (a *app) fail(w http.ResponseWriter, r *http.Request, status int, message string, err error) {
	a.logger.ErrorContext(r.Context(), message, "path", r.URL.Path, "err", err)
	renderStatus(w, status, errorPage, message)
}

// indentJSON indents a JSON body, or returns it as it is.
func indentJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}
