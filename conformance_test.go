package logto_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// TestConformanceOIDCC plays the relying-party test modules of the OpenID
// Foundation's conformance suite (oidcc-client-* of the Basic RP, Config RP
// and refresh-token plans) against logtotest in misbehaving modes. Each
// subtest is named after the module it reproduces; SECURITY.md maps them.
//
// Every sign-in case runs the flow a relying party runs: SignIn, the
// provider's authorization (as the browser would), HandleCallback, then
// FetchUserInfo, and asserts the error, what storage holds afterwards and
// the exact number of requests that reached each endpoint (a rejected ID
// token must be followed by no userinfo request).
func TestConformanceOIDCC(t *testing.T) {
	type tc struct {
		id       string
		provider []logtotest.Option
		client   []logto.Option
		// setup installs the misbehaviour on a fresh fixture.
		setup func(t *testing.T, f *fixture)
		// reject lists the errors a rejected ID token must match; empty
		// means the sign-in must succeed.
		reject []error
		// jwks is the number of JWKS requests the sign-in makes.
		jwks int
		// check runs extra assertions after the flow.
		check func(t *testing.T, f *fixture)
	}
	corruptIDTokenSignature := func(t *testing.T, f *fixture) {
		f.srv.MutateTokenResponses(func(resp map[string]any) {
			resp["id_token"] = logtotest.CorruptSignature(resp["id_token"].(string))
		})
	}
	withoutKids := func(t *testing.T, f *fixture) {
		f.srv.MutateJWKS(func(doc map[string]any) {
			for _, k := range doc["keys"].([]any) {
				delete(k.(map[string]any), "kid")
			}
		})
		f.srv.MutateIDTokens(func(h, c map[string]any) { delete(h, "kid") })
	}
	rs256 := []logtotest.Option{logtotest.WithSigningAlg("RS256")}
	cases := []tc{
		{
			id: "oidcc-client-test", jwks: 1,
			check: func(t *testing.T, f *fixture) {
				auth := f.srv.Requests(logtotest.EndpointAuth)[0].Form
				assert.Equal(t, "code", auth.Get("response_type"))
				assert.Contains(t, strings.Fields(auth.Get("scope")), "openid")
				assert.NotEmpty(t, auth.Get("state"))
				assert.NotEmpty(t, auth.Get("nonce"))
				assert.Equal(t, "S256", auth.Get("code_challenge_method"))
				tok := f.srv.Requests(logtotest.EndpointToken)[0]
				assert.Equal(t, http.MethodPost, tok.Method)
				assert.Equal(t, "authorization_code", tok.Form.Get("grant_type"))
				assert.Equal(t, redirectURI, tok.Form.Get("redirect_uri"))
				assert.NotEmpty(t, tok.Form.Get("code_verifier"))
			},
		},
		{id: "oidcc-client-test-invalid-iss", jwks: 1, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateIDTokens(func(h, c map[string]any) { c["iss"] = "https://evil.example/oidc" })
			}},
		{id: "oidcc-client-test-missing-sub", jwks: 1, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateIDTokens(func(h, c map[string]any) { delete(c, "sub") })
			}},
		{id: "oidcc-client-test-invalid-aud", jwks: 1, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateIDTokens(func(h, c map[string]any) { c["aud"] = "another-client" })
			}},
		{id: "oidcc-client-missing-aud", jwks: 1, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateIDTokens(func(h, c map[string]any) { delete(c, "aud") })
			}},
		{id: "oidcc-client-test-missing-iat", jwks: 1, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateIDTokens(func(h, c map[string]any) { delete(c, "iat") })
			}},
		{
			id: "oidcc-client-test-kid-absent-single-jwks", provider: rs256, jwks: 1, setup: withoutKids,
			check: func(t *testing.T, f *fixture) {
				idt, _ := f.client.GetIdToken(context.Background())
				assert.NotContains(t, jwtPart(t, idt, 0), "kid")
			},
		},
		{
			// Accepted deliberately: every key of the set is the provider's,
			// so trying each key that fits the algorithm (two here) finds
			// the signer without trusting anything the token says.
			id: "oidcc-client-test-kid-absent-multiple-jwks", provider: rs256, jwks: 1,
			setup: func(t *testing.T, f *fixture) {
				f.srv.RotateKey() // the old key stays published, first in the set
				withoutKids(t, f)
			},
			check: func(t *testing.T, f *fixture) {
				resp, err := http.Get(f.srv.Issuer() + "/jwks")
				require.NoError(t, err)
				defer resp.Body.Close()
				var set jose.JSONWebKeySet
				require.NoError(t, jsonDecode(resp, &set))
				require.Len(t, set.Keys, 2)
				for _, k := range set.Keys {
					assert.Empty(t, k.KeyID)
					assert.Equal(t, "RS256", k.Algorithm)
				}
			},
		},
		{
			id: "oidcc-client-test-idtoken-sig-rs256", provider: rs256, jwks: 1,
			check: func(t *testing.T, f *fixture) {
				idt, _ := f.client.GetIdToken(context.Background())
				assert.Equal(t, "RS256", jwtPart(t, idt, 0)["alg"])
			},
		},
		{
			// Also the "RS256-only provider" of the issue: discovery names no
			// algorithm, so RS256, OpenID Connect's default, is the only one.
			id: "config-rs256-only-provider", provider: rs256, jwks: 1,
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateDiscovery(func(d map[string]any) { delete(d, "id_token_signing_alg_values_supported") })
			},
		},
		{
			id: "config-rs256-default-refuses-es384", jwks: 0, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateDiscovery(func(d map[string]any) { delete(d, "id_token_signing_alg_values_supported") })
			},
		},
		{id: "oidcc-client-test-idtoken-sig-none", jwks: 0, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateIDTokens(func(h, c map[string]any) { h["alg"] = "none" })
			}},
		{
			// The kid names a held key: the bad signature is final, no
			// refetch of the keys.
			id: "oidcc-client-test-invalid-sig-rs256", provider: rs256, jwks: 1,
			reject: []error{logto.ErrInvalidIDToken}, setup: corruptIDTokenSignature,
		},
		{
			id: "oidcc-client-test-invalid-sig-es256", provider: []logtotest.Option{logtotest.WithSigningAlg("ES256")}, jwks: 1,
			reject: []error{logto.ErrInvalidIDToken}, setup: corruptIDTokenSignature,
		},
		{
			// Even a provider that announces HS256 never gets a symmetric
			// algorithm accepted; the token is refused before any key is
			// looked up.
			id: "oidcc-client-test-invalid-sig-hs256", jwks: 0, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateDiscovery(func(d map[string]any) {
					d["id_token_signing_alg_values_supported"] = []any{"HS256", "ES384"}
				})
				replaceIDToken(t, f.srv, func(h, c map[string]any) string {
					// go-jose wants 256-bit HMAC keys: the secret, repeated.
					mac := []byte(strings.Repeat(appSecret, 4))
					return logtotest.CorruptSignature(signJWT(t, jose.HS256, mac, nil, c))
				})
			},
		},
		{id: "oidcc-client-test-nonce-invalid", jwks: 1, reject: []error{logto.ErrInvalidIDToken},
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateIDTokens(func(h, c map[string]any) { c["nonce"] = "not-the-nonce-we-sent" })
			}},
		{
			id: "oidcc-client-test-userinfo-bearer-header", jwks: 1,
			check: func(t *testing.T, f *fixture) {
				at, err := f.client.GetAccessToken(context.Background(), "")
				require.NoError(t, err)
				ui := f.srv.Requests(logtotest.EndpointUserInfo)[0]
				assert.Equal(t, http.MethodGet, ui.Method)
				assert.Equal(t, "Bearer "+at, ui.Header.Get("Authorization"))
				assert.Empty(t, ui.Form.Get("access_token"), "never in the query")
			},
		},
		{
			// The profile allows the header or the body method; the SDK uses
			// the header only, so the token never travels in a body or URL.
			id: "oidcc-client-test-userinfo-bearer-body", jwks: 1,
			check: func(t *testing.T, f *fixture) {
				ui := f.srv.Requests(logtotest.EndpointUserInfo)[0]
				assert.Empty(t, ui.Form, "no body and no query")
				assert.True(t, strings.HasPrefix(ui.Header.Get("Authorization"), "Bearer "))
			},
		},
		{
			id: "oidcc-client-test-scope-userinfo-claims", jwks: 1,
			check: func(t *testing.T, f *fixture) {
				scope := strings.Fields(f.srv.Requests(logtotest.EndpointAuth)[0].Form.Get("scope"))
				assert.Subset(t, scope, []string{"openid", "profile", "email", "phone"})
				info, err := f.client.FetchUserInfo(context.Background())
				require.NoError(t, err)
				assert.Equal(t, logto.ClaimOf("alice@example.com"), info.Email)
				assert.Equal(t, logto.ClaimOf(true), info.EmailVerified)
				assert.True(t, info.PhoneNumber.Null(), "requested, unset: null")
				assert.Equal(t, logto.ClaimOf("Alice Liddell"), info.Name)
			},
		},
		{
			id: "oidcc-client-test-client-secret-basic", jwks: 1,
			check: func(t *testing.T, f *fixture) {
				tok := f.srv.Requests(logtotest.EndpointToken)[0]
				want := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(appID)+":"+url.QueryEscape(appSecret)))
				assert.Equal(t, want, tok.Header.Get("Authorization"))
				assert.NotContains(t, tok.Form, "client_secret")
				assert.NotContains(t, tok.Form, "client_id", "one authentication method only")
			},
		},
		{
			id: "oidcc-client-test-discovery-openid-config", jwks: 1,
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateDiscovery(func(d map[string]any) {
					for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"} {
						d[k] = d[k].(string) + "?via=discovery"
					}
				})
			},
			check: func(t *testing.T, f *fixture) {
				disc := f.srv.Requests(logtotest.EndpointDiscovery)[0]
				assert.Equal(t, "/oidc/.well-known/openid-configuration", disc.Path)
				for _, e := range []logtotest.Endpoint{logtotest.EndpointAuth, logtotest.EndpointToken, logtotest.EndpointUserInfo, logtotest.EndpointJWKS} {
					assert.Equal(t, "discovery", f.srv.Requests(e)[0].Form.Get("via"), "%s URL taken from discovery", e)
				}
			},
		},
		{
			id: "oidcc-client-test-discovery-jwks-uri-keys", jwks: 1,
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateDiscovery(func(d map[string]any) { d["jwks_uri"] = d["jwks_uri"].(string) + "?set=from-discovery" })
			},
			check: func(t *testing.T, f *fixture) {
				assert.Equal(t, "from-discovery", f.srv.Requests(logtotest.EndpointJWKS)[0].Form.Get("set"))
			},
		},
		{
			id: "oidcc-client-test-ignores-unparseable-key-in-jwks", jwks: 1,
			setup: func(t *testing.T, f *fixture) {
				f.srv.MutateJWKS(func(doc map[string]any) {
					doc["keys"] = append([]any{
						map[string]any{"kty": "AKP", "alg": "ML-DSA-99", "kid": "pq-1", "pub": "AAAA"},
						map[string]any{"kty": "made-up", "kid": "odd-1", "x": 1},
					}, doc["keys"].([]any)...)
				})
			},
		},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newConformanceFixture(t, c.provider, c.client...)
			if c.setup != nil {
				c.setup(t, f)
			}
			cb := f.callbackFor(t, aliceID)
			code := callbackParam(t, cb, "code")
			err := f.client.HandleCallback(ctx, cb)
			_, uiErr := f.client.FetchUserInfo(ctx)
			want := coldSignInReqs.plus(reqs{logtotest.EndpointJWKS: c.jwks - 1})
			if len(c.reject) > 0 {
				require.Error(t, err)
				for _, e := range c.reject {
					assert.ErrorIs(t, err, e)
				}
				assertNoSecrets(t, err, code, appSecret)
				assert.ErrorIs(t, uiErr, logto.ErrNotAuthenticated, "no session after a rejected ID token")
				assert.False(t, f.client.IsAuthenticated(ctx))
				assert.Empty(t, f.snapshot(), "nothing stored; the transaction is spent")
			} else {
				require.NoError(t, err)
				require.NoError(t, uiErr)
				assert.True(t, f.client.IsAuthenticated(ctx))
				claims, err := f.client.GetIdTokenClaims(ctx)
				require.NoError(t, err)
				assert.Equal(t, aliceID, claims.Subject)
				snap := f.snapshot()
				assert.NotContains(t, snap, logto.StorageKeySignInSession, "the transaction is spent")
				assert.Len(t, snap, 3, "ID token, refresh token and access-token cache")
				want = want.plus(reqs{logtotest.EndpointUserInfo: 1})
			}
			assertRequests(t, f.srv, want)
			if c.check != nil {
				c.check(t, f)
			}
		})
	}
}

// TestConformanceOIDCCScenarios holds the modules that need more than one
// sign-in or a signed-in session: the userinfo subject check, discovery
// issuer mismatch, key rotation and the refresh-token plan.
func TestConformanceOIDCCScenarios(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		id  string
		run func(t *testing.T)
	}{
		{"oidcc-client-test-userinfo-invalid-sub", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			before := f.snapshot()
			f.srv.MutateUserInfo(func(c map[string]any) { c["sub"] = bobID })
			f.srv.ResetRequests()
			info, err := f.client.FetchUserInfo(ctx)
			assert.ErrorIs(t, err, logto.ErrSubjectMismatch)
			assert.Empty(t, info.Subject, "no claims of the other user are returned")
			assertRequests(t, f.srv, reqs{logtotest.EndpointUserInfo: 1})
			assert.Equal(t, before, f.snapshot(), "the session is kept as it was")
		}},
		{"oidcc-client-test-discovery-issuer-mismatch", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["issuer"] = "https://evil.example/oidc" })
			u, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrDiscovery)
			assert.Empty(t, u)
			assertRequests(t, f.srv, reqs{logtotest.EndpointDiscovery: 1})
			assert.Empty(t, f.snapshot(), "no transaction stored")
			// A failure is not cached: the next call asks again.
			_, err = f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrDiscovery)
			assertRequests(t, f.srv, reqs{logtotest.EndpointDiscovery: 2})
		}},
		{"oidcc-client-test-signing-key-rotation", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			oldKID := f.srv.SigningKID()
			f.srv.Advance(logto.DefaultJWKSRefreshCooldown + time.Second)
			newKID := f.srv.RotateKey()
			f.srv.RemoveOldKeys()
			f.srv.ResetRequests()
			view := f.client.WithStorage(logto.NewMemoryStorage())
			signInAs(t, f.srv, view, aliceID)
			_, err := view.FetchUserInfo(ctx)
			require.NoError(t, err)
			idt, _ := view.GetIdToken(ctx)
			assert.Equal(t, newKID, jwtPart(t, idt, 0)["kid"])
			assert.NotEqual(t, oldKID, newKID)
			assertRequests(t, f.srv, signInReqs.plus(reqs{logtotest.EndpointJWKS: 1, logtotest.EndpointUserInfo: 1}))
		}},
		{"oidcc-client-test-signing-key-rotation-just-before-signing", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID) // keys fetched and held
			f.srv.Advance(logto.DefaultJWKSRefreshCooldown + time.Second)
			var newKID string
			f.srv.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				newKID = f.srv.RotateKey()
				f.srv.RemoveOldKeys()
				f.srv.Intercept(logtotest.EndpointToken, nil)
				next.ServeHTTP(w, r)
			})
			cb := f.callbackFor(t, aliceID)
			f.srv.ResetRequests()
			require.NoError(t, f.client.HandleCallback(ctx, cb))
			idt, _ := f.client.GetIdToken(ctx)
			assert.Equal(t, newKID, jwtPart(t, idt, 0)["kid"])
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
		}},
		{"oidcc-client-test-refresh-token", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			oldID, _ := f.client.GetIdToken(ctx)
			rt, _ := f.client.GetRefreshToken(ctx)
			f.srv.Advance(2 * time.Hour)
			f.srv.ResetRequests()
			at, err := f.client.GetAccessToken(ctx, "")
			require.NoError(t, err)
			assert.NotEmpty(t, at)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1}.plus(staleKeys))
			req := f.srv.Requests(logtotest.EndpointToken)[0]
			assert.Equal(t, "refresh_token", req.Form.Get("grant_type"))
			assert.Equal(t, rt, req.Form.Get("refresh_token"))
			assert.True(t, strings.HasPrefix(req.Header.Get("Authorization"), "Basic "))
			newID, _ := f.client.GetIdToken(ctx)
			assert.NotEqual(t, oldID, newID, "the refreshed, verified ID token replaced the old one")
			assert.Equal(t, aliceID, jwtPart(t, newID, 1)["sub"])
		}},
	}
	for _, tt := range []struct {
		id     string
		mutate func(h, c map[string]any)
		also   error
	}{
		{"oidcc-client-test-refresh-token-invalid-issuer", func(h, c map[string]any) { c["iss"] = "https://evil.example/oidc" }, nil},
		{"oidcc-client-test-refresh-token-invalid-sub", func(h, c map[string]any) { c["sub"] = bobID }, logto.ErrSubjectMismatch},
		{"oidcc-client-test-refresh-token-invalid-aud", func(h, c map[string]any) { c["aud"] = "another-client" }, nil},
		{"oidcc-client-test-refresh-token-invalid-azp", func(h, c map[string]any) {
			c["aud"] = []any{appID, "another-client"}
			c["azp"] = "another-client"
		}, nil},
	} {
		cases = append(cases, struct {
			id  string
			run func(t *testing.T)
		}{tt.id, func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			before := f.snapshot()
			f.srv.MutateIDTokens(tt.mutate)
			f.srv.Advance(2 * time.Hour)
			f.srv.ResetRequests()
			at, err := f.client.GetAccessToken(ctx, "")
			assert.Empty(t, at)
			assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
			if tt.also != nil {
				assert.ErrorIs(t, err, tt.also)
			}
			assertNoSecrets(t, err, sessionSecrets(f)...)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1}.plus(staleKeys))
			assert.Equal(t, before, f.snapshot(), "nothing of the refused response is stored")
			claims, err := f.client.GetIdTokenClaims(ctx)
			require.NoError(t, err)
			assert.Equal(t, aliceID, claims.Subject)

			// The refused result is not served again: once the provider
			// answers correctly, the next call sends a new request and
			// the session goes on.
			f.srv.MutateIDTokens(nil)
			f.srv.ResetRequests()
			at, err = f.client.GetAccessToken(ctx, "")
			require.NoError(t, err)
			assert.NotEmpty(t, at)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
		}})
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

func jsonDecode(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
