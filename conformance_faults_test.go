package logto_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// faultDeadline bounds calls to endpoints that never answer.
const faultDeadline = 150 * time.Millisecond

// padTo makes doc, once written by logtotest (JSON and a newline), exactly
// size bytes long, with a "padding" member.
func padTo(t testing.TB, doc map[string]any, size int) {
	doc["padding"] = ""
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	doc["padding"] = strings.Repeat("x", size-len(b)-1)
}

// TestConformanceFaultsTokenEndpoint: the token endpoint misbehaves during
// the code exchange. A refused response stores nothing (the transaction is
// spent) and is followed by no other request.
func TestConformanceFaultsTokenEndpoint(t *testing.T) {
	type tc struct {
		id    string
		fault func(t *testing.T, f *fixture)
		// wantIs / wantOAuth describe a refusal; both empty means the
		// sign-in must succeed.
		wantIs    []error
		wantOAuth *logto.OAuthError
		// verified: the response reached ID token verification (one JWKS
		// request).
		verified bool
		deadline bool
		check    func(t *testing.T, f *fixture, err error)
	}
	failNext := func(status int, body string) func(t *testing.T, f *fixture) {
		return func(t *testing.T, f *fixture) { f.srv.FailNext(logtotest.EndpointToken, status, body) }
	}
	mutate := func(fn func(resp map[string]any)) func(t *testing.T, f *fixture) {
		return func(t *testing.T, f *fixture) { f.srv.MutateTokenResponses(fn) }
	}
	cases := []tc{
		{id: "fault-token-error-in-200", fault: failNext(200, `{"error":"invalid_grant","error_description":"code expired"}`),
			wantOAuth: &logto.OAuthError{Code: "invalid_grant", Description: "code expired", StatusCode: 200, Endpoint: "token"}},
		{id: "fault-token-error-beside-tokens-in-200",
			fault:     mutate(func(r map[string]any) { r["error"] = "server_error" }),
			wantOAuth: &logto.OAuthError{Code: "server_error", StatusCode: 200, Endpoint: "token"}},
		{id: "fault-token-html-200", fault: failNext(200, "<!doctype html><html><body>Sign in</body></html>"),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-html-502", fault: failNext(502, "<html><body>Bad Gateway</body></html>"),
			wantIs: []error{logto.ErrInvalidResponse},
			check:  func(t *testing.T, f *fixture, err error) { assert.Contains(t, err.Error(), "HTTP 502") }},
		{id: "fault-token-garbage", fault: failNext(200, "\x00\xff\xfe\x01garbage"), wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-empty-200", fault: failNext(200, ""), wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-json-null", fault: failNext(200, "null"), wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-json-array", fault: failNext(200, `[{"access_token":"a"}]`), wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-truncated-json", fault: failNext(200, `{"access_token":"abc","token_type":"Bea`),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-truncated-transfer", wantIs: []error{io.ErrUnexpectedEOF},
			fault: func(t *testing.T, f *fixture) {
				f.srv.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Length", "4096")
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write([]byte(`{"access_token":"abc","token_type":"Bearer",`))
				})
			}},
		{id: "fault-token-body-over-cap", wantIs: []error{logto.ErrResponseTooLarge},
			fault: mutate(func(r map[string]any) { padTo(t, r, logto.DefaultMaxResponseBytes+1) })},
		{id: "fault-token-body-at-cap", verified: true,
			fault: mutate(func(r map[string]any) { padTo(t, r, logto.DefaultMaxResponseBytes) })},
		{id: "fault-token-missing-access-token", fault: mutate(func(r map[string]any) { delete(r, "access_token") }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-missing-id-token", fault: mutate(func(r map[string]any) { delete(r, "id_token") }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-missing-token-type", fault: mutate(func(r map[string]any) { delete(r, "token_type") }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-token-type-not-bearer", fault: mutate(func(r map[string]any) { r["token_type"] = "mac" }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-token-type-lowercase", verified: true,
			fault: mutate(func(r map[string]any) { r["token_type"] = "bearer" })},
		{id: "fault-token-access-token-not-a-string", fault: mutate(func(r map[string]any) { r["access_token"] = 42 }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-id-token-not-a-string", fault: mutate(func(r map[string]any) { r["id_token"] = map[string]any{"sub": bobID} }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-id-token-garbage", fault: mutate(func(r map[string]any) { r["id_token"] = "garbage" }),
			wantIs: []error{logto.ErrInvalidIDToken}},
		{id: "fault-token-expires-in-negative", fault: mutate(func(r map[string]any) { r["expires_in"] = -5 }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-expires-in-huge", fault: mutate(func(r map[string]any) { r["expires_in"] = 1e300 }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-expires-in-string", verified: true,
			fault: mutate(func(r map[string]any) { r["expires_in"] = "3600" }),
			check: func(t *testing.T, f *fixture, err error) {
				var m map[string]struct{ ExpiresAt int64 }
				require.NoError(t, json.Unmarshal([]byte(f.snapshot()[logto.StorageKeyAccessTokens]), &m))
				assert.Equal(t, f.srv.Now().Unix()+3600, m[""].ExpiresAt)
			}},
		{id: "fault-token-expires-in-missing", fault: mutate(func(r map[string]any) { delete(r, "expires_in") }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-expires-in-zero", fault: mutate(func(r map[string]any) { r["expires_in"] = 0 }),
			wantIs: []error{logto.ErrInvalidResponse}},
		{id: "fault-token-unknown-members", verified: true,
			fault: mutate(func(r map[string]any) { r["x-extra"] = map[string]any{"nested": []any{1, "two"}} })},
		{id: "fault-token-redirect-302", wantIs: []error{logto.ErrInvalidResponse},
			fault: func(t *testing.T, f *fixture) {
				evil := newCounter(t)
				f.srv.Intercept(logtotest.EndpointToken, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
					http.Redirect(w, r, evil.URL+"/token", http.StatusFound)
				})
				t.Cleanup(func() { assert.Zero(t, evil.hits.Load(), "the redirect was not followed") })
			}},
		{id: "fault-token-never-answers", wantIs: []error{context.DeadlineExceeded}, deadline: true,
			fault: func(t *testing.T, f *fixture) { f.srv.Stall(logtotest.EndpointToken) }},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID)
			c.fault(t, f)
			f.srv.ResetRequests()
			ctx := context.Background()
			if c.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, faultDeadline)
				defer cancel()
			}
			start := time.Now()
			err := f.client.HandleCallback(ctx, cb)
			if c.deadline {
				assert.Less(t, time.Since(start), 5*time.Second, "the caller's deadline wins")
			}
			want := reqs{logtotest.EndpointToken: 1}
			if c.verified {
				want[logtotest.EndpointJWKS] = 1
			}
			if len(c.wantIs) == 0 && c.wantOAuth == nil {
				require.NoError(t, err)
				assert.True(t, f.client.IsAuthenticated(context.Background()))
				assertRequests(t, f.srv, want)
			} else {
				require.Error(t, err)
				for _, e := range c.wantIs {
					assert.ErrorIs(t, err, e)
				}
				if c.wantOAuth != nil {
					var oe *logto.OAuthError
					require.ErrorAs(t, err, &oe)
					assert.Equal(t, c.wantOAuth, oe)
				}
				assert.False(t, f.client.IsAuthenticated(context.Background()))
				assert.Empty(t, f.snapshot(), "nothing stored; the transaction is spent")
				assertNoSecrets(t, err, callbackParam(t, cb, "code"), appSecret)
				assertRequests(t, f.srv, want)
			}
			if c.check != nil {
				c.check(t, f, err)
			}
		})
	}
}

// TestConformanceFaultsSignedIn: faults met by a signed-in session
// (refresh, user info, sign-out). Only invalid_grant ends the session;
// every other failure leaves storage exactly as it was.
func TestConformanceFaultsSignedIn(t *testing.T) {
	type tc struct {
		id       string
		fault    func(t *testing.T, f *fixture)
		act      func(ctx context.Context, f *fixture) error
		deadline bool
		wantIs   []error
		oauth    string // OAuthError code, if any
		want     reqs
		cleared  bool // storage must be empty afterwards (else unchanged)
	}
	refresh := func(ctx context.Context, f *fixture) error {
		f.srv.Advance(2 * time.Hour)
		_, err := f.client.GetAccessToken(ctx, apiResource)
		return err
	}
	userinfo := func(ctx context.Context, f *fixture) error {
		_, err := f.client.FetchUserInfo(ctx)
		return err
	}
	failNext := func(e logtotest.Endpoint, status int, body string) func(t *testing.T, f *fixture) {
		return func(t *testing.T, f *fixture) { f.srv.FailNext(e, status, body) }
	}
	token1 := reqs{logtotest.EndpointToken: 1}
	ui1 := reqs{logtotest.EndpointUserInfo: 1}
	cases := []tc{
		{id: "fault-refresh-server-error-keeps-session", act: refresh, want: token1, oauth: "server_error",
			fault: failNext(logtotest.EndpointToken, 500, `{"error":"server_error","error_description":"oops"}`)},
		{id: "fault-refresh-html-keeps-session", act: refresh, want: token1, wantIs: []error{logto.ErrInvalidResponse},
			fault: failNext(logtotest.EndpointToken, 503, "<html>maintenance</html>")},
		{id: "fault-refresh-invalid-grant-in-200-ends-session", act: refresh, want: token1, cleared: true,
			wantIs: []error{logto.ErrSessionExpired}, oauth: "invalid_grant",
			fault: failNext(logtotest.EndpointToken, 200, `{"error":"invalid_grant"}`)},
		{id: "fault-refresh-over-cap-keeps-session", act: refresh, want: token1, wantIs: []error{logto.ErrResponseTooLarge},
			fault: func(t *testing.T, f *fixture) {
				f.srv.MutateTokenResponses(func(r map[string]any) { padTo(t, r, logto.DefaultMaxResponseBytes+1) })
			}},
		{id: "fault-refresh-expires-in-missing-keeps-session", act: refresh, want: token1, wantIs: []error{logto.ErrInvalidResponse},
			fault: func(t *testing.T, f *fixture) {
				f.srv.MutateTokenResponses(func(r map[string]any) { delete(r, "expires_in") })
			}},
		{id: "fault-refresh-never-answers-keeps-session", act: refresh, want: token1, deadline: true,
			wantIs: []error{context.DeadlineExceeded},
			fault:  func(t *testing.T, f *fixture) { f.srv.Stall(logtotest.EndpointToken) }},
		{id: "fault-userinfo-html-200", act: userinfo, want: ui1, wantIs: []error{logto.ErrInvalidResponse},
			fault: failNext(logtotest.EndpointUserInfo, 200, "<html>hi</html>")},
		{id: "fault-userinfo-server-error", act: userinfo, want: ui1, oauth: "server_error",
			fault: failNext(logtotest.EndpointUserInfo, 500, `{"error":"server_error"}`)},
		{id: "fault-userinfo-401-without-body", act: userinfo, want: ui1, wantIs: []error{logto.ErrInvalidResponse},
			fault: failNext(logtotest.EndpointUserInfo, 401, "")},
		{id: "fault-userinfo-without-sub", act: userinfo, want: ui1, wantIs: []error{logto.ErrInvalidResponse},
			fault: func(t *testing.T, f *fixture) { f.srv.MutateUserInfo(func(c map[string]any) { delete(c, "sub") }) }},
		{id: "fault-userinfo-json-array", act: userinfo, want: ui1, wantIs: []error{logto.ErrInvalidResponse},
			fault: failNext(logtotest.EndpointUserInfo, 200, `[{"sub":"user-alice"}]`)},
		{id: "fault-userinfo-over-cap", act: userinfo, want: ui1, wantIs: []error{logto.ErrResponseTooLarge},
			fault: func(t *testing.T, f *fixture) {
				f.srv.MutateUserInfo(func(c map[string]any) { padTo(t, c, logto.DefaultMaxResponseBytes+1) })
			}},
		{id: "fault-userinfo-never-answers", act: userinfo, want: ui1, deadline: true,
			wantIs: []error{context.DeadlineExceeded},
			fault:  func(t *testing.T, f *fixture) { f.srv.Stall(logtotest.EndpointUserInfo) }},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			before := f.snapshot()
			secrets := sessionSecrets(f)
			c.fault(t, f)
			f.srv.ResetRequests()
			ctx := context.Background()
			if c.deadline {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, faultDeadline)
				defer cancel()
			}
			start := time.Now()
			err := c.act(ctx, f)
			assert.Less(t, time.Since(start), 5*time.Second)
			require.Error(t, err)
			for _, e := range c.wantIs {
				assert.ErrorIs(t, err, e)
			}
			if c.oauth != "" {
				var oe *logto.OAuthError
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, c.oauth, oe.Code)
			}
			if c.cleared {
				assert.Empty(t, f.snapshot())
			} else {
				assert.NotErrorIs(t, err, logto.ErrSessionExpired)
				assert.Equal(t, before, f.snapshot(), "storage unchanged")
			}
			assertNoSecrets(t, err, secrets...)
			assertRequests(t, f.srv, c.want)
		})
	}

	t.Run("fault-refresh-response-without-refresh-token-keeps-it", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		f := newConformanceFixture(t, nil)
		f.signIn(t, aliceID)
		rt, _ := f.client.GetRefreshToken(ctx)
		idt, _ := f.client.GetIdToken(ctx)
		f.srv.MutateTokenResponses(func(r map[string]any) { delete(r, "refresh_token"); delete(r, "id_token") })
		f.srv.ResetRequests()
		_, err := f.client.GetAccessToken(ctx, apiResource)
		require.NoError(t, err)
		assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
		rt2, _ := f.client.GetRefreshToken(ctx)
		idt2, _ := f.client.GetIdToken(ctx)
		assert.Equal(t, rt, rt2)
		assert.Equal(t, idt, idt2, "no new ID token: the old one is kept")
	})

	t.Run("fault-revocation-never-answers", func(t *testing.T) {
		t.Parallel()
		var logs logBuffer
		f := newConformanceFixture(t, nil, logto.WithLogger(logs.logger()))
		f.signIn(t, aliceID)
		f.srv.Stall(logtotest.EndpointRevocation)
		f.srv.ResetRequests()
		ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
		defer cancel()
		start := time.Now()
		u, err := f.client.SignOut(ctx, postLogout)
		assert.Less(t, time.Since(start), 5*time.Second)
		require.NoError(t, err, "revocation is best effort; the local sign-out completes")
		assert.True(t, strings.HasPrefix(u, f.srv.Issuer()+"/session/end?"))
		assert.Empty(t, f.snapshot())
		assert.Contains(t, logs.String(), "revocation failed")
		assertRequests(t, f.srv, reqs{logtotest.EndpointRevocation: 1})
	})
}

// TestConformanceFaultsDiscoveryAndKeys: the discovery document and the key
// set misbehave. A failed discovery is not cached; keys already held keep
// working while the key set is down.
func TestConformanceFaultsDiscoveryAndKeys(t *testing.T) {
	ctx := context.Background()
	discovery := []struct {
		id       string
		fault    func(t *testing.T, f *fixture)
		wantIs   []error
		deadline bool
	}{
		{id: "fault-discovery-html", fault: func(t *testing.T, f *fixture) {
			f.srv.FailNext(logtotest.EndpointDiscovery, 200, "<html>login</html>")
		}},
		{id: "fault-discovery-server-error", fault: func(t *testing.T, f *fixture) {
			f.srv.FailNext(logtotest.EndpointDiscovery, 500, `{"error":"server_error"}`)
		}},
		{id: "fault-discovery-garbage", fault: func(t *testing.T, f *fixture) {
			f.srv.FailNext(logtotest.EndpointDiscovery, 200, "\x1f\x8b\x08garbage")
		}},
		{id: "fault-discovery-missing-token-endpoint", fault: func(t *testing.T, f *fixture) {
			f.srv.MutateDiscovery(func(d map[string]any) { delete(d, "token_endpoint"); f.srv.MutateDiscovery(nil) })
		}},
		{id: "fault-discovery-over-cap", wantIs: []error{logto.ErrResponseTooLarge}, fault: func(t *testing.T, f *fixture) {
			f.srv.MutateDiscovery(func(d map[string]any) { padTo(t, d, logto.DefaultMaxResponseBytes+1); f.srv.MutateDiscovery(nil) })
		}},
		{id: "fault-discovery-redirect", fault: func(t *testing.T, f *fixture) {
			evil := newCounter(t)
			f.srv.Intercept(logtotest.EndpointDiscovery, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				f.srv.Intercept(logtotest.EndpointDiscovery, nil)
				http.Redirect(w, r, evil.URL+"/.well-known/openid-configuration", http.StatusMovedPermanently)
			})
			t.Cleanup(func() { assert.Zero(t, evil.hits.Load()) })
		}},
		{id: "fault-discovery-never-answers", wantIs: []error{context.DeadlineExceeded}, deadline: true,
			fault: func(t *testing.T, f *fixture) { f.srv.Stall(logtotest.EndpointDiscovery) }},
	}
	for _, c := range discovery {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			f := newConformanceFixture(t, nil)
			c.fault(t, f)
			cctx := ctx
			if c.deadline {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, faultDeadline)
				defer cancel()
			}
			u, err := f.client.SignIn(cctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrDiscovery)
			for _, e := range c.wantIs {
				assert.ErrorIs(t, err, e)
			}
			assert.Empty(t, u)
			assert.Empty(t, f.snapshot())
			assertRequests(t, f.srv, reqs{logtotest.EndpointDiscovery: 1})
			// The failure is not cached: once the provider recovers, the
			// next call fetches the configuration again and works.
			f.srv.Resume(logtotest.EndpointDiscovery)
			f.srv.ResetRequests()
			f.signIn(t, aliceID)
			assertRequests(t, f.srv, coldSignInReqs)
		})
	}

	t.Run("fault-jwks-outage-keeps-held-keys", func(t *testing.T) {
		t.Parallel()
		f := newConformanceFixture(t, nil)
		f.signIn(t, aliceID)
		f.srv.Advance(logto.DefaultJWKSRefreshCooldown + time.Second)
		f.srv.Intercept(logtotest.EndpointJWKS, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			http.Error(w, "down", http.StatusServiceUnavailable)
		})
		// A token signed with a held key needs no key request.
		f.srv.ResetRequests()
		f.signIn(t, aliceID)
		assertRequests(t, f.srv, signInReqs)
		// An unknown key id triggers one refetch, which fails: refused.
		f.srv.MutateIDTokens(func(h, c map[string]any) { h["kid"] = "rotated-away" })
		cb := f.callbackFor(t, aliceID)
		f.srv.ResetRequests()
		err := f.client.HandleCallback(ctx, cb)
		assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
		assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
		// The keys held before the failed refetch still verify.
		f.srv.MutateIDTokens(nil)
		f.srv.ResetRequests()
		f.signIn(t, aliceID)
		assertRequests(t, f.srv, signInReqs)
	})

	t.Run("fault-jwks-first-fetch-outage-waits-for-cooldown", func(t *testing.T) {
		t.Parallel()
		f := newConformanceFixture(t, nil)
		f.srv.FailNext(logtotest.EndpointJWKS, http.StatusServiceUnavailable, "down")
		cb := f.callbackFor(t, aliceID)
		err := f.client.HandleCallback(ctx, cb)
		assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
		assert.Contains(t, err.Error(), "503")
		// Within the cooldown no new fetch is made (an outage is not
		// hammered); after it, the keys are fetched and sign-ins work.
		cb = f.callbackFor(t, aliceID)
		f.srv.ResetRequests()
		assert.ErrorIs(t, f.client.HandleCallback(ctx, cb), logto.ErrInvalidIDToken)
		assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
		f.srv.Advance(logto.DefaultJWKSRefreshCooldown)
		f.srv.ResetRequests()
		f.signIn(t, aliceID)
		assertRequests(t, f.srv, signInReqs.plus(reqs{logtotest.EndpointJWKS: 1}))
	})

	t.Run("fault-jwks-never-answers", func(t *testing.T) {
		t.Parallel()
		f := newConformanceFixture(t, nil)
		f.srv.Stall(logtotest.EndpointJWKS)
		cb := f.callbackFor(t, aliceID)
		f.srv.ResetRequests()
		dctx, cancel := context.WithTimeout(ctx, faultDeadline)
		defer cancel()
		start := time.Now()
		err := f.client.HandleCallback(dctx, cb)
		assert.Less(t, time.Since(start), 5*time.Second)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Empty(t, f.snapshot())
		assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
		// A fetch the caller abandoned is no outage: the next sign-in
		// fetches the keys at once instead of waiting for the cooldown.
		f.srv.Resume(logtotest.EndpointJWKS)
		f.srv.ResetRequests()
		f.signIn(t, aliceID)
		assertRequests(t, f.srv, signInReqs.plus(reqs{logtotest.EndpointJWKS: 1}))
	})

	for _, c := range []struct {
		id     string
		mutate func(t *testing.T, doc map[string]any)
		wantIs []error
	}{
		{id: "fault-jwks-malformed-keys-skipped", mutate: func(t *testing.T, doc map[string]any) {
			doc["keys"] = append([]any{
				map[string]any{"kty": "EC", "crv": "P-384", "x": "!!!", "y": "???", "kid": "bad-b64"},
				map[string]any{"kty": "EC", "crv": "P-999", "x": "AA", "y": "AA", "kid": "bad-curve"},
				map[string]any{"kty": "RSA", "n": "", "e": "AQAB", "kid": "empty-n"},
				map[string]any{"kty": "oct", "k": "c2VjcmV0", "kid": "symmetric"},
				"not an object", 42, nil,
			}, doc["keys"].([]any)...)
		}},
		{id: "fault-jwks-no-usable-key", wantIs: []error{logto.ErrInvalidIDToken}, mutate: func(t *testing.T, doc map[string]any) {
			doc["keys"] = []any{map[string]any{"kty": "oct", "k": "c2VjcmV0"}, map[string]any{"kty": "EC", "crv": "P-384"}}
		}},
		{id: "fault-jwks-keys-not-an-array", wantIs: []error{logto.ErrInvalidIDToken}, mutate: func(t *testing.T, doc map[string]any) {
			doc["keys"] = map[string]any{"kty": "EC"}
		}},
		{id: "fault-jwks-over-cap", wantIs: []error{logto.ErrInvalidIDToken, logto.ErrResponseTooLarge},
			mutate: func(t *testing.T, doc map[string]any) { padTo(t, doc, logto.DefaultMaxResponseBytes+1) }},
	} {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			f := newConformanceFixture(t, nil)
			f.srv.MutateJWKS(func(doc map[string]any) { c.mutate(t, doc) })
			cb := f.callbackFor(t, aliceID)
			f.srv.ResetRequests()
			err := f.client.HandleCallback(ctx, cb)
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
			if len(c.wantIs) == 0 {
				require.NoError(t, err)
				return
			}
			for _, e := range c.wantIs {
				assert.ErrorIs(t, err, e)
			}
			assert.Empty(t, f.snapshot())
		})
	}

	t.Run("fault-jwks-html", func(t *testing.T) {
		t.Parallel()
		f := newConformanceFixture(t, nil)
		f.srv.FailNext(logtotest.EndpointJWKS, 200, "<html>maintenance</html>")
		cb := f.callbackFor(t, aliceID)
		f.srv.ResetRequests()
		err := f.client.HandleCallback(ctx, cb)
		assert.ErrorIs(t, err, logto.ErrInvalidIDToken)
		assert.False(t, errors.Is(err, logto.ErrDiscovery))
		assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1, logtotest.EndpointJWKS: 1})
		assert.Empty(t, f.snapshot())
	})
}
