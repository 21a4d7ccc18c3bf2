package logtotest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

const (
	exchangeID     = "exchange-app"
	exchangeSecret = "exchange-secret"
	adminID        = "mgmt-app"
	adminSecret    = "mgmt-secret"
)

// newExchangeFixture is newFixture with an app allowed to exchange tokens
// and an M2M app for the Management API.
func newExchangeFixture(t *testing.T) *logtotest.Server {
	t.Helper()
	srv := newFixture(t)
	srv.AddApp(logtotest.App{ID: exchangeID, Secret: exchangeSecret, RedirectURIs: []string{redirectURI}, AllowTokenExchange: true})
	srv.AddApp(logtotest.App{ID: adminID, Secret: adminSecret, Type: logtotest.AppMachineToMachine,
		ResourceScopes: map[string][]string{logtotest.ManagementAPIResource: {"all"}, apiA: {"read"}}})
	return srv
}

// managementToken is a client-credentials token of the Management API app.
func managementToken(t *testing.T, srv *logtotest.Server, resource, scope string) string {
	t.Helper()
	status, body := postForm(t, srv, "/oidc/token", url.Values{
		"grant_type": {"client_credentials"}, "resource": {resource}, "scope": {scope},
	}, adminID, adminSecret)
	require.Equal(t, http.StatusOK, status, body)
	return str(body["access_token"])
}

// mgmtCall sends a JSON Management API request with bearer (when not
// empty).
func mgmtCall(t *testing.T, srv *logtotest.Server, method, path, bearer string, body any) (int, any) {
	t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(method, srv.URL()+path, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out any
	if resp.StatusCode != http.StatusNoContent {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	}
	return resp.StatusCode, out
}

func newSubjectToken(t *testing.T, srv *logtotest.Server, userID string) string {
	t.Helper()
	status, body := mgmtCall(t, srv, http.MethodPost, "/api/subject-tokens", managementToken(t, srv, logtotest.ManagementAPIResource, "all"),
		map[string]any{"userId": userID})
	require.Equal(t, http.StatusCreated, status, body)
	return str(body.(map[string]any)["subjectToken"])
}

func exchangeTokens(t *testing.T, srv *logtotest.Server, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	form.Set("grant_type", logtotest.GrantTypeTokenExchange)
	return postForm(t, srv, "/oidc/token", form, id, secret)
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestTokenExchangeWire: the answers of the grant, in Logto's shape
// (recorded on the real server: reallogto's TestTokenExchange).
func TestTokenExchangeWire(t *testing.T) {
	srv := newExchangeFixture(t)
	actor := str(signIn(t, srv, "u-bob", "openid profile", nil)["access_token"])

	st := newSubjectToken(t, srv, "u-alice")
	status, body := exchangeTokens(t, srv, exchangeID, exchangeSecret, url.Values{
		"subject_token": {st}, "subject_token_type": {logtotest.TokenTypeImpersonationToken},
		"actor_token": {actor}, "actor_token_type": {logtotest.TokenTypeAccessToken},
		"resource": {apiA}, "scope": {"read write admin"},
	})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, []string{"access_token", "expires_in", "scope", "token_type"}, sortedKeys(body), "no refresh token, no ID token")
	assert.Equal(t, "read write", body["scope"], "alice's roles: reader (read) and the member organization role (write)")
	assert.Equal(t, float64(3600), body["expires_in"])
	header, claims := verifyJWT(t, srv, str(body["access_token"]))
	assert.Equal(t, "at+jwt", header["typ"])
	assert.Equal(t, []string{"act", "aud", "client_id", "exp", "iat", "iss", "jti", "scope", "sub"}, sortedKeys(claims))
	assert.Equal(t, map[string]any{"sub": "u-bob"}, claims["act"])
	assert.Equal(t, "u-alice", claims["sub"])
	assert.Equal(t, exchangeID, claims["client_id"])

	// No scope granted: "scope" is still there, empty.
	status, body = exchangeTokens(t, srv, exchangeID, exchangeSecret, url.Values{
		"subject_token": {newSubjectToken(t, srv, "u-bob")}, "subject_token_type": {logtotest.TokenTypeImpersonationToken},
		"resource": {apiA}, "scope": {"read"},
	})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "", body["scope"])
	_, claims = verifyJWT(t, srv, str(body["access_token"]))
	assert.NotContains(t, claims, "scope")
	assert.NotContains(t, claims, "act")

	// The grant is announced.
	_, _, doc := getJSON(t, srv.Issuer()+"/.well-known/openid-configuration", "")
	assert.Contains(t, doc["grant_types_supported"], logtotest.GrantTypeTokenExchange)
}

// TestTokenExchangeErrors: each refusal with Logto's status, code and
// description; a subject token survives a refused exchange.
func TestTokenExchangeErrors(t *testing.T) {
	srv := newExchangeFixture(t)
	userToken := signIn(t, srv, "u-bob", "openid profile", nil)
	opaque, idToken := str(userToken["access_token"]), str(userToken["id_token"])
	noOpenID := str(signIn(t, srv, "u-bob", "profile", nil)["access_token"])
	m2m := managementToken(t, srv, apiA, "read")
	srv.AddUser(logtotest.User{ID: "u-gone", Username: "gone", Suspended: true})
	imp := func(user string) url.Values {
		return url.Values{"subject_token": {newSubjectToken(t, srv, user)}, "subject_token_type": {logtotest.TokenTypeImpersonationToken}}
	}
	with := func(v url.Values, kv ...string) url.Values {
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	access := logtotest.TokenTypeAccessToken
	tests := []struct {
		name     string
		id, sec  string
		form     url.Values
		status   int
		code     string
		desc     string
		reusable bool // the subject token still works afterwards
	}{
		{"app without token exchange", webID, webSecret, imp("u-alice"), 400, "invalid_request", "requested grant type is not allowed for this client", true},
		{"no subject token", exchangeID, exchangeSecret, url.Values{"subject_token_type": {access}}, 400, "invalid_request", "missing required parameter 'subject_token'", false},
		{"no subject token type", exchangeID, exchangeSecret, url.Values{"subject_token": {"sub_x"}}, 400, "invalid_request", "missing required parameter 'subject_token_type'", false},
		{"unknown subject token type", exchangeID, exchangeSecret, with(imp("u-alice"), "subject_token_type", "urn:x"), 400, "invalid_grant", "grant request is invalid", true},
		{"unknown subject token", exchangeID, exchangeSecret, url.Values{"subject_token": {"sub_nope"}, "subject_token_type": {access}}, 400, "invalid_grant", "grant request is invalid", false},
		{"ID token", exchangeID, exchangeSecret, url.Values{"subject_token": {idToken}, "subject_token_type": {access}}, 400, "invalid_grant", "grant request is invalid", false},
		{"M2M token", exchangeID, exchangeSecret, url.Values{"subject_token": {m2m}, "subject_token_type": {access}}, 400, "invalid_grant", "grant request is invalid", false},
		{"corrupted JWT", exchangeID, exchangeSecret, url.Values{"subject_token": {logtotest.CorruptSignature(m2m)}, "subject_token_type": {access}}, 400, "invalid_grant", "grant request is invalid", false},
		{"suspended user", exchangeID, exchangeSecret, imp("u-gone"), 400, "invalid_grant", "grant request is invalid", false},
		{"actor token of another type", exchangeID, exchangeSecret, with(imp("u-alice"), "actor_token", opaque, "actor_token_type", logtotest.TokenTypePersonalAccessToken), 400, "invalid_grant", "grant request is invalid", true},
		{"actor token without openid", exchangeID, exchangeSecret, with(imp("u-alice"), "actor_token", noOpenID, "actor_token_type", access), 400, "invalid_grant", "grant request is invalid", true},
		{"JWT actor token", exchangeID, exchangeSecret, with(imp("u-alice"), "actor_token", m2m, "actor_token_type", access), 400, "invalid_grant", "grant request is invalid", true},
		{"non-member organization", exchangeID, exchangeSecret, with(imp("u-alice"), "organization_id", "org2"), 403, "access_denied", "user is not a member of the organization", true},
		{"unknown resource", exchangeID, exchangeSecret, with(imp("u-alice"), "resource", "https://nope.example.com"), 400, "invalid_target", "resource indicator is missing, or unknown", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := exchangeTokens(t, srv, tt.id, tt.sec, tt.form)
			assert.Equal(t, tt.status, status, body)
			assert.Equal(t, tt.code, body["error"])
			assert.Equal(t, tt.desc, body["error_description"])
			assert.Equal(t, "oidc."+tt.code, body["code"])
			if tt.reusable {
				form := url.Values{"subject_token": tt.form["subject_token"], "subject_token_type": {logtotest.TokenTypeImpersonationToken}}
				status, body := exchangeTokens(t, srv, exchangeID, exchangeSecret, form)
				assert.Equal(t, http.StatusOK, status, "%s: the subject token was not consumed: %v", tt.name, body)
			}
		})
	}

	t.Run("subject tokens expire after ten minutes", func(t *testing.T) {
		form := imp("u-alice")
		srv.Advance(10 * time.Minute)
		status, body := exchangeTokens(t, srv, exchangeID, exchangeSecret, form)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"])
	})

	t.Run("revoked opaque subject token", func(t *testing.T) {
		tok := str(signIn(t, srv, "u-alice", "openid", nil)["access_token"])
		form := url.Values{"subject_token": {tok}, "subject_token_type": {access}}
		status, _ := exchangeTokens(t, srv, exchangeID, exchangeSecret, form)
		require.Equal(t, http.StatusOK, status)
		srv.RevokeGrantsOf("u-alice")
		status, body := exchangeTokens(t, srv, exchangeID, exchangeSecret, form)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"])
	})
}
