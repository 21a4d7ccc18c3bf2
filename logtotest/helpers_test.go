package logtotest_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

const (
	webID         = "web-app"
	webSecret     = "web-secret"
	spaID         = "spa-app"
	m2mID         = "m2m-app"
	m2mSecret     = "m2m-secret"
	specialID     = "id:with+special&chars"
	specialSecret = "p@ss:w+rd/=%é"
	redirectURI   = "http://app.example/callback"
	logoutURI     = "http://app.example/"
	apiA          = "https://api.example.com"
	apiB          = "https://billing.example.com"
	fullScope     = "openid offline_access profile email phone address custom_data identities roles urn:logto:scope:organizations urn:logto:scope:organization_roles read write read:org"
)

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       5 * time.Second,
}

// newFixture starts a server with apps, users, resources, roles and
// organizations.
func newFixture(t *testing.T, opts ...logtotest.Option) *logtotest.Server {
	t.Helper()
	srv := logtotest.NewServer(t, opts...)
	srv.AddApp(logtotest.App{ID: webID, Secret: webSecret, Type: logtotest.AppTraditional,
		RedirectURIs: []string{redirectURI, redirectURI + "?tenant=t1"}, PostLogoutRedirectURIs: []string{logoutURI}})
	srv.AddApp(logtotest.App{ID: spaID, Type: logtotest.AppSPA, RedirectURIs: []string{redirectURI},
		PostLogoutRedirectURIs: []string{logoutURI}})
	srv.AddApp(logtotest.App{ID: specialID, Secret: specialSecret, RedirectURIs: []string{redirectURI}})
	srv.AddApp(logtotest.App{ID: m2mID, Secret: m2mSecret, Type: logtotest.AppMachineToMachine,
		ResourceScopes:    map[string][]string{apiA: {"read", "write"}},
		Organizations:     []string{"org1"},
		OrganizationRoles: map[string][]string{"org1": {"machine"}}})
	srv.AddResource(logtotest.Resource{Indicator: apiA, Scopes: []string{"read", "write", "admin"}})
	srv.AddResource(logtotest.Resource{Indicator: apiB, Scopes: []string{"pay"}, AccessTokenTTL: 5 * time.Minute})
	srv.AddRole("reader", apiA, "read")
	srv.AddRole("payer", apiB, "pay")
	srv.AddOrganization(logtotest.Organization{ID: "org1", Name: "Acme", Description: "The Acme org"})
	srv.AddOrganization(logtotest.Organization{ID: "org2", Name: "Other"})
	srv.AddOrganizationRole("member", "read:org")
	srv.AddOrganizationRole("machine", "read:org", "write:org")
	srv.AddOrganizationRoleResourceScopes("member", apiA, "write")
	srv.AddUser(logtotest.User{
		ID: "u-alice", Username: "alice", Name: "Alice Liddell", Picture: "https://pics.example/alice.png",
		Email: "alice@example.com", Phone: "+15550100",
		Profile:       map[string]any{"given_name": "Alice", "locale": "en-GB"},
		Address:       map[string]any{"country": "UK"},
		CustomData:    map[string]any{"plan": "pro"},
		Identities:    map[string]logtotest.Identity{"google": {UserID: "g-1", Details: map[string]any{"email": "alice@gmail.com"}}},
		Roles:         []string{"reader"},
		Organizations: []logtotest.Membership{{OrganizationID: "org1", Roles: []string{"member"}}},
		CreatedAt:     time.UnixMilli(1_700_000_000_123),
		UpdatedAt:     time.UnixMilli(1_700_000_500_456),
		Extra:         map[string]any{"tier": "gold"},
	})
	srv.AddUser(logtotest.User{ID: "u-bob", Username: "bob"})
	return srv
}

// newPKCE returns a verifier and its S256 challenge.
func newPKCE() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams returns typical authorization parameters (SDK-like).
func authParams(clientID, scope string) url.Values {
	return url.Values{
		"client_id":     {clientID},
		"redirect_uri":  {redirectURI},
		"response_type": {"code"},
		"scope":         {scope},
		"state":         {"st-1"},
		"prompt":        {"consent"},
	}
}

func authURL(srv *logtotest.Server, p url.Values) string {
	return srv.Issuer() + "/auth?" + p.Encode()
}

// authorize runs the authorization request as user and returns the callback
// query.
func authorize(t *testing.T, srv *logtotest.Server, user string, p url.Values) url.Values {
	t.Helper()
	cb, err := srv.Authorize(authURL(srv, p), user)
	require.NoError(t, err)
	u, err := url.Parse(cb)
	require.NoError(t, err)
	return u.Query()
}

// postForm posts a form to path, with Basic credentials (form-encoded, as
// RFC 6749 2.3.1 requires) when id is not empty.
func postForm(t *testing.T, srv *logtotest.Server, path string, form url.Values, id, secret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return doJSON(t, req)
}

func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &body), string(raw))
	}
	return resp.StatusCode, body
}

func getJSON(t *testing.T, rawURL string, bearer string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &body)
	}
	return resp.StatusCode, resp.Header, body
}

// signIn authorizes user for the web app and exchanges the code.
func signIn(t *testing.T, srv *logtotest.Server, user, scope string, extra url.Values) map[string]any {
	t.Helper()
	p := authParams(webID, scope)
	for k, v := range extra {
		p[k] = v
	}
	q := authorize(t, srv, user, p)
	require.NotEmpty(t, q.Get("code"), q.Encode())
	status, body := postForm(t, srv, "/oidc/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI},
	}, webID, webSecret)
	require.Equal(t, http.StatusOK, status, body)
	return body
}

// signInSPA authorizes user for the SPA (rotating refresh tokens).
func signInSPA(t *testing.T, srv *logtotest.Server, user, scope string, extra url.Values) map[string]any {
	t.Helper()
	verifier, challenge := newPKCE()
	p := authParams(spaID, scope)
	p.Set("code_challenge", challenge)
	p.Set("code_challenge_method", "S256")
	for k, v := range extra {
		p[k] = v
	}
	q := authorize(t, srv, user, p)
	require.NotEmpty(t, q.Get("code"), q.Encode())
	status, body := postForm(t, srv, "/oidc/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI},
		"client_id": {spaID}, "code_verifier": {verifier},
	}, "", "")
	require.Equal(t, http.StatusOK, status, body)
	return body
}

// refresh uses a refresh token of the web app (or the SPA when spa is true).
func refresh(t *testing.T, srv *logtotest.Server, spa bool, rt string, extra url.Values) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for k, v := range extra {
		form[k] = v
	}
	if spa {
		form.Set("client_id", spaID)
		return postForm(t, srv, "/oidc/token", form, "", "")
	}
	return postForm(t, srv, "/oidc/token", form, webID, webSecret)
}

// verifyJWT verifies token with the server's JWKS (fetched over HTTP) and
// returns its protected header and claims.
func verifyJWT(t *testing.T, srv *logtotest.Server, token string) (map[string]any, map[string]any) {
	t.Helper()
	resp, err := http.Get(srv.Issuer() + "/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES384, jose.ES256, jose.RS256})
	require.NoError(t, err)
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	require.Len(t, keys, 1, "kid %q not in JWKS", jws.Signatures[0].Header.KeyID)
	payload, err := jws.Verify(keys[0])
	require.NoError(t, err)
	return decodeHeader(t, token), decodeJSON(t, payload)
}

func decodeHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	require.NoError(t, err)
	return decodeJSON(t, raw)
}

func decodeJSON(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	return m
}

func str(v any) string { s, _ := v.(string); return s }

// browser returns an HTTP client with a cookie jar that follows no
// redirects, like a browser whose every step the test drives.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       5 * time.Second,
	}
}

// browserGet performs GET rawURL with b and returns the response and body.
func browserGet(t *testing.T, b *http.Client, rawURL string) (*http.Response, string) {
	t.Helper()
	resp, err := b.Get(rawURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// callbackQuery returns the query of a redirect to the client.
func callbackQuery(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	u, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u.String(), redirectURI), u.String())
	return u.Query()
}
