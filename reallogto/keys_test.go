package reallogto

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/backchannel"
)

// keyMaxAge is the key-set lifetime the rotation test configures: short,
// so that a removed key is refused within the test.
const keyMaxAge = 2 * time.Second

// kid reads a JWT's key id.
func kid(t *testing.T, tok string) string {
	t.Helper()
	k, _ := jwtPart(t, tok, 0)["kid"].(string)
	require.NotEmpty(t, k)
	return k
}

// tokenReplay answers the next token request with a response captured
// earlier: a token signed with a key the provider no longer publishes, as
// an attacker holding that key could mint.
type tokenReplay struct {
	mu     sync.Mutex
	last   []byte // the last token response with an id_token
	armed  []byte
	served bool
}

func (r *tokenReplay) capture(rec *recorder) {
	base := rec.base
	rec.base = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := base.RoundTrip(req)
		if err != nil || !strings.HasSuffix(req.URL.Path, "/token") {
			return resp, err
		}
		raw, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if rerr == nil && resp.StatusCode == http.StatusOK && bytes.Contains(raw, []byte(`"id_token"`)) {
			r.mu.Lock()
			r.last = raw
			r.mu.Unlock()
		}
		return resp, nil
	})
	rec.respond = func(req *http.Request) *http.Response {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.armed == nil || !strings.HasSuffix(req.URL.Path, "/token") {
			return nil
		}
		body := r.armed
		r.armed, r.served = nil, true
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	}
}

// snapshot returns the last captured token response and its ID token.
func (r *tokenReplay) snapshot(t *testing.T) ([]byte, string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotNil(t, r.last, "no token response with an ID token was captured")
	i := bytes.Index(r.last, []byte(`"id_token":"`))
	rest := r.last[i+len(`"id_token":"`):]
	return bytes.Clone(r.last), string(rest[:bytes.IndexByte(rest, '"')])
}

// arm makes the next token request answered with body.
func (r *tokenReplay) arm(body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed, r.served = body, false
}

// wasServed reports whether the armed response was served.
func (r *tokenReplay) wasServed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.served
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestSigningKeyRotation (issue 9 items 4 and 5) rotates the tenant's
// signing key through the Management API right after the SDK's first key
// fetch, then removes the old key.
//
//   - Item 4: within the default one-minute refetch cooldown of that first
//     fetch, a new sign-in, a refresh that verifies a new ID token, apiauth
//     and backchannel all accept tokens signed with the new key.
//   - Item 5: once the old key is gone and the key-set max age (2 s here)
//     has passed, a token signed with it is refused by LogtoClient (a
//     replayed refresh response), apiauth (even a token it verified before)
//     and backchannel.
//
// The test is not parallel: a key rotation concerns the whole tenant, so it
// runs before the parallel tests start.
func TestSigningKeyRotation(t *testing.T) {
	t.Run("real", func(t *testing.T) { signingKeyRotation(t, newRealTarget(t)) })
	t.Run("logtotest", func(t *testing.T) { signingKeyRotation(t, newFakeTarget(t)) })
}

func signingKeyRotation(t *testing.T, tg target) {
	ctx := context.Background()
	u := tg.newUser(t, userSpec{APIScopes: []string{readData}})
	// Two more APIs, so that a refresh can be made whenever needed (a cached
	// token is served without one).
	api2 := tg.newResource(t, resourceSpec{TTL: time.Hour, Scopes: []string{"two:read"}, GrantTo: []user{u}})
	api3 := tg.newResource(t, resourceSpec{TTL: time.Hour, Scopes: []string{"three:read"}, GrantTo: []user{u}})
	recv := newLogoutReceiver(t)
	a := tg.newApp(t, appSpec{BackchannelLogoutURI: recv.uri(), BackchannelSessionRequired: true})
	recv.setApp(t, tg, a, backchannel.Config{JWKSMaxAge: keyMaxAge})
	handler := func() *backchannel.Handler { recv.mu.Lock(); defer recv.mu.Unlock(); return recv.handler }()

	// The client's clock runs 3550 s ahead, so that the session's ID token
	// (1 h) is due for renewal and each refresh verifies the ID token it
	// receives; the default refetch cooldown (1 min) stays.
	clock := func() time.Time { return time.Now().Add(3550 * time.Second) }
	rec := newRecorder()
	replay := &tokenReplay{}
	replay.capture(rec)
	c := clientFor(t, tg, a, []string{readData, "two:read", "three:read"}, []string{tg.api(), api2, api3}, rec,
		logto.WithClock(clock), logto.WithJWKSMaxAge(keyMaxAge))
	v := verifier(t, tg, apiauth.Config{JWKSMaxAge: keyMaxAge})
	// The same without the verified-token cache: the key check alone.
	vNoCache := verifier(t, tg, apiauth.Config{JWKSMaxAge: keyMaxAge, CacheSize: -1})

	// Old key A: a session, an API token verified by apiauth, a refresh
	// response with an ID token (captured), a logout token handled.
	signInClient(t, tg, c, nil, u, logto.SignInOptions{})
	require.Equal(t, 1, rec.count("/jwks"), "the first key fetch")
	idA, err := c.GetIdToken(ctx)
	require.NoError(t, err)
	tokA, err := c.GetAccessToken(ctx, tg.api())
	require.NoError(t, err)
	_, err = v.Verify(ctx, tokA)
	require.NoError(t, err)
	_, err = vNoCache.Verify(ctx, tokA)
	require.NoError(t, err)
	oldKID := kid(t, idA)
	require.Equal(t, oldKID, kid(t, tokA))
	respA, idInRespA := replay.snapshot(t)
	require.Equal(t, oldKID, kid(t, idInRespA), "a refresh response whose ID token the old key signed")

	other := c.WithStorage(logto.NewMemoryStorage())
	bOther := newBrowser(t)
	signInClient(t, tg, other, bOther, u, logto.SignInOptions{})
	end, err := other.SignOut(ctx, a.PostLogoutRedirectURI)
	require.NoError(t, err)
	bOther.endSession(t, end)
	require.Eventually(t, func() bool { calls, _, _ := recv.calls(); return len(calls) == 1 }, 10*time.Second, 50*time.Millisecond)
	_, raws, status := recv.calls()
	logoutA := raws[0]
	require.Equal(t, []int{http.StatusOK}, status)
	require.Equal(t, oldKID, kid(t, logoutA))

	// Rotation, within a second of the first key fetch.
	newKID, rotatedKID := tg.rotateSigningKey(t)
	require.Equal(t, oldKID, rotatedKID)
	require.NotEqual(t, oldKID, newKID)

	// Item 4: a new sign-in verifies an ID token signed with the new key.
	fresh := c.WithStorage(logto.NewMemoryStorage())
	bFresh := newBrowser(t)
	signInClient(t, tg, fresh, bFresh, u, logto.SignInOptions{})
	idB, err := fresh.GetIdToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, newKID, kid(t, idB))
	assert.Equal(t, 2, rec.count("/jwks"), "one refetch for the new key id")
	// … and so does a refresh of the first session (its ID token is due).
	tokB, err := c.GetAccessToken(ctx, api2)
	require.NoError(t, err, "a refresh whose ID token is signed with the new key")
	assert.Equal(t, newKID, kid(t, tokB))
	idNow, _ := c.GetIdToken(ctx)
	assert.Equal(t, newKID, kid(t, idNow), "the refreshed ID token was verified and stored")
	// apiauth and backchannel accept the new key too.
	tokB, err = fresh.GetAccessToken(ctx, tg.api())
	require.NoError(t, err)
	assert.Equal(t, newKID, kid(t, tokB))
	_, err = v.Verify(ctx, tokB)
	require.NoError(t, err)
	end, err = fresh.SignOut(ctx, a.PostLogoutRedirectURI)
	require.NoError(t, err)
	bFresh.endSession(t, end)
	require.Eventually(t, func() bool { calls, _, _ := recv.calls(); return len(calls) == 2 }, 10*time.Second, 50*time.Millisecond)
	_, raws, status = recv.calls()
	assert.Equal(t, newKID, kid(t, raws[1]))
	assert.Equal(t, []int{http.StatusOK, http.StatusOK}, status, "the logout token signed with the new key was accepted")
	// The old key is still published: its tokens still verify.
	_, err = v.Verify(ctx, tokA)
	require.NoError(t, err)

	// Item 5: the old key is removed; after the key-set max age, what it
	// signed is refused.
	tg.removeSigningKey(t, oldKID)
	time.Sleep(keyMaxAge + time.Second)

	_, err = vNoCache.Verify(ctx, tokA)
	requireAPIError(t, err, "invalid_token")
	_, err = v.Verify(ctx, tokA)
	requireAPIError(t, err, "invalid_token") // verified (and cached) before the key was removed
	_, err = v.Verify(ctx, tokB)
	require.NoError(t, err, "the new key still verifies")

	_, err = handler.Verify(ctx, logoutA)
	assert.ErrorIs(t, err, backchannel.ErrInvalidLogoutToken, "a logout token signed with the removed key")

	// LogtoClient: a refresh answered with the old key's response (as an
	// attacker holding the removed key could answer) is refused, and the
	// session is left as it was.
	rtBefore, _ := c.GetRefreshToken(ctx)
	idBefore, _ := c.GetIdToken(ctx)
	replay.arm(respA)
	_, err = c.GetAccessToken(ctx, api3)
	require.True(t, replay.wasServed(), "the refresh went out and got the replayed response")
	assert.ErrorIs(t, err, logto.ErrInvalidIDToken, "an ID token signed with the removed key")
	rtAfter, _ := c.GetRefreshToken(ctx)
	idAfter, _ := c.GetIdToken(ctx)
	assert.Equal(t, rtBefore, rtAfter)
	assert.Equal(t, idBefore, idAfter)
	sentBefore := rec.count("/token")
	tok, err := c.GetAccessToken(ctx, api3)
	assert.Equal(t, sentBefore+1, rec.count("/token"), "a new request, not the refused result again")
	require.NoError(t, err, "the session goes on with the provider's real answers (new key %s, old %s, token requests %d)", newKID, oldKID, rec.count("/token"))
	assert.Equal(t, newKID, kid(t, tok))
}
