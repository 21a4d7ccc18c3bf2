package logto_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// TestConformanceStorage: the session Storage holds corrupted, truncated or
// foreign values, or fails. Unreadable values are errors (ErrStorage) left
// in place for the application to inspect, never silently replaced by a
// request to Logto; a sign-in whose writes fail reports failure and leaves
// the session as it was, never half the tokens.
func TestConformanceStorage(t *testing.T) {
	ctx := context.Background()
	type tc struct {
		id  string
		run func(t *testing.T)
	}
	// corrupt signs alice in, replaces key with value and returns the
	// fixture, requests reset.
	corrupt := func(t *testing.T, key, value string) *fixture {
		f := newConformanceFixture(t, nil)
		f.signIn(t, aliceID)
		require.NoError(t, f.store.Set(ctx, key, value))
		f.srv.ResetRequests()
		return f
	}
	foreignIDToken := func(f *fixture) string {
		// Well formed and signed, but by another tenant for another app.
		return f.srv.Sign(nil, map[string]any{
			"iss": "https://other-tenant.example/oidc", "sub": bobID, "aud": "other-app",
			"iat": f.srv.Now().Unix(), "exp": f.srv.Now().Add(time.Hour).Unix(),
		})
	}
	cases := []tc{}
	for _, v := range []struct{ id, value string }{
		{"storage-corrupted-id-token", "not.a.jwt"},
		{"storage-truncated-id-token", ""}, // filled below
		{"storage-foreign-id-token", ""},   // filled below
	} {
		cases = append(cases, tc{v.id, func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			f.signIn(t, aliceID)
			value := v.value
			switch v.id {
			case "storage-truncated-id-token":
				idt, _ := f.client.GetIdToken(ctx)
				value = idt[:len(idt)/2]
			case "storage-foreign-id-token":
				value = foreignIDToken(f)
			}
			require.NoError(t, f.store.Set(ctx, logto.StorageKeyIDToken, value))
			// A fresh client: nothing cached from the sign-in.
			c := f.client.WithStorage(f.store)
			f.srv.ResetRequests()
			assert.False(t, c.IsAuthenticated(ctx), "an unreadable ID token is no session")
			_, err := c.GetIdTokenClaims(ctx)
			assert.ErrorIs(t, err, logto.ErrStorage)
			_, err = c.FetchUserInfo(ctx)
			assert.ErrorIs(t, err, logto.ErrStorage, "the userinfo subject cannot be checked")
			f.srv.Advance(2 * time.Hour)
			_, err = c.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrStorage, "a refresh cannot check the subject it keeps")
			assertRequests(t, f.srv, reqs{})
			v2, _ := f.store.Get(ctx, logto.StorageKeyIDToken)
			assert.Equal(t, value, v2, "left in place")
		}})
	}
	cases = append(cases,
		tc{"storage-corrupted-access-token-cache", func(t *testing.T) {
			f := corrupt(t, logto.StorageKeyAccessTokens, "{not json")
			_, err := f.client.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrStorage)
			_, err = f.client.FetchUserInfo(ctx)
			assert.ErrorIs(t, err, logto.ErrStorage)
			assertRequests(t, f.srv, reqs{})
			v, _ := f.store.Get(ctx, logto.StorageKeyAccessTokens)
			assert.Equal(t, "{not json", v)
		}},
		tc{"storage-foreign-access-token-cache", func(t *testing.T) {
			for _, value := range []string{`["a","b"]`, `{"":"a string"}`, `{"":{"token":5}}`, `{"":{"expiresAt":"soon"}}`} {
				f := corrupt(t, logto.StorageKeyAccessTokens, value)
				_, err := f.client.GetAccessToken(ctx, "")
				assert.ErrorIs(t, err, logto.ErrStorage, value)
				assertRequests(t, f.srv, reqs{})
			}
		}},
		tc{"storage-truncated-sign-in-session", func(t *testing.T) {
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID)
			raw := f.snapshot()[logto.StorageKeySignInSession]
			require.NoError(t, f.store.Set(ctx, logto.StorageKeySignInSession, raw[:len(raw)/2]))
			f.srv.ResetRequests()
			err := f.client.HandleCallback(ctx, cb)
			assert.ErrorIs(t, err, logto.ErrStorage)
			assertRequests(t, f.srv, reqs{})
			assert.False(t, f.client.IsAuthenticated(ctx))
			// A new sign-in drops the unreadable list and starts afresh.
			f.signIn(t, aliceID)
		}},
		tc{"storage-foreign-sign-in-session", func(t *testing.T) {
			for _, value := range []string{`{"state":"x"}`, `[{"state":1}]`, `"text"`} {
				f := newConformanceFixture(t, nil)
				cb := f.callbackFor(t, aliceID)
				require.NoError(t, f.store.Set(ctx, logto.StorageKeySignInSession, value))
				f.srv.ResetRequests()
				assert.ErrorIs(t, f.client.HandleCallback(ctx, cb), logto.ErrStorage, value)
				assertRequests(t, f.srv, reqs{})
			}
		}},
		tc{"storage-forged-transaction-without-state", func(t *testing.T) {
			// A stored transaction with an empty state never matches a
			// callback without state.
			f := newConformanceFixture(t, nil)
			cb := f.callbackFor(t, aliceID)
			require.NoError(t, f.store.Set(ctx, logto.StorageKeySignInSession,
				`[{"state":"","nonce":"n","codeVerifier":"v","redirectUri":"`+redirectURI+`","issuer":"`+f.srv.Issuer()+`","createdAt":`+strconv.FormatInt(f.srv.Now().Unix(), 10)+`}]`))
			f.srv.ResetRequests()
			assert.ErrorIs(t, f.client.HandleCallback(ctx, setParam(t, cb, "state", "")), logto.ErrSignInSessionNotFound)
			assertRequests(t, f.srv, reqs{})
		}},
		tc{"storage-garbage-refresh-token", func(t *testing.T) {
			f := corrupt(t, logto.StorageKeyRefreshToken, "garbage\x00refresh")
			f.srv.Advance(2 * time.Hour)
			_, err := f.client.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrSessionExpired, "Logto refuses it: the session is over")
			assertRequests(t, f.srv, reqs{logtotest.EndpointToken: 1})
			assert.Empty(t, f.snapshot())
		}},
	)
	// Write failures during the callback: every key, on a fresh session
	// and on a session that already holds another user's tokens.
	for _, key := range []string{logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeyIDToken} {
		for _, prior := range []bool{false, true} {
			id := "storage-write-fails-at-callback-" + key
			if prior {
				id += "-over-existing-session"
			}
			cases = append(cases, tc{id, func(t *testing.T) {
				srv := newProvider(t)
				store := newFaultyStorage()
				c, err := logto.NewLogtoClient(logto.LogtoConfig{
					Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret, Scopes: allScopes(), Resources: []string{apiResource},
				}, store, logto.WithClock(srv.Now))
				require.NoError(t, err)
				if prior {
					signInAs(t, srv, c, bobID)
				}
				before := storedTokens(snapshotOf(store))
				u, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
				require.NoError(t, err)
				cb, err := srv.Authorize(u, aliceID)
				require.NoError(t, err)
				store.fail(nil, []string{key}, nil)
				srv.ResetRequests()
				err = c.HandleCallback(ctx, cb)
				assert.ErrorIs(t, err, logto.ErrStorage)
				assert.ErrorIs(t, err, errInjected)
				assert.Equal(t, before, storedTokens(snapshotOf(store)), "the session is exactly as before")
				assert.Equal(t, prior, c.IsAuthenticated(ctx))
				if prior {
					claims, err := c.GetIdTokenClaims(ctx)
					require.NoError(t, err)
					assert.Equal(t, bobID, claims.Subject, "never a mix of two users' tokens")
				}
				want := reqs{logtotest.EndpointToken: 1}
				if !prior {
					want[logtotest.EndpointJWKS] = 1 // first verification
				}
				assertRequests(t, srv, want)
			}})
		}
	}
	cases = append(cases,
		tc{"storage-write-fails-at-sign-in", func(t *testing.T) {
			srv := newProvider(t)
			store := newFaultyStorage()
			store.fail(nil, []string{logto.StorageKeySignInSession}, nil)
			c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret}, store, logto.WithClock(srv.Now))
			require.NoError(t, err)
			u, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			assert.ErrorIs(t, err, logto.ErrStorage)
			assert.ErrorIs(t, err, errInjected)
			assert.Empty(t, u, "no URL to a sign-in that could never complete")
			assert.Empty(t, snapshotOf(store))
		}},
		tc{"storage-read-fails", func(t *testing.T) {
			srv := newProvider(t)
			store := newFaultyStorage()
			c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
				Resources: []string{apiResource}}, store, logto.WithClock(srv.Now))
			require.NoError(t, err)
			signInAs(t, srv, c, aliceID)
			u, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			require.NoError(t, err)
			cb, err := srv.Authorize(u, aliceID)
			require.NoError(t, err)
			store.fail([]string{logto.StorageKeyIDToken, logto.StorageKeyAccessTokens, logto.StorageKeySignInSession}, nil, nil)
			srv.ResetRequests()
			assert.False(t, c.IsAuthenticated(ctx))
			_, err = c.GetIdToken(ctx)
			assert.ErrorIs(t, err, logto.ErrStorage)
			_, err = c.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrStorage)
			_, err = c.FetchUserInfo(ctx)
			assert.ErrorIs(t, err, logto.ErrStorage)
			err = c.HandleCallback(ctx, cb)
			assert.ErrorIs(t, err, logto.ErrStorage)
			assertRequests(t, srv, reqs{})
			// The userinfo subject check must not be skipped when only the
			// ID token is unreadable.
			store.heal()
			store.fail([]string{logto.StorageKeyIDToken}, nil, nil)
			_, err = c.FetchUserInfo(ctx)
			assert.ErrorIs(t, err, logto.ErrStorage)
		}},
		tc{"storage-write-fails-at-refresh", func(t *testing.T) {
			srv := newProvider(t)
			store := newFaultyStorage()
			c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
				Resources: []string{apiResource}}, store, logto.WithClock(srv.Now))
			require.NoError(t, err)
			signInAs(t, srv, c, aliceID)
			before := snapshotOf(store)
			store.fail(nil, []string{logto.StorageKeyAccessTokens}, nil)
			srv.ResetRequests()
			tok, err := c.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrStorage)
			assert.Empty(t, tok, "no token handed out that the session could not keep")
			assertRequests(t, srv, reqs{logtotest.EndpointToken: 1})
			after := snapshotOf(store)
			assert.Equal(t, before[logto.StorageKeyRefreshToken], after[logto.StorageKeyRefreshToken])
			assert.Equal(t, before[logto.StorageKeyAccessTokens], after[logto.StorageKeyAccessTokens])
			assert.Equal(t, aliceID, jwtPart(t, after[logto.StorageKeyIDToken], 1)["sub"])
		}},
		tc{"storage-delete-fails-at-sign-out", func(t *testing.T) {
			srv := newProvider(t)
			store := newFaultyStorage()
			c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret}, store, logto.WithClock(srv.Now))
			require.NoError(t, err)
			signInAs(t, srv, c, aliceID)
			rt, _ := c.GetRefreshToken(ctx)
			store.fail(nil, nil, []string{logto.StorageKeyIDToken})
			srv.ResetRequests()
			u, err := c.SignOut(ctx, postLogout)
			assert.ErrorIs(t, err, logto.ErrStorage)
			assert.ErrorIs(t, err, errInjected)
			assert.Empty(t, u, "no end-session redirect while the session could not be cleared")
			assert.False(t, srv.RefreshTokenActive(rt), "revoked at Logto anyway")
			assert.Equal(t, []string{logto.StorageKeyIDToken}, keysOf(snapshotOf(store)))
			assertRequests(t, srv, reqs{logtotest.EndpointRevocation: 1})
		}},
		tc{"storage-delete-fails-on-invalid-grant", func(t *testing.T) {
			srv := newProvider(t)
			store := newFaultyStorage()
			c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
				Resources: []string{apiResource}}, store, logto.WithClock(srv.Now))
			require.NoError(t, err)
			signInAs(t, srv, c, aliceID)
			srv.RevokeGrantsOf(aliceID)
			store.fail(nil, nil, []string{logto.StorageKeyAccessTokens})
			_, err = c.GetAccessToken(ctx, apiResource)
			assert.ErrorIs(t, err, logto.ErrSessionExpired)
			assert.ErrorIs(t, err, logto.ErrStorage)
			assert.False(t, c.IsAuthenticated(ctx), "the ID token is gone even if the cache could not be deleted")
		}},
	)
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestStorageErrorNamesOpAndKey: every failing Storage call, and every
// stored value that cannot be read, is reported as a *StorageError that
// matches ErrStorage, names the operation and the key, and keeps the
// Storage's own error in the chain.
func TestStorageErrorNamesOpAndKey(t *testing.T) {
	ctx := context.Background()
	type env struct {
		srv   *logtotest.Server
		c     *logto.LogtoClient
		store *faultyStorage
	}
	// now breaks the store and makes call; callback first starts a
	// sign-in, then breaks the store and handles the callback.
	now := func(call func(e env) error) func(env, func()) error {
		return func(e env, breakStore func()) error { breakStore(); return call(e) }
	}
	callback := func(t *testing.T) func(env, func()) error {
		return func(e env, breakStore func()) error {
			u, err := e.c.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
			require.NoError(t, err)
			cb, err := e.srv.Authorize(u, aliceID)
			require.NoError(t, err)
			breakStore()
			return e.c.HandleCallback(ctx, cb)
		}
	}
	getAccessToken := now(func(e env) error { _, err := e.c.GetAccessToken(ctx, apiResource); return err })
	expiredGetAccessToken := func(e env, breakStore func()) error {
		e.srv.Advance(2 * time.Hour)
		return getAccessToken(e, breakStore)
	}
	corrupt := func(key, value string) func(*faultyStorage) {
		return func(s *faultyStorage) { _ = s.MemoryStorage.Set(ctx, key, value) }
	}
	failGet := func(key string) func(*faultyStorage) {
		return func(s *faultyStorage) { s.fail([]string{key}, nil, nil) }
	}
	failSet := func(key string) func(*faultyStorage) {
		return func(s *faultyStorage) { s.fail(nil, []string{key}, nil) }
	}
	failDel := func(key string) func(*faultyStorage) {
		return func(s *faultyStorage) { s.fail(nil, nil, []string{key}) }
	}
	tests := []struct {
		name     string
		signedIn bool
		breaks   func(*faultyStorage)
		call     func(t *testing.T) func(env, func()) error
		op, key  string
		injected bool // the Storage's error is in the chain
	}{
		{"SignIn writes the pending sign-ins", false, failSet(logto.StorageKeySignInSession),
			func(*testing.T) func(env, func()) error {
				return now(func(e env) error {
					_, err := e.c.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI})
					return err
				})
			}, "write", logto.StorageKeySignInSession, true},
		{"HandleCallback reads the pending sign-ins", false, failGet(logto.StorageKeySignInSession), callback, "read", logto.StorageKeySignInSession, true},
		{"HandleCallback decodes the pending sign-ins", false, corrupt(logto.StorageKeySignInSession, "[{"), callback, "decode", logto.StorageKeySignInSession, false},
		{"HandleCallback reads the tokens to restore", false, failGet(logto.StorageKeyRefreshToken), callback, "read", logto.StorageKeyRefreshToken, true},
		{"HandleCallback writes the refresh token", false, failSet(logto.StorageKeyRefreshToken), callback, "write", logto.StorageKeyRefreshToken, true},
		{"HandleCallback writes the ID token", true, failSet(logto.StorageKeyIDToken), callback, "write", logto.StorageKeyIDToken, true},
		{"GetIdToken", true, failGet(logto.StorageKeyIDToken),
			func(*testing.T) func(env, func()) error {
				return now(func(e env) error { _, err := e.c.GetIdToken(ctx); return err })
			}, "read", logto.StorageKeyIDToken, true},
		{"GetRefreshToken", true, failGet(logto.StorageKeyRefreshToken),
			func(*testing.T) func(env, func()) error {
				return now(func(e env) error { _, err := e.c.GetRefreshToken(ctx); return err })
			}, "read", logto.StorageKeyRefreshToken, true},
		{"GetIdTokenClaims of a corrupted ID token", true, corrupt(logto.StorageKeyIDToken, "not.a.jwt"),
			func(*testing.T) func(env, func()) error {
				return now(func(e env) error { _, err := e.c.WithStorage(e.store).GetIdTokenClaims(ctx); return err })
			}, "decode", logto.StorageKeyIDToken, false},
		{"GetAccessToken reads the token cache", true, failGet(logto.StorageKeyAccessTokens),
			func(*testing.T) func(env, func()) error { return getAccessToken }, "read", logto.StorageKeyAccessTokens, true},
		{"GetAccessToken decodes the token cache", true, corrupt(logto.StorageKeyAccessTokens, "{not json"),
			func(*testing.T) func(env, func()) error { return getAccessToken }, "decode", logto.StorageKeyAccessTokens, false},
		{"a refresh reads the refresh token", true, failGet(logto.StorageKeyRefreshToken),
			func(*testing.T) func(env, func()) error { return expiredGetAccessToken }, "read", logto.StorageKeyRefreshToken, true},
		{"a refresh writes the token cache", true, failSet(logto.StorageKeyAccessTokens),
			func(*testing.T) func(env, func()) error { return expiredGetAccessToken }, "write", logto.StorageKeyAccessTokens, true},
		{"FetchUserInfo reads the ID token", true, failGet(logto.StorageKeyIDToken),
			func(*testing.T) func(env, func()) error {
				return now(func(e env) error { _, err := e.c.FetchUserInfo(ctx); return err })
			}, "read", logto.StorageKeyIDToken, true},
		{"SignOut deletes the ID token", true, failDel(logto.StorageKeyIDToken),
			func(*testing.T) func(env, func()) error {
				return now(func(e env) error { _, err := e.c.SignOut(ctx, postLogout); return err })
			}, "delete", logto.StorageKeyIDToken, true},
		{"SignOut deletes the pending sign-ins", true, failDel(logto.StorageKeySignInSession),
			func(*testing.T) func(env, func()) error {
				return now(func(e env) error { _, err := e.c.SignOut(ctx, postLogout); return err })
			}, "delete", logto.StorageKeySignInSession, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newProvider(t)
			store := newFaultyStorage()
			c, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: appID, AppSecret: appSecret,
				Resources: []string{apiResource}}, store, logto.WithClock(srv.Now))
			require.NoError(t, err)
			if tt.signedIn {
				signInAs(t, srv, c, aliceID)
			}
			err = tt.call(t)(env{srv: srv, c: c, store: store}, func() { tt.breaks(store) })
			require.ErrorIs(t, err, logto.ErrStorage)
			var se *logto.StorageError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.op, se.Op)
			assert.Equal(t, tt.key, se.Key)
			assert.Equal(t, tt.injected, errors.Is(err, errInjected), "the Storage's error is in the chain")
			assert.Contains(t, err.Error(), "logto: storage: "+tt.op+" "+tt.key+": ")
		})
	}
}

func TestStorageErrorMessage(t *testing.T) {
	cause := errors.New("connection refused")
	err := error(&logto.StorageError{Op: "read", Key: logto.StorageKeyRefreshToken, Err: cause})
	assert.Equal(t, "logto: storage: read "+logto.StorageKeyRefreshToken+": connection refused", err.Error())
	assert.ErrorIs(t, err, logto.ErrStorage)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, logto.ErrInvalidResponse)
	assert.Equal(t, "logto: storage: write k", (&logto.StorageError{Op: "write", Key: "k"}).Error(), "no cause")
	wrapped := fmt.Errorf("sign-in: %w", err)
	var se *logto.StorageError
	require.ErrorAs(t, wrapped, &se)
	assert.Same(t, cause, se.Unwrap())
}
