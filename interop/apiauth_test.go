package interop

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
)

func newVerifier(t *testing.T, cfg apiauth.Config) *apiauth.Verifier {
	t.Helper()
	v, err := apiauth.NewVerifier(cfg)
	require.NoError(t, err)
	return v
}

// newAPI serves h on a loopback port until the test ends.
func newAPI(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// apiSeen is what echoClaims tells about the claims the Middleware put in
// the request context.
type apiSeen struct {
	Subject           string   `json:"sub"`
	ClientID          string   `json:"client_id"`
	Audience          []string `json:"aud"`
	Scope             string   `json:"scope"`
	OrganizationID    string   `json:"organization_id"`
	OrganizationToken string   `json:"organization_token"`
}

// echoClaims is an API route: it answers with the claims the Middleware
// verified (apiauth.FromContext), 500 if there are none.
var echoClaims = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := apiauth.FromContext(r.Context())
	if !ok {
		http.Error(w, "no claims in the request context", http.StatusInternalServerError)
		return
	}
	org, _ := c.IsOrganizationToken()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(apiSeen{
		Subject: c.Subject, ClientID: c.ClientID, Audience: c.Audience, Scope: c.Scope,
		OrganizationID: c.OrganizationID, OrganizationToken: org,
	})
})

// apiAnswer is an API's answer to one request.
type apiAnswer struct {
	status  int
	wwwAuth string
	seen    apiSeen        // 200
	errBody map[string]any // 401, 403
}

// getAPI sends GET url with client (http.DefaultClient when nil) and, when
// token is not empty, an "Authorization: Bearer" header.
func getAPI(t *testing.T, client *http.Client, url, token string) apiAnswer {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	a := apiAnswer{status: resp.StatusCode, wwwAuth: resp.Header.Get("WWW-Authenticate")}
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&a.seen))
	} else {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&a.errBody))
	}
	return a
}

// Expected WWW-Authenticate values (RFC 6750) of a Verifier for the API.
func challengeInvalid(desc string) string {
	return `Bearer realm="` + apiResource + `", error="invalid_token", error_description="` + desc + `"`
}

func challengeScope(desc string, scopes ...string) string {
	s := `Bearer realm="` + apiResource + `", error="insufficient_scope", error_description="` + desc + `"`
	if len(scopes) > 0 {
		s += `, scope="` + strings.Join(scopes, " ") + `"`
	}
	return s
}

// apiauthError extracts the *apiauth.Error from err.
func apiauthError(t *testing.T, err error) *apiauth.Error {
	t.Helper()
	require.Error(t, err)
	var e *apiauth.Error
	require.Truef(t, errors.As(err, &e), "want an *apiauth.Error in the chain, got %v", err)
	return e
}

// TestAPITokenVerification verifies, with apiauth, access tokens that the
// provider issued: client credentials, a user's API token, an
// organization-scoped API token and an organization token, reaching
// protected routes through the SDK's token sources; and refuses tokens
// for another API, ID tokens, opaque tokens, tokens without the needed
// scope or organization, and expired tokens, with RFC 6750 answers.
func TestAPITokenVerification(t *testing.T) {
	ctx := context.Background()
	ep := endpoint(t)
	iss := issuer(t)

	// The tokens: m2m-app's, alice's (web-app, with the other API
	// requested too) and bob's (spa-app, no roles).
	m2m, _ := newM2M(t, m2mConfig(t))
	m2mToken := mustToken(t)(m2m.AccessToken(ctx))
	aliceCfg := webConfig(t)
	aliceCfg.Resources = append(aliceCfg.Resources, otherResource)
	alice := newClient(t, aliceCfg, nil)
	signIn(t, alice, newBrowser(t), logto.SignInOptions{LoginHint: "alice"})
	bob := newClient(t, spaConfig(t), nil)
	signIn(t, bob, newBrowser(t), logto.SignInOptions{LoginHint: "bob"})

	v := newVerifier(t, apiauth.Config{Endpoint: ep, Audience: apiResource})
	assert.Equal(t, iss, v.Issuer())
	readAPI := newAPI(t, v.Middleware(apiauth.RequireScopes("read:data"))(echoClaims))
	writeAPI := newAPI(t, v.Middleware(apiauth.RequireScopes("write:data"))(echoClaims))
	org1API := newAPI(t, v.Middleware(apiauth.RequireOrganization("org-1"), apiauth.RequireScopes("read:data"))(echoClaims))

	t.Run("M2M token", func(t *testing.T) {
		c, err := v.Verify(ctx, m2mToken, apiauth.RequireScopes("read:data"))
		require.NoError(t, err)
		assert.Equal(t, iss, c.Issuer)
		assert.Equal(t, m2mAppID, c.Subject)
		assert.Equal(t, m2mAppID, c.ClientID)
		assert.Equal(t, logto.Audience{apiResource}, c.Audience)
		assert.Equal(t, "read:data", c.Scope)
		assert.Empty(t, c.OrganizationID)
		_, isOrg := c.IsOrganizationToken()
		assert.False(t, isOrg)

		// Through the M2M client's HTTP client, as a service calls an API.
		a := getAPI(t, m2m.HTTPClient(ctx), readAPI.URL+"/data", "")
		require.Equal(t, http.StatusOK, a.status, a.errBody)
		assert.Equal(t, apiSeen{Subject: m2mAppID, ClientID: m2mAppID, Audience: []string{apiResource}, Scope: "read:data"}, a.seen)
	})

	t.Run("user API token", func(t *testing.T) {
		tok := mustToken(t)(alice.GetAccessToken(ctx, apiResource))
		c, err := v.Verify(ctx, tok, apiauth.RequireScopes("read:data", "write:data"), apiauth.RequireAnyScope("delete:data", "write:data"))
		require.NoError(t, err)
		assert.Equal(t, aliceID, c.Subject)
		assert.Equal(t, webAppID, c.ClientID)
		assert.Equal(t, logto.Audience{apiResource}, c.Audience)
		assert.ElementsMatch(t, []string{"read:data", "write:data"}, c.Scopes())
		var raw map[string]any
		require.NoError(t, c.Claims(&raw))
		assert.Equal(t, c.JWTID, raw["jti"])

		// Through the user's token source, as a web app calls its API.
		a := getAPI(t, oauth2.NewClient(ctx, alice.TokenSource(ctx, apiResource)), writeAPI.URL+"/data", "")
		require.Equal(t, http.StatusOK, a.status, a.errBody)
		assert.Equal(t, aliceID, a.seen.Subject)
		assert.Equal(t, webAppID, a.seen.ClientID)
		assert.Equal(t, []string{apiResource}, a.seen.Audience)
	})

	t.Run("organization-scoped API token", func(t *testing.T) {
		a := getAPI(t, oauth2.NewClient(ctx, alice.OrganizationAccessTokenSource(ctx, "org-1", apiResource)), org1API.URL+"/data", "")
		require.Equal(t, http.StatusOK, a.status, a.errBody)
		assert.Equal(t, apiSeen{Subject: aliceID, ClientID: webAppID, Audience: []string{apiResource}, Scope: "read:data write:data", OrganizationID: "org-1"}, a.seen)

		tok := mustToken(t)(alice.GetOrganizationAccessToken(ctx, "org-1", apiResource))
		c, err := v.Verify(ctx, tok, apiauth.RequireOrganization("org-1"))
		require.NoError(t, err)
		assert.Equal(t, "org-1", c.OrganizationID)
		_, isOrg := c.IsOrganizationToken()
		assert.False(t, isOrg, "an API token, bound to the organization by its organization_id claim")

		_, err = v.Verify(ctx, tok, apiauth.RequireOrganization("org-2"))
		e := apiauthError(t, err)
		assert.Equal(t, "insufficient_scope", e.Code)
		assert.Equal(t, "the token is not bound to the required organization", e.Description)
		assert.ErrorIs(t, err, apiauth.ErrInsufficientScope)

		// Not narrowed to alice's organization role (read:data): her admin
		// role's write:data is kept, as in Logto.
		a = getAPI(t, nil, writeAPI.URL, tok)
		require.Equal(t, http.StatusOK, a.status, a.errBody)
		assert.Equal(t, "org-1", a.seen.OrganizationID)

		// The plain API token is bound to no organization.
		a = getAPI(t, nil, org1API.URL, mustToken(t)(alice.GetAccessToken(ctx, apiResource)))
		assert.Equal(t, http.StatusForbidden, a.status)
		assert.Equal(t, challengeScope("the token is not bound to the required organization"), a.wwwAuth)
		assert.Equal(t, map[string]any{"error": "insufficient_scope", "error_description": "the token is not bound to the required organization"}, a.errBody)
	})

	t.Run("organization token", func(t *testing.T) {
		tok := mustToken(t)(alice.GetOrganizationToken(ctx, "org-1"))

		// Without AcceptOrganizationTokens it is a token for another audience.
		_, err := v.Verify(ctx, tok)
		e := apiauthError(t, err)
		assert.Equal(t, "invalid_token", e.Code)
		assert.Equal(t, "token is meant for another audience", e.Description)

		vo := newVerifier(t, apiauth.Config{Endpoint: ep, Audience: apiResource, AcceptOrganizationTokens: true})
		c, err := vo.Verify(ctx, tok, apiauth.RequireOrganization("org-1"), apiauth.RequireScopes("read:org"))
		require.NoError(t, err)
		org, isOrg := c.IsOrganizationToken()
		assert.True(t, isOrg)
		assert.Equal(t, "org-1", org)
		assert.Equal(t, logto.Audience{logto.OrganizationURNPrefix + "org-1"}, c.Audience)
		assert.Equal(t, aliceID, c.Subject)
		assert.Empty(t, c.OrganizationID, "organization tokens carry the organization in aud")

		_, err = vo.Verify(ctx, tok, apiauth.RequireOrganization("org-2"))
		assert.Equal(t, "insufficient_scope", apiauthError(t, err).Code)
		_, err = vo.Verify(ctx, tok, apiauth.RequireScopes("write:org"))
		e = apiauthError(t, err)
		assert.Equal(t, "insufficient_scope", e.Code)
		assert.Equal(t, []string{"write:org"}, e.Scope)

		// The API's own tokens are still accepted.
		_, err = vo.Verify(ctx, m2mToken, apiauth.RequireScopes("read:data"))
		assert.NoError(t, err)

		orgAPI := newAPI(t, vo.Middleware(apiauth.RequireOrganization("org-1"), apiauth.RequireAnyScope("read:org", "write:org"))(echoClaims))
		a := getAPI(t, oauth2.NewClient(ctx, alice.OrganizationTokenSource(ctx, "org-1")), orgAPI.URL, "")
		require.Equal(t, http.StatusOK, a.status, a.errBody)
		assert.Equal(t, apiSeen{Subject: aliceID, ClientID: webAppID, Audience: []string{"urn:logto:organization:org-1"}, Scope: "read:org", OrganizationToken: "org-1"}, a.seen)
	})

	t.Run("refused", func(t *testing.T) {
		otherToken := mustToken(t)(alice.GetAccessToken(ctx, otherResource))
		idToken := mustToken(t)(alice.GetIdToken(ctx))
		opaque := mustToken(t)(alice.GetAccessToken(ctx, ""))
		bobToken := mustToken(t)(bob.GetAccessToken(ctx, apiResource))
		require.Equal(t, otherResource, verifyAccessToken(t, otherToken)["aud"], "a genuine token of the provider")

		for _, tc := range []struct {
			name, url, token string
			status           int
			wwwAuth          string
			sentinel         error
		}{
			{"no token", readAPI.URL, "", http.StatusUnauthorized, `Bearer realm="` + apiResource + `"`, nil},
			{"token for another API", readAPI.URL, otherToken, http.StatusUnauthorized, challengeInvalid("token is meant for another audience"), apiauth.ErrInvalidToken},
			{"ID token", readAPI.URL, idToken, http.StatusUnauthorized, challengeInvalid("token type is not at+jwt"), apiauth.ErrInvalidToken},
			{"opaque user info token", readAPI.URL, opaque, http.StatusUnauthorized, challengeInvalid("malformed token or unsupported algorithm"), apiauth.ErrInvalidToken},
			{"bob without write:data", writeAPI.URL, bobToken, http.StatusForbidden, challengeScope("the token lacks a required scope", "write:data"), apiauth.ErrInsufficientScope},
			{"bob without read:data", readAPI.URL, bobToken, http.StatusForbidden, challengeScope("the token lacks a required scope", "read:data"), apiauth.ErrInsufficientScope},
			{"M2M without write:data", writeAPI.URL, m2mToken, http.StatusForbidden, challengeScope("the token lacks a required scope", "write:data"), apiauth.ErrInsufficientScope},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := getAPI(t, nil, tc.url, tc.token)
				assert.Equal(t, tc.status, a.status)
				assert.Equal(t, tc.wwwAuth, a.wwwAuth)
				if tc.sentinel == nil {
					return
				}
				wantCode := "invalid_token"
				if tc.status == http.StatusForbidden {
					wantCode = "insufficient_scope"
				}
				assert.Equal(t, wantCode, a.errBody["error"])

				req := apiauth.RequireScopes("read:data")
				if tc.url == writeAPI.URL {
					req = apiauth.RequireScopes("write:data")
				}
				_, err := v.Verify(ctx, tc.token, req)
				assert.ErrorIs(t, err, tc.sentinel)
			})
		}
	})

	t.Run("expired", func(t *testing.T) {
		clock := &testClock{}
		ve := newVerifier(t, apiauth.Config{Endpoint: ep, Audience: apiResource, Now: clock.now})
		expAPI := newAPI(t, ve.Middleware()(echoClaims))
		c, err := ve.Verify(ctx, m2mToken)
		require.NoError(t, err)
		exp := c.Expiry.Time()

		// Within the default one-minute leeway the token still passes…
		clock.advance(time.Until(exp) + 30*time.Second)
		_, err = ve.Verify(ctx, m2mToken)
		require.NoError(t, err, "30 s past exp is within the leeway")

		// …and past it, it is refused, also when it was cached.
		clock.advance(time.Minute)
		_, err = ve.Verify(ctx, m2mToken)
		e := apiauthError(t, err)
		assert.Equal(t, "invalid_token", e.Code)
		assert.Equal(t, "token expired", e.Description)
		a := getAPI(t, nil, expAPI.URL, m2mToken)
		assert.Equal(t, http.StatusUnauthorized, a.status)
		assert.Equal(t, challengeInvalid("token expired"), a.wwwAuth)

		// A verifier on the real clock still takes it.
		_, err = v.Verify(ctx, m2mToken)
		assert.NoError(t, err)
	})
}
