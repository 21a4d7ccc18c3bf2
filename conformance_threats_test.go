package logto_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// TestConformanceThreats covers the client-side threats of RFC 9700 (OAuth
// 2.0 Security Best Current Practice, cases named after its sections) and
// RFC 9207 (authorization server issuer identification), plus algorithm
// confusion, key-id and header injection and credential leakage. Each case
// asserts the error, what storage holds and which requests were made.
func TestConformanceThreats(t *testing.T) {
	ctx := context.Background()
	// rejectCallback handles cb and checks that it was refused with want
	// before any request left the client, storing no token.
	rejectCallback := func(t *testing.T, f *fixture, cb string, want error) error {
		t.Helper()
		before := storedTokens(f.snapshot())
		f.srv.ResetRequests()
		err := f.client.HandleCallback(ctx, cb)
		require.Error(t, err)
		if want != nil {
			assert.ErrorIs(t, err, want)
		}
		assertRequests(t, f.srv, reqs{})
		assert.Equal(t, before, storedTokens(f.snapshot()), "no token stored")
		assertNoSecrets(t, err, callbackParam(t, cb, "code"), appSecret)
		return err
	}
	cases := []struct {
		id  string
		run func(t *testing.T)
	}{
		// RFC 9700 4.1: the callback must arrive at the redirect URI the
		// sign-in registered, exactly (scheme, host, path).
		{"rfc9700-4.1-callback-on-another-host", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := strings.Replace(f.callbackFor(t, aliceID), "://app.example/", "://evil.example/", 1)
			rejectCallback(t, f, cb, logto.ErrRedirectURIMismatch)
			assert.Empty(t, f.snapshot(), "the transaction is spent")
		}},
		{"rfc9700-4.1-callback-on-another-path", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := strings.Replace(f.callbackFor(t, aliceID), "/callback?", "/callback/evil?", 1)
			rejectCallback(t, f, cb, logto.ErrRedirectURIMismatch)
		}},
		{"rfc9700-4.1-redirect-uri-must-be-absolute", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			for _, bad := range []string{"", "/callback", "//evil.example/cb", "https://app.example/cb#frag", "javascript:alert(1)"} {
				u, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: bad})
				assert.ErrorIs(t, err, logto.ErrInvalidConfig, bad)
				assert.Empty(t, u)
			}
			assertRequests(t, f.srv, reqs{})
			assert.Empty(t, f.snapshot())
		}},
		// RFC 9700 4.2: what the browser sees (and may leak through Referer
		// or history) holds no secret: a PKCE challenge, never the verifier
		// or the client secret; an ID token hint, never an access or
		// refresh token.
		{"rfc9700-4.2-no-credentials-in-front-channel", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			authURL, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			require.NoError(t, err)
			var txs []map[string]any
			require.NoError(t, json.Unmarshal([]byte(f.snapshot()[logto.StorageKeySignInSession]), &txs))
			verifier := txs[0]["codeVerifier"].(string)
			assert.NotContains(t, authURL, verifier)
			assert.NotContains(t, authURL, appSecret)
			cb, err := f.srv.Authorize(authURL, aliceID)
			require.NoError(t, err)
			require.NoError(t, f.client.HandleCallback(ctx, cb))
			_, err = f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err)
			secrets := sessionSecrets(f)
			idt, _ := f.client.GetIdToken(ctx)
			endURL, err := f.client.SignOut(ctx, postLogout)
			require.NoError(t, err)
			for _, s := range secrets {
				if s != idt {
					assert.NotContains(t, endURL, s)
				}
			}
			eu, _ := url.Parse(endURL)
			assert.ElementsMatch(t, []string{"client_id", "post_logout_redirect_uri", "id_token_hint"}, keys(eu.Query()))
		}},
		// RFC 9700 4.3: a callback URL replayed from history is refused;
		// the code is exchanged once.
		{"rfc9700-4.3-callback-replay", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID)
			require.NoError(t, f.client.HandleCallback(ctx, cb))
			rejectCallback(t, f, cb, logto.ErrSignInSessionNotFound)
			assert.True(t, f.client.IsAuthenticated(ctx), "the first sign-in stays")
		}},
		// RFC 9700 4.4 / RFC 9207: mix-up. The iss parameter must be the
		// issuer of the sign-in, checked before the code goes anywhere.
		{"rfc9700-4.4-mix-up-iss-of-another-issuer", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := setParam(t, f.callbackFor(t, aliceID), "iss", "https://attacker.example/oidc")
			rejectCallback(t, f, cb, logto.ErrIssuerMismatch)
		}},
		{"rfc9207-iss-missing-when-announced", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := setParam(t, f.callbackFor(t, aliceID), "iss", "")
			rejectCallback(t, f, cb, logto.ErrIssuerMismatch)
		}},
		{"rfc9207-iss-absent-when-not-announced", func(t *testing.T) {
			// RFC 9207 2.4: without the metadata flag the client cannot
			// require the parameter (checked when present, below).
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["authorization_response_iss_parameter_supported"] = false })
			cb := setParam(t, f.callbackFor(t, aliceID), "iss", "")
			f.srv.ResetRequests()
			require.NoError(t, f.client.HandleCallback(ctx, cb))
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
		}},
		{"rfc9207-iss-wrong-when-not-announced", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { delete(d, "authorization_response_iss_parameter_supported") })
			cb := setParam(t, f.callbackFor(t, aliceID), "iss", "https://attacker.example/oidc")
			rejectCallback(t, f, cb, logto.ErrIssuerMismatch)
		}},
		{"rfc9207-iss-checked-on-error-responses", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.DenyNextAuthorization("access_denied", "denied")
			cb := setParam(t, f.callbackFor(t, aliceID), "iss", "https://attacker.example/oidc")
			err := rejectCallback(t, f, cb, logto.ErrIssuerMismatch)
			var oe *logto.OAuthError
			assert.False(t, errors.As(err, &oe), "an error from another issuer is not reported as Logto's")
		}},
		{"rfc9207-iss-repeated", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID) + "&iss=" + url.QueryEscape("https://attacker.example/oidc")
			err := rejectCallback(t, f, cb, nil)
			assert.Contains(t, err.Error(), `repeats the "iss" parameter`)
		}},
		// RFC 9700 4.5: a code stolen from (or planted by) another session
		// is useless: Logto binds it to that session's PKCE challenge, and
		// the nonce binds the ID token to ours.
		{"rfc9700-4.5-code-injection-pkce", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			attacker := newFixtureWith(t, f.srv, f.cfg)
			attackerCode := callbackParam(t, attacker.callbackFor(t, bobID), "code")
			cb := setParam(t, f.callbackFor(t, aliceID), "code", attackerCode)
			f.srv.ResetRequests()
			err := f.client.HandleCallback(ctx, cb)
			var oe *logto.OAuthError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, "invalid_grant", oe.Code)
			assert.Equal(t, "token", oe.Endpoint)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
			assert.Empty(t, f.snapshot())
			assertNoSecrets(t, err, attackerCode)
		}},
		{"rfc9700-4.5-code-injection-nonce", func(t *testing.T) {
			// A provider that forgot PKCE: the token endpoint answers the
			// injected code as if the attacker's verifier came with it. The
			// ID token then carries the attacker's nonce.
			f := newConformanceFixture(t, nil)
			attacker := newFixtureWith(t, f.srv, f.cfg)
			attackerCB := attacker.callbackFor(t, bobID)
			var txs []map[string]any
			require.NoError(t, json.Unmarshal([]byte(attacker.snapshot()[logto.StorageKeySignInSession]), &txs))
			attackerVerifier := txs[0]["codeVerifier"].(string)
			f.srv.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				form.Set("code_verifier", attackerVerifier)
				enc := form.Encode()
				r.Body = io.NopCloser(strings.NewReader(enc))
				r.ContentLength = int64(len(enc))
				next.ServeHTTP(w, r)
			})
			cb := setParam(t, f.callbackFor(t, aliceID), "code", callbackParam(t, attackerCB, "code"))
			f.srv.ResetRequests()
			err := f.client.HandleCallback(ctx, cb)
			assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
			assert.Contains(t, err.Error(), "nonce")
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
			assert.Empty(t, f.snapshot())
		}},
		// RFC 9700 4.6: tokens in the authorization response are ignored;
		// only the code is used.
		{"rfc9700-4.6-access-token-injection", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			forged := f.srv.Sign(nil, map[string]any{"iss": f.srv.Issuer(), "sub": bobID, "aud": appID})
			cb := f.callbackFor(t, aliceID) + "&access_token=injected&token_type=Bearer&id_token=" + forged
			f.srv.ResetRequests()
			require.NoError(t, f.client.HandleCallback(ctx, cb))
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
			idt, _ := f.client.GetIdToken(ctx)
			assert.NotEqual(t, forged, idt)
			at, err := f.client.GetAccessToken(ctx, "")
			require.NoError(t, err)
			assert.NotEqual(t, "injected", at)
			claims, _ := f.client.GetIdTokenClaims(ctx)
			assert.Equal(t, aliceID, claims.Subject)
		}},
		// RFC 9700 4.7: CSRF. The state must name a sign-in this session
		// started; a forged callback does not consume the genuine pending
		// sign-in.
		{"rfc9700-4.7-csrf-missing-state", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID)
			rejectCallback(t, f, setParam(t, cb, "state", ""), logto.ErrSignInSessionNotFound)
			require.NoError(t, f.client.HandleCallback(ctx, cb), "the genuine callback still completes")
		}},
		{"rfc9700-4.7-csrf-forged-state", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID)
			rejectCallback(t, f, setParam(t, cb, "state", "forged-state"), logto.ErrSignInSessionNotFound)
			require.NoError(t, f.client.HandleCallback(ctx, cb))
		}},
		{"rfc9700-4.7-csrf-login-with-attackers-callback", func(t *testing.T) {
			// Login CSRF: the victim's browser is sent to the attacker's
			// own, valid callback URL.
			f := newConformanceFixture(t, nil)
			attacker := newFixtureWith(t, f.srv, f.cfg)
			attackerCB := attacker.callbackFor(t, bobID)
			victimCB := f.callbackFor(t, aliceID)
			rejectCallback(t, f, attackerCB, logto.ErrSignInSessionNotFound)
			assert.False(t, f.client.IsAuthenticated(ctx))
			require.NoError(t, f.client.HandleCallback(ctx, victimCB))
		}},
		{"rfc9700-4.7-csrf-expired-state", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID)
			f.srv.Advance(logto.DefaultTransactionTTL + time.Second)
			rejectCallback(t, f, cb, logto.ErrSignInSessionNotFound)
			assert.Empty(t, f.snapshot())
		}},
		// RFC 9700 4.8: PKCE with S256 on every sign-in, confidential
		// client included, whatever the provider announces.
		{"rfc9700-4.8-pkce-s256-always", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["code_challenge_methods_supported"] = []any{"plain"} })
			seen := map[string]bool{}
			for i := 0; i < 2; i++ {
				f.srv.ResetRequests()
				f.signIn(t, aliceID)
				auth := f.srv.Requests(logtotest.EndpointAuth)[0].Form
				verifier := f.srv.Requests(logtotest.EndpointToken)[0].Form.Get("code_verifier")
				assert.Equal(t, "S256", auth.Get("code_challenge_method"))
				sum := sha256.Sum256([]byte(verifier))
				assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), auth.Get("code_challenge"))
				assert.Regexp(t, regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`), verifier)
				for _, v := range []string{verifier, auth.Get("state"), auth.Get("nonce")} {
					assert.False(t, seen[v], "fresh random values per sign-in")
					seen[v] = true
				}
			}
		}},
		// RFC 9700 4.9 and 4.10: API tokens are audience-restricted with
		// resource indicators.
		{"rfc9700-4.9-audience-restricted-access-tokens", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			f.srv.ResetRequests()
			claims, err := f.client.GetAccessTokenClaims(ctx, apiResource)
			require.NoError(t, err)
			assert.Equal(t, logto.Audience{apiResource}, claims.Audience)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
			assert.Equal(t, apiResource, f.srv.Requests(logtotest.EndpointToken)[0].Form.Get("resource"))
			org, err := f.client.GetOrganizationTokenClaims(ctx, memberOrg)
			require.NoError(t, err)
			assert.Equal(t, logto.Audience{logto.OrganizationURNPrefix + memberOrg}, org.Audience)
		}},
		// RFC 9700 4.11: the client is no open redirector. It sends the
		// browser only to endpoints of the verified discovery document,
		// which must be https (or loopback http).
		{"rfc9700-4.11-discovery-endpoint-javascript-scheme", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["authorization_endpoint"] = "javascript:alert(document.cookie)" })
			u, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrDiscovery)
			assert.Empty(t, u)
			assertRequests(t, f.srv, reqs{logtotest.EndpointDiscovery: 1})
			assert.Empty(t, f.snapshot())
		}},
		{"rfc9700-4.11-discovery-endpoint-plain-http", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["end_session_endpoint"] = "http://evil.example/logout" })
			u, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrDiscovery)
			assert.Empty(t, u)
			assertRequests(t, f.srv, reqs{logtotest.EndpointDiscovery: 1})
		}},
		{"rfc9700-4.11-discovery-endpoint-without-host", func(t *testing.T) {
			// "https://:443/token" has a port but no host name: Go would
			// dial the local machine. Found by FuzzAllowed.
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["token_endpoint"] = "https://:443/oidc/token" })
			_, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrDiscovery)
			assertRequests(t, f.srv, reqs{logtotest.EndpointDiscovery: 1})
			_, err = logto.NewLogtoClient(logto.LogtoConfig{Endpoint: "https://:8443", AppId: appID}, nil)
			assert.ErrorIs(t, err, logto.ErrInvalidConfig)
		}},
		// RFC 9700 4.12: a redirect from the token endpoint is not
		// followed, so the code and credentials go nowhere else.
		{"rfc9700-4.12-307-from-token-endpoint", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			evil := newCounter(t)
			f.srv.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				http.Redirect(w, r, evil.URL+"/steal", http.StatusTemporaryRedirect)
			})
			cb := f.callbackFor(t, aliceID)
			f.srv.ResetRequests()
			err := f.client.HandleCallback(ctx, cb)
			assert.ErrorIs(t, err, logto.ErrInvalidResponse)
			assert.Contains(t, err.Error(), "HTTP 307")
			assert.Zero(t, evil.hits.Load(), "nothing reached the redirect target")
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
			assert.Empty(t, f.snapshot())
		}},
		// RFC 9700 4.14: refresh tokens.
		{"rfc9700-4.14-rotated-refresh-token-replaces-the-old", func(t *testing.T) {
			f := newSPAFixture(t, nil)
			f.signIn(t, aliceID)
			rt, _ := f.client.GetRefreshToken(ctx)
			f.srv.ResetRequests()
			_, err := f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
			rt2, _ := f.client.GetRefreshToken(ctx)
			assert.NotEqual(t, rt, rt2)
			assert.False(t, f.srv.RefreshTokenActive(rt))
			assert.True(t, f.srv.RefreshTokenActive(rt2))
		}},
		{"rfc9700-4.14-refresh-token-revoked-at-sign-out", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			rt, _ := f.client.GetRefreshToken(ctx)
			f.srv.ResetRequests()
			_, err := f.client.SignOut(ctx, postLogout)
			require.NoError(t, err)
			assertRequests(t, f.srv, reqs{logtotest.EndpointRevocation: 1})
			assert.Equal(t, rt, f.srv.Requests(logtotest.EndpointRevocation)[0].Form.Get("token"))
			assert.False(t, f.srv.RefreshTokenActive(rt))
			assert.Empty(t, f.snapshot())
		}},
		{"rfc9700-4.14-invalid-grant-ends-session", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			f.srv.RevokeGrantsOf(aliceID)
			f.srv.ResetRequests()
			_, err := f.client.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrSessionExpired)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
			assert.Empty(t, f.snapshot())
			_, err = f.client.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrNotAuthenticated)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
		}},
		{"rfc9700-4.14-refresh-token-sent-only-to-token-and-revocation", func(t *testing.T) {
			f := newSPAFixture(t, nil)
			f.signIn(t, aliceID)
			var rts []string
			rt, _ := f.client.GetRefreshToken(ctx)
			rts = append(rts, rt)
			for _, res := range []string{apiResource, ""} {
				f.srv.Advance(2 * time.Hour)
				_, err := f.client.GetAccessToken(ctx, res)
				require.NoError(t, err)
				rt, _ = f.client.GetRefreshToken(ctx)
				rts = append(rts, rt)
			}
			_, err := f.client.FetchUserInfo(ctx)
			require.NoError(t, err)
			_, err = f.client.SignOut(ctx, postLogout)
			require.NoError(t, err)
			for _, e := range countedEndpoints {
				if e == logtotest.EndpointToken || e == logtotest.EndpointRevocation {
					continue
				}
				for _, r := range f.srv.Requests(e) {
					dump := fmt.Sprint(r.Header, r.Form, r.Path)
					for _, rt := range rts {
						assert.NotContains(t, dump, rt, "refresh token sent to %s", e)
					}
				}
			}
		}},
		// Algorithm confusion: only the asymmetric algorithms the provider
		// announced, each with a key of its type.
		{"alg-confusion-hs256-keyed-with-public-jwk", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []any{"ES384", "HS256"} })
			f.srv.MutateIDTokens(func(h, c map[string]any) { h["alg"] = "HS256" })
			rejectSignIn(t, f, 0)
		}},
		{"alg-confusion-hs256-valid-mac-with-client-secret", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []any{"HS256"} })
			_, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrDiscovery, "a provider announcing only symmetric algorithms is unusable")

			f = newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []any{"HS256", "ES384"} })
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return signJWT(t, jose.HS256, []byte(strings.Repeat(appSecret, 4)), nil, c)
			})
			rejectSignIn(t, f, 0)
		}},
		{"alg-confusion-algorithm-not-announced", func(t *testing.T) {
			// RS256 signed by a key the JWKS does publish, but the provider
			// announced ES384 only.
			f := newConformanceFixture(t, nil)
			rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
			require.NoError(t, err)
			f.srv.MutateJWKS(func(doc map[string]any) {
				doc["keys"] = append(doc["keys"].([]any), publicJWK(t, rsaKey, "rsa-1", "RS256"))
			})
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return signJWT(t, jose.RS256, rsaKey, map[string]any{"kid": "rsa-1"}, c)
			})
			rejectSignIn(t, f, 0)
		}},
		{"alg-confusion-header-alg-does-not-fit-key", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.srv.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []any{"ES384", "ES256"} })
			f.srv.MutateIDTokens(func(h, c map[string]any) { h["alg"] = "ES256" }) // signed with the P-384 key
			rejectSignIn(t, f, 1)
		}},
		{"alg-confusion-symmetric-key-in-jwks", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			secret := bytes.Repeat([]byte{7}, 32)
			f.srv.MutateDiscovery(func(d map[string]any) { d["id_token_signing_alg_values_supported"] = []any{"ES384", "HS256"} })
			f.srv.MutateJWKS(func(doc map[string]any) {
				doc["keys"] = append(doc["keys"].([]any), map[string]any{
					"kty": "oct", "kid": "hmac-1", "alg": "HS256", "k": base64.RawURLEncoding.EncodeToString(secret)})
			})
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return signJWT(t, jose.HS256, secret, map[string]any{"kid": "hmac-1"}, c)
			})
			rejectSignIn(t, f, 0)
		}},
		{"alg-confusion-none-with-signature", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				h["alg"] = "none"
				hb, _ := json.Marshal(h)
				cb, _ := json.Marshal(c)
				enc := base64.RawURLEncoding
				return enc.EncodeToString(hb) + "." + enc.EncodeToString(cb) + "." + enc.EncodeToString([]byte("sig"))
			})
			rejectSignIn(t, f, 0)
		}},
		// Key-id and header injection: the header picks among the
		// provider's keys, never supplies one.
		{"kid-unknown-refetches-once-per-cooldown", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			f.srv.Advance(logto.DefaultJWKSRefreshCooldown + time.Second)
			for i, kid := range []string{"no-such-key", "../../../../etc/passwd", "' OR '1'='1", strings.Repeat("k", 4096)} {
				f.srv.MutateIDTokens(func(h, c map[string]any) { h["kid"] = kid })
				cb := f.callbackFor(t, aliceID)
				f.srv.ResetRequests()
				err := f.client.HandleCallback(ctx, cb)
				assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
				want := reqs{logtotest.EndpointToken: 1}
				if i == 0 {
					want[logtotest.EndpointJWKS] = 1 // one refetch, then the cooldown holds
				}
				assertRequests(t, f.srv, want)
			}
			f.srv.MutateIDTokens(nil)
			f.srv.ResetRequests()
			f.signIn(t, aliceID)
			assertRequests(t, f.srv, signInReqs)
		}},
		{"header-embedded-jwk-ignored", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			key := attackerKey(t)
			kid := f.srv.SigningKID()
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return signJWT(t, jose.ES384, key, map[string]any{"kid": kid, "jwk": publicJWK(t, key, kid, "ES384")}, c)
			})
			rejectSignIn(t, f, 1)
		}},
		{"header-jku-and-x5u-never-fetched", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			evil := newCounter(t)
			key := attackerKey(t)
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return signJWT(t, jose.ES384, key, map[string]any{"kid": "evil-1", "jku": evil.URL + "/jwks", "x5u": evil.URL + "/cert"}, c)
			})
			rejectSignIn(t, f, 1)
			assert.Zero(t, evil.hits.Load())
		}},
		{"header-unknown-critical-extension", func(t *testing.T) {
			// RFC 7515 4.1.11: a crit extension the recipient does not
			// understand makes the JWS invalid, even correctly signed.
			f := newConformanceFixture(t, nil)
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return f.srv.Sign(map[string]any{"crit": []string{"urn:example:must-understand"}, "urn:example:must-understand": true}, c)
			})
			rejectSignIn(t, f, 1)
		}},
		{"jws-json-serialization-refused", func(t *testing.T) {
			// ID tokens are compact JWS (OIDC Core 2, RFC 7519 7.1); a
			// correctly signed JSON serialization is still refused.
			f := newConformanceFixture(t, nil)
			f.srv.MutateTokenResponses(func(resp map[string]any) {
				jws, err := jose.ParseSignedCompact(resp["id_token"].(string), []jose.SignatureAlgorithm{jose.ES384})
				if err == nil {
					resp["id_token"] = jws.FullSerialize()
				}
			})
			rejectSignIn(t, f, -1)
		}},
		{"token-substitution-access-token-as-id-token", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			replaceIDToken(t, f.srv, func(h, c map[string]any) string {
				return f.srv.Sign(map[string]any{"typ": "at+jwt"}, map[string]any{
					"iss": c["iss"], "sub": c["sub"], "aud": apiResource, "iat": c["iat"], "exp": c["exp"],
					"nonce": c["nonce"], "scope": "read:data", "client_id": appID, "jti": "at-1",
				})
			})
			rejectSignIn(t, f, 1)
		}},
		// Credential leakage into errors and logs.
		{"leak-secrets-in-errors", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			secrets := sessionSecrets(f)
			var errs []error
			f.srv.FailNext(logtotest.EndpointToken, http.StatusBadRequest, `{"error":"invalid_request","error_description":"bad"}`)
			_, err := f.client.GetAccessToken(ctx, apiResource)
			errs = append(errs, err)
			f.srv.FailNext(logtotest.EndpointToken, http.StatusOK, "<html>oops</html>")
			_, err = f.client.GetAccessToken(ctx, apiResource)
			errs = append(errs, err)
			f.srv.FailNext(logtotest.EndpointUserInfo, http.StatusUnauthorized, `{"error":"invalid_token"}`)
			_, err = f.client.FetchUserInfo(ctx)
			errs = append(errs, err)
			f.srv.MutateIDTokens(func(h, c map[string]any) { c["sub"] = bobID })
			f.srv.Advance(2 * time.Hour)
			_, err = f.client.GetAccessToken(ctx, "")
			errs = append(errs, err)
			f.srv.MutateIDTokens(nil)
			wrong := newFixtureWith(t, f.srv, logto.LogtoConfig{Endpoint: f.srv.URL(), AppId: appID, AppSecret: "wrong-secret-value"})
			cb := wrong.callbackFor(t, aliceID)
			err = wrong.client.HandleCallback(ctx, cb)
			errs = append(errs, err)
			secrets = append(secrets, "wrong-secret-value", callbackParam(t, cb, "code"))
			for i, err := range errs {
				require.Error(t, err, "step %d", i)
				assertNoSecrets(t, err, secrets...)
				assert.NotContains(t, fmt.Sprintf("%+v", err), appSecret)
			}
			assert.NotContains(t, fmt.Sprintf("%#v", f.client.Config()), appSecret)
		}},
		{"leak-secrets-in-logs", func(t *testing.T) {
			var logs logBuffer
			f := newConformanceFixture(t, nil, logto.WithLogger(logs.logger()))
			f.signIn(t, aliceID)
			_, err := f.client.GetAccessToken(ctx, apiResource)
			require.NoError(t, err)
			secrets := sessionSecrets(f)
			f.srv.FailNext(logtotest.EndpointRevocation, http.StatusServiceUnavailable, `{"error":"server_error"}`)
			_, err = f.client.SignOut(ctx, postLogout)
			require.NoError(t, err, "revocation is best effort")
			out := logs.String()
			assert.Contains(t, out, "revocation failed", "the failure is logged")
			for _, s := range secrets {
				assert.NotContains(t, out, s)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

// rejectSignIn runs a cold sign-in whose ID token must be refused after
// jwks JWKS requests (-1: not checked), then checks nothing was stored and
// no userinfo request follows.
func rejectSignIn(t *testing.T, f *fixture, jwks int) {
	t.Helper()
	ctx := context.Background()
	cb := f.callbackFor(t, aliceID)
	err := f.client.HandleCallback(ctx, cb)
	assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
	assertNoSecrets(t, err, callbackParam(t, cb, "code"), appSecret)
	_, uiErr := f.client.FetchUserInfo(ctx)
	assert.ErrorIs(t, uiErr, logto.ErrNotAuthenticated)
	assert.Empty(t, f.snapshot())
	if jwks >= 0 {
		assertRequests(t, f.srv, coldSignInReqs.plus(reqs{logtotest.EndpointJWKS: jwks - 1}))
	}
}

func keys(v url.Values) []string {
	out := make([]string, 0, len(v))
	for k := range v {
		out = append(out, k)
	}
	return out
}
