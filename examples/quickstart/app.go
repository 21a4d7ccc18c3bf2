package main

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
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
	// "Call the API" page is shown when it is set.
	APIURL string
}

// newApp returns the app's handler: the pages, and sign-in, callback and
// sign-out from logtohttp.
func newApp(cfg appConfig) (http.Handler, error) {
	// The scopes of the Python sample: e-mail, organizations with their
	// roles, and custom data.
	cfg.Logto.Scopes = append(cfg.Logto.Scopes, logto.ScopeEmail, logto.ScopeRoles,
		logto.ScopeOrganizations, logto.ScopeOrganizationRoles, logto.ScopeCustomData)
	// One LogtoClient for the whole app; each request gets a view of it.
	client, err := logto.NewLogtoClient(cfg.Logto, nil, cfg.Options...)
	if err != nil {
		return nil, err
	}

	var sessions logtohttp.SessionManager
	switch cfg.SessionStore {
	case "cookie":
		sessions, err = logtohttp.NewCookieSessions(logtohttp.CookieOptions{Keys: [][]byte{cfg.CookieKey}})
	case "server":
		sessions, err = logtohttp.NewServerSessions(logtohttp.NewMemorySessionStore(0, 0), logtohttp.CookieOptions{})
	default:
		err = fmt.Errorf("LOGTO_SESSION_STORE must be cookie or server, not %q", cfg.SessionStore)
	}
	if err != nil {
		return nil, err
	}

	auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: cfg.BaseURL})
	if err != nil {
		return nil, err
	}
	a := &app{auth: auth, apiURL: cfg.APIURL}
	if len(cfg.Logto.Resources) > 0 {
		a.apiResource = cfg.Logto.Resources[0]
	}
	signedIn := auth.RequireAuth(logtohttp.AuthOptions{Redirect: true})
	withUserInfo := auth.RequireAuth(logtohttp.AuthOptions{Redirect: true, FetchUserInfo: true})

	mux := http.NewServeMux()
	auth.Routes(mux) // GET /sign-in, GET /callback, GET and POST /sign-out
	mux.HandleFunc("GET /{$}", a.home)
	mux.Handle("GET /protected/userinfo", withUserInfo(http.HandlerFunc(a.userInfo)))
	mux.Handle("GET /protected/organizations", signedIn(http.HandlerFunc(a.organizations)))
	mux.Handle("GET /protected/api", signedIn(http.HandlerFunc(a.callAPI)))
	return auth.Sessions(mux), nil
}

type app struct {
	auth        *logtohttp.Handler
	apiURL      string
	apiResource string
}

// home shows who is signed in, or the sign-in and sign-up links.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	var data struct {
		SignedIn         bool
		Name             string
		HasOrganizations bool
		HasAPI           bool
	}
	data.HasAPI = a.apiURL != "" && a.apiResource != ""
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

// userInfo shows the user info RequireAuth fetched from Logto.
func (a *app) userInfo(w http.ResponseWriter, r *http.Request) {
	info, _ := logtohttp.UserInfo(r.Context())
	var all map[string]any // every claim, including those UserInfo has no field for
	if err := info.Claims(&all); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b, _ := json.MarshalIndent(all, "", "  ")
	render(w, userInfoPage, string(b))
}

type organization struct {
	ID     string
	Scopes []string
}

// organizations shows the claims of an organization token per
// organization of the user.
func (a *app) organizations(w http.ResponseWriter, r *http.Request) {
	claims, _ := logtohttp.IdTokenClaims(r.Context())
	client := a.auth.Client(r)
	var orgs []organization
	for _, id := range claims.Organizations.Get() {
		token, err := client.GetOrganizationTokenClaims(r.Context(), id)
		if err != nil {
			http.Error(w, "organization token: "+err.Error(), http.StatusBadGateway)
			return
		}
		orgs = append(orgs, organization{ID: token.OrganizationID, Scopes: token.Scopes()})
		if orgs[len(orgs)-1].ID == "" {
			orgs[len(orgs)-1].ID = id
		}
	}
	render(w, organizationsPage, orgs)
}

// callAPI calls the protected API of examples/api with the user's access
// token for it, through an oauth2 client that refreshes the token itself.
func (a *app) callAPI(w http.ResponseWriter, r *http.Request) {
	if a.apiURL == "" || a.apiResource == "" {
		http.NotFound(w, r)
		return
	}
	ts := a.auth.Client(r).TokenSource(r.Context(), a.apiResource)
	hc := oauth2.NewClient(r.Context(), ts)
	hc.Timeout = 5 * time.Second
	result := struct{ Status, Body string }{}
	resp, err := hc.Get(a.apiURL + "/api/data")
	if err != nil {
		result.Status = "the API did not answer (start it with: go run ./examples/api)"
		result.Body = err.Error()
	} else {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		result.Status = resp.Status
		result.Body = string(b)
	}
	render(w, apiPage, result)
}

func render(w http.ResponseWriter, page *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

const layout = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Logto Go quickstart</title></head>
<body>
<h1><a href="/">Logto Go quickstart</a></h1>
{{template "content" .}}
</body>
</html>
`

// page returns the layout around content.
func page(content string) *template.Template {
	t := template.Must(template.New("layout").Parse(layout))
	template.Must(t.New("content").Parse(content))
	return t
}

var homePage = page(`{{if .SignedIn}}
<p id="greeting">Signed in as {{.Name}}</p>
<ul>
  <li><a id="userinfo" href="/protected/userinfo">User info</a></li>
  {{- if .HasAPI}}
  <li><a id="call-api" href="/protected/api">Call the API</a></li>
  {{- end}}
  {{- if .HasOrganizations}}
  <li><a id="organizations" href="/protected/organizations">Organizations</a></li>
  {{- end}}
</ul>
<p><a id="sign-out" href="/sign-out">Sign out</a></p>
{{- else}}
<p>You are not signed in.</p>
<p><a id="sign-in" href="/sign-in">Sign in</a> or <a id="sign-up" href="/sign-in?interaction_mode=signUp">Sign up</a></p>
{{- end}}
`)

var userInfoPage = page(`<h2>User info</h2>
<pre id="userinfo">{{.}}</pre>
`)

var apiPage = page(`<h2>Call the API</h2>
<p id="api-status">{{.Status}}</p>
<pre id="api-body">{{.Body}}</pre>
`)

var organizationsPage = page(`<h2>Organizations</h2>
<ul id="organizations">
{{- range .}}
  <li>{{.ID}}: {{range $i, $s := .Scopes}}{{if $i}}, {{end}}{{$s}}{{else}}no scopes{{end}}</li>
{{- end}}
</ul>
`)
