package logtotest_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func TestCodeExchangeClientAuthentication(t *testing.T) {
	srv := newFixture(t)

	tests := []struct {
		name   string
		client string
		pkce   bool
		send   func(form url.Values) (int, map[string]any)
	}{
		{"client_secret_basic", webID, false, func(f url.Values) (int, map[string]any) {
			return postForm(t, srv, "/oidc/token", f, webID, webSecret)
		}},
		{"client_secret_basic with special characters", specialID, false, func(f url.Values) (int, map[string]any) {
			return postForm(t, srv, "/oidc/token", f, specialID, specialSecret)
		}},
		{"client_secret_post", webID, false, func(f url.Values) (int, map[string]any) {
			f.Set("client_id", webID)
			f.Set("client_secret", webSecret)
			return postForm(t, srv, "/oidc/token", f, "", "")
		}},
		{"confidential client with PKCE", webID, true, func(f url.Values) (int, map[string]any) {
			return postForm(t, srv, "/oidc/token", f, webID, webSecret)
		}},
		{"public client", spaID, true, func(f url.Values) (int, map[string]any) {
			f.Set("client_id", spaID)
			return postForm(t, srv, "/oidc/token", f, "", "")
		}},
		{"JSON body", webID, false, func(f url.Values) (int, map[string]any) {
			obj := map[string]string{"client_id": webID, "client_secret": webSecret}
			for k := range f {
				obj[k] = f.Get(k)
			}
			b, _ := json.Marshal(obj)
			req, _ := http.NewRequest(http.MethodPost, srv.Issuer()+"/token", strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
			return doJSON(t, req)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := authParams(tt.client, "openid offline_access profile")
			verifier, challenge := newPKCE()
			if tt.pkce {
				p.Set("code_challenge", challenge)
				p.Set("code_challenge_method", "S256")
			}
			q := authorize(t, srv, "u-alice", p)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI}}
			if tt.pkce {
				form.Set("code_verifier", verifier)
			}
			status, body := tt.send(form)
			require.Equal(t, http.StatusOK, status, body)

			at := str(body["access_token"])
			assert.GreaterOrEqual(t, len(at), 43)
			assert.NotContains(t, at, ".")
			assert.Equal(t, "Bearer", body["token_type"])
			assert.EqualValues(t, 3600, body["expires_in"])
			assert.Equal(t, "openid offline_access profile", body["scope"])
			assert.NotEmpty(t, body["refresh_token"])
			_, claims := verifyJWT(t, srv, str(body["id_token"]))
			assert.Equal(t, tt.client, claims["aud"])
		})
	}
}

func TestTokenClientAuthenticationErrors(t *testing.T) {
	srv := newFixture(t)
	form := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {"whatever"}, "redirect_uri": {redirectURI}}
	}
	rawBasic := func(v string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	tests := []struct {
		name       string
		edit       func(url.Values)
		header     func(*http.Request)
		wantStatus int
		wantErr    string
		wantDesc   string
	}{
		{"wrong secret", nil, rawBasic(webID + ":nope"), 401, "invalid_client", "client authentication failed"},
		{"unknown client", nil, rawBasic("ghost:x"), 400, "invalid_client", "invalid client ghost"},
		{"wrong secret in body", func(f url.Values) { f.Set("client_id", webID); f.Set("client_secret", "nope") }, nil, 401, "invalid_client", ""},
		{"confidential client without secret", func(f url.Values) { f.Set("client_id", webID) }, nil, 401, "invalid_client", ""},
		{"public client with secret", func(f url.Values) { f.Set("client_id", spaID); f.Set("client_secret", "x") }, nil, 401, "invalid_client", ""},
		{"no credentials", nil, nil, 400, "invalid_request", "no client authentication mechanism provided"},
		{"malformed basic", nil, func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }, 400, "invalid_request", "invalid authorization header value format"},
		{"basic without colon", nil, rawBasic("abc"), 400, "invalid_request", "invalid authorization header value format"},
		{"special secret not form-encoded", nil, rawBasic(specialID + ":" + specialSecret), 400, "invalid_request", ""},
		{"client_id mismatch", func(f url.Values) { f.Set("client_id", spaID) }, rawBasic(webID + ":" + webSecret), 400, "invalid_request", "client_id mismatch"},
		{"unknown grant type", func(f url.Values) { f.Set("grant_type", "password") }, rawBasic(webID + ":" + webSecret), 400, "unsupported_grant_type", ""},
		{"missing grant type", func(f url.Values) { f.Del("grant_type") }, rawBasic(webID + ":" + webSecret), 400, "invalid_request", "grant_type"},
		{"grant not allowed", func(f url.Values) { f.Set("grant_type", "client_credentials") }, rawBasic(webID + ":" + webSecret), 400, "unauthorized_client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form()
			if tt.edit != nil {
				tt.edit(f)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.Issuer()+"/token", strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.header != nil {
				tt.header(req)
			}
			status, body := doJSON(t, req)
			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, tt.wantErr, body["error"])
			assert.Equal(t, "oidc."+tt.wantErr, body["code"])
			assert.NotEmpty(t, body["message"])
			assert.Contains(t, body["error_description"], tt.wantDesc)
		})
	}
}

func TestCodeExchangeFailures(t *testing.T) {
	srv := newFixture(t)
	verifier, challenge := newPKCE()
	otherVerifier, _ := newPKCE()

	newCode := func(client string) string {
		p := authParams(client, "openid offline_access")
		p.Set("code_challenge", challenge)
		p.Set("code_challenge_method", "S256")
		return authorize(t, srv, "u-alice", p).Get("code")
	}
	tests := []struct {
		name    string
		form    func(code string) url.Values
		advance time.Duration
	}{
		{"wrong verifier", func(c string) url.Values {
			return url.Values{"code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {otherVerifier}}
		}, 0},
		{"missing verifier", func(c string) url.Values {
			return url.Values{"code": {c}, "redirect_uri": {redirectURI}}
		}, 0},
		{"wrong redirect_uri", func(c string) url.Values {
			return url.Values{"code": {c}, "redirect_uri": {redirectURI + "?tenant=t1"}, "code_verifier": {verifier}}
		}, 0},
		{"unknown code", func(string) url.Values {
			return url.Values{"code": {"bogus"}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		}, 0},
		{"expired code (60 s, as in Logto)", func(c string) url.Values {
			return url.Values{"code": {c}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
		}, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := newCode(webID)
			srv.Advance(tt.advance)
			f := tt.form(code)
			f.Set("grant_type", "authorization_code")
			status, body := postForm(t, srv, "/oidc/token", f, webID, webSecret)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_grant", body["error"])
			assert.Equal(t, "oidc.invalid_grant", body["code"])
			assert.Equal(t, "grant request is invalid", body["error_description"])
		})
	}

	t.Run("code of another client", func(t *testing.T) {
		code := newCode(spaID)
		status, body := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}, webID, webSecret)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_grant", body["error"])
	})

	t.Run("code still valid at 59 s", func(t *testing.T) {
		code := newCode(webID)
		srv.Advance(59 * time.Second)
		status, body := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}, webID, webSecret)
		assert.Equal(t, http.StatusOK, status, body)
	})

	t.Run("several resources", func(t *testing.T) {
		p := authParams(webID, "openid")
		p["resource"] = []string{apiA, apiB}
		code := authorize(t, srv, "u-alice", p).Get("code")
		status, body := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
			"code": {code}, "redirect_uri": {redirectURI}, "resource": {apiA, apiB}}, webID, webSecret)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_target", body["error"])
		assert.Equal(t, "only a single resource indicator value must be requested/resolved during Access Token Request", body["error_description"])
	})

	t.Run("missing code", func(t *testing.T) {
		status, body := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
			"redirect_uri": {redirectURI}}, webID, webSecret)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_request", body["error"])
	})

	t.Run("parse_error=false", func(t *testing.T) {
		status, body := postForm(t, srv, "/oidc/token?parse_error=false", url.Values{"grant_type": {"authorization_code"},
			"code": {"bogus"}, "redirect_uri": {redirectURI}}, webID, webSecret)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, map[string]any{"error": "invalid_grant", "error_description": "grant request is invalid"}, body)
	})
}

func TestCodeReuseRevokesTokens(t *testing.T) {
	srv := newFixture(t)
	q := authorize(t, srv, "u-alice", authParams(webID, "openid offline_access"))
	first := exchange(t, srv, q.Get("code"))
	rt := str(first["refresh_token"])
	require.True(t, srv.RefreshTokenActive(rt))

	status, body := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
		"code": {q.Get("code")}, "redirect_uri": {redirectURI}}, webID, webSecret)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "invalid_grant", body["error"])

	assert.False(t, srv.RefreshTokenActive(rt))
	status, _, _ = getJSON(t, srv.Issuer()+"/me", str(first["access_token"]))
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestOfflineAccessNeedsConsent(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", "openid offline_access", url.Values{"prompt": {"login"}})
	assert.Nil(t, body["refresh_token"])
	assert.Equal(t, "openid", body["scope"])

	body = signIn(t, srv, "u-alice", "openid offline_access", url.Values{"prompt": {"login consent"}})
	assert.NotEmpty(t, body["refresh_token"])
}

func TestIDTokenClaims(t *testing.T) {
	srv := newFixture(t)
	allNull := map[string]any{
		"name": nil, "username": "bob", "picture": nil, "preferred_username": "bob",
		"email": nil, "email_verified": false, "phone_number": nil, "phone_number_verified": false,
	}
	tests := []struct {
		name    string
		user    string
		scope   string
		want    map[string]any
		absent  []string
		present []string
	}{
		{"openid only", "u-alice", "openid", map[string]any{"sub": "u-alice", "tier": "gold"},
			[]string{"name", "email", "roles", "at_hash"}, nil},
		{"profile", "u-alice", "openid profile", map[string]any{
			"name": "Alice Liddell", "username": "alice", "picture": "https://pics.example/alice.png",
			"given_name": "Alice", "locale": "en-GB",
			"created_at": float64(1_700_000_000_123), "updated_at": float64(1_700_000_500_456),
		}, []string{"email", "family_name"}, nil},
		{"email and phone", "u-alice", "openid email phone", map[string]any{
			"email": "alice@example.com", "email_verified": true, "phone_number": "+15550100", "phone_number_verified": true,
		}, []string{"name"}, nil},
		{"extended claims", "u-alice", "openid roles urn:logto:scope:organizations urn:logto:scope:organization_roles custom_data identities address", map[string]any{
			"roles": []any{"reader"}, "organizations": []any{"org1"}, "organization_roles": []any{"org1:member"},
			"address": map[string]any{"country": "UK"},
		}, []string{"custom_data", "identities", "sso_identities", "organization_data"}, nil},
		{"unset values are null", "u-bob", "openid profile email phone", allNull,
			[]string{"given_name", "address"}, []string{"name", "picture", "email", "phone_number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := signIn(t, srv, tt.user, tt.scope, url.Values{"nonce": {"n-123"}})
			h, claims := verifyJWT(t, srv, str(body["id_token"]))
			assert.Equal(t, map[string]any{"alg": "ES384", "kid": srv.SigningKID()}, h, "no typ, as oidc-provider")

			now := srv.Now().Unix()
			assert.Equal(t, srv.Issuer(), claims["iss"])
			assert.Equal(t, tt.user, claims["sub"])
			assert.Equal(t, webID, claims["aud"])
			assert.EqualValues(t, now, claims["iat"])
			assert.EqualValues(t, now+3600, claims["exp"])
			assert.NotContains(t, claims, "auth_time", "only with max_age, prompt=login or RequireAuthTime")
			assert.Equal(t, "n-123", claims["nonce"])
			assert.NotContains(t, claims, "sid", "only for apps with a back-channel logout URI")
			for k, v := range tt.want {
				assert.Equal(t, v, claims[k], k)
			}
			for _, k := range tt.absent {
				assert.NotContains(t, claims, k)
			}
			for _, k := range tt.present {
				assert.Contains(t, claims, k)
			}
		})
	}
}

func TestUpdateUserAndClock(t *testing.T) {
	srv := newFixture(t, logtotest.WithStartTime(time.Unix(1_800_000_000, 0)), logtotest.WithIDTokenTTL(time.Minute))
	require.Equal(t, time.Unix(1_800_000_000, 0), srv.Now())
	srv.Advance(time.Hour)
	require.Equal(t, time.Unix(1_800_003_600, 0), srv.Now())

	srv.UpdateUser("u-bob", func(u *logtotest.User) { u.Name = "Robert" })
	_, claims := verifyJWT(t, srv, str(signIn(t, srv, "u-bob", "openid profile", nil)["id_token"]))
	assert.Equal(t, "Robert", claims["name"])
	assert.EqualValues(t, 1_800_003_600, claims["iat"])
	assert.EqualValues(t, 1_800_003_660, claims["exp"])

	srv.SetNow(time.Unix(1_900_000_000, 0))
	assert.Equal(t, time.Unix(1_900_000_000, 0), srv.Now())
	assert.Panics(t, func() { srv.UpdateUser("ghost", func(*logtotest.User) {}) })
}

func TestIDTokenAuthTime(t *testing.T) {
	srv := newFixture(t)
	srv.AddApp(logtotest.App{ID: "at-app", Secret: "s", RedirectURIs: []string{redirectURI}, RequireAuthTime: true})
	signInAt := func(p url.Values) (map[string]any, map[string]any) {
		t.Helper()
		q := authorize(t, srv, "u-alice", p)
		require.NotEmpty(t, q.Get("code"), q.Encode())
		status, body := postForm(t, srv, "/oidc/token", url.Values{
			"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {redirectURI},
		}, p.Get("client_id"), map[string]string{webID: webSecret, "at-app": "s"}[p.Get("client_id")])
		require.Equal(t, http.StatusOK, status, body)
		_, claims := verifyJWT(t, srv, str(body["id_token"]))
		return body, claims
	}

	// The first sign-in starts the session.
	_, claims := signInAt(authParams(webID, "openid offline_access"))
	assert.NotContains(t, claims, "auth_time")
	loginTime := srv.Now().Unix()

	srv.Advance(10 * time.Minute)
	p := authParams(webID, "openid offline_access")
	p.Set("max_age", "3600")
	body, claims := signInAt(p)
	assert.EqualValues(t, loginTime, claims["auth_time"], "max_age: the session's authentication time")

	// Refreshed ID tokens keep it.
	srv.Advance(time.Minute)
	status, refreshed := refresh(t, srv, false, str(body["refresh_token"]), nil)
	require.Equal(t, http.StatusOK, status, refreshed)
	_, rc := verifyJWT(t, srv, str(refreshed["id_token"]))
	assert.EqualValues(t, loginTime, rc["auth_time"])

	_, claims = signInAt(authParams("at-app", "openid"))
	assert.EqualValues(t, loginTime, claims["auth_time"], "require_auth_time")

	// A session older than max_age authenticates again.
	p.Set("max_age", "60")
	_, claims = signInAt(p)
	assert.EqualValues(t, srv.Now().Unix(), claims["auth_time"])

	srv.Advance(time.Minute)
	p = authParams(webID, "openid")
	p.Set("prompt", "login")
	_, claims = signInAt(p)
	assert.EqualValues(t, srv.Now().Unix(), claims["auth_time"], "prompt=login")

	// prompt=none cannot authenticate again.
	srv.Advance(2 * time.Minute)
	p = authParams(webID, "openid")
	p.Set("prompt", "none")
	p.Set("max_age", "60")
	q := authorize(t, srv, "u-alice", p)
	assert.Equal(t, "login_required", q.Get("error"))
	assert.Equal(t, "End-User authentication could not be obtained", q.Get("error_description"))
}

func TestSignInWithoutOpenID(t *testing.T) {
	srv := newFixture(t)
	body := signIn(t, srv, "u-alice", "offline_access profile", nil)
	assert.NotContains(t, body, "id_token", "no openid, no ID token")
	assert.Equal(t, "offline_access profile", body["scope"])
	assert.NotEmpty(t, body["refresh_token"])

	status, header, e := getJSON(t, srv.Issuer()+"/me", str(body["access_token"]))
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "insufficient_scope", e["error"])
	assert.Equal(t, "access token missing openid scope", e["error_description"])
	assert.Equal(t, "openid", e["scope"])
	assert.Equal(t, `Bearer realm="`+srv.Issuer()+`", error="insufficient_scope", error_description="access token missing openid scope", scope="openid"`,
		header.Get("WWW-Authenticate"))

	status, refreshed := refresh(t, srv, false, str(body["refresh_token"]), nil)
	require.Equal(t, http.StatusOK, status, refreshed)
	assert.NotContains(t, refreshed, "id_token")
}
