package logtohttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// cookieBytes returns what the app's cookies take in the Cookie header.
func (e *env) cookieBytes(b *http.Client) int { return len(e.cookieHeader(b)) }

// TestOversizedCookieSessionStaysWithinBudget signs in a member of 40
// organizations and fetches every organization token, with a refresh
// token rotated at every refresh: the cookies stay within the default
// budget, the least recently obtained tokens go first, and the session
// (ID and refresh tokens) is never lost.
func TestOversizedCookieSessionStaysWithinBudget(t *testing.T) {
	const orgs = 40
	e := newEnv(t, envOptions{app: func(a *logtotest.App) { a.RefreshTokenRotation = logtotest.RotateAlways }})
	var memberships []logtotest.Membership
	for i := range orgs {
		id := fmt.Sprintf("organization-%02d", i)
		e.idp.AddOrganization(logtotest.Organization{ID: id, Name: "Organization " + id})
		memberships = append(memberships, logtotest.Membership{OrganizationID: id, Roles: []string{"member"}})
	}
	e.idp.UpdateUser(testUserID, func(u *logtotest.User) { u.Organizations = memberships })
	var problems []error
	var mu sync.Mutex
	e.h.onSessionError = func(_ *http.Request, err error) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, err)
	}
	e.mux.Handle("/org/{n}", e.h.RequireAuth(AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.h.Client(r).GetOrganizationToken(r.Context(), "organization-"+r.PathValue("n")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "ok")
	})))

	b := e.browser()
	e.signIn(b, "")
	for i := range orgs {
		resp, body := e.get(b, fmt.Sprintf("/org/%02d", i))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		assert.LessOrEqual(t, e.cookieBytes(b), DefaultMaxCookieBytes, "after organization %d", i)
		// The rotated refresh token is the one stored.
		require.True(t, e.idp.RefreshTokenActive(e.storedValue(b, logto.StorageKeyRefreshToken)), "after organization %d", i)
	}
	assert.Empty(t, problems)
	assert.NotEmpty(t, e.storedValue(b, logto.StorageKeyIDToken))
	kept := e.cachedTokenKeys(b)
	assert.Greater(t, len(kept), 2)
	assert.Less(t, len(kept), orgs, "tokens were dropped")
	assert.Contains(t, kept, logto.OrganizationURNPrefix+fmt.Sprintf("organization-%02d", orgs-1), "the newest is kept")
	assert.NotContains(t, kept, logto.OrganizationURNPrefix+"organization-00", "the oldest went first")

	// A kept token needs no request; a dropped one is fetched again.
	tokens := e.idp.RequestCount(logtotest.EndpointToken)
	resp, _ := e.get(b, fmt.Sprintf("/org/%02d", orgs-1))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, tokens, e.idp.RequestCount(logtotest.EndpointToken))
	resp, _ = e.get(b, "/org/00")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, tokens+1, e.idp.RequestCount(logtotest.EndpointToken))
	assert.LessOrEqual(t, e.cookieBytes(b), DefaultMaxCookieBytes)
	resp, _ = e.get(b, "/api/x")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestOversizedIDTokenIsReported: an ID token too large for the budget is
// saved anyway and reported to Config.OnSessionError; one too large for
// ten cookies makes the callback fail with a message, and reaches
// Config.ErrorHandler as ErrSessionTooLarge.
func TestOversizedIDTokenIsReported(t *testing.T) {
	var problems []error
	var pages []error
	var mu sync.Mutex
	e := newEnv(t, envOptions{config: func(c *Config) {
		c.OnSessionError = func(_ *http.Request, err error) {
			mu.Lock()
			defer mu.Unlock()
			problems = append(problems, err)
		}
		c.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, status int, err error) {
			mu.Lock()
			pages = append(pages, err)
			mu.Unlock()
			http.Error(w, err.(*Error).Message, status)
		}
	}})

	e.idp.UpdateUser(testUserID, func(u *logtotest.User) { u.Extra = map[string]any{"blob": randomText(8000)} })
	b := e.browser()
	e.signIn(b, "")
	resp, _ := e.get(b, "/api/x")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "saved over the budget")
	require.Len(t, problems, 1)
	var se *SessionSizeError
	require.ErrorAs(t, problems[0], &se)
	assert.ErrorIs(t, problems[0], ErrSessionTooLarge)
	assert.True(t, se.Saved)
	assert.Equal(t, DefaultMaxCookieBytes, se.Budget)
	assert.Greater(t, se.Bytes, se.Budget)
	assert.Equal(t, se.Bytes, e.cookieBytes(b))
	assert.Contains(t, e.logs.String(), "too large")

	e.idp.UpdateUser(testUserID, func(u *logtotest.User) { u.Extra = map[string]any{"blob": randomText(40000)} })
	b = e.browser()
	resp, body := e.get(b, "/sign-in")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, msgSession+"\n", body)
	require.Len(t, pages, 1)
	assert.ErrorIs(t, pages[0], ErrSessionTooLarge)
	require.ErrorAs(t, pages[0], &se)
	assert.False(t, se.Saved)
	assert.Len(t, problems, 1)
}

// TestCookieBudgetFit checks what fit keeps of sessions over a 4 KB
// budget: always the ID and refresh tokens and other values; the newest
// live access tokens and, once no token is left, the newest pending
// sign-ins; no more dropped than needed.
func TestCookieBudgetFit(t *testing.T) {
	c, err := NewCookieSessions(CookieOptions{Keys: [][]byte{testKey}, MaxBytes: 4096})
	require.NoError(t, err)
	now := c.now().Unix()
	names := &c.names.host
	tokens := func(n int, expired ...int) string {
		m := map[string]any{}
		for i := range n {
			exp := now + 3600
			for _, x := range expired {
				if x == i {
					exp = now - 1
				}
			}
			m[fmt.Sprintf("k%d", i)] = map[string]any{"token": randomText(600), "expiresAt": exp}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	pending := func(n int) string {
		var txs []map[string]any
		for i := range n {
			txs = append(txs, map[string]any{"state": fmt.Sprintf("s%d", i), "nonce": randomText(43), "codeVerifier": randomText(43), "createdAt": now - int64(n-i)})
		}
		b, _ := json.Marshal(txs)
		return string(b)
	}
	values := func(idToken int, kv ...string) map[string]string {
		v := map[string]string{logto.StorageKeyIDToken: randomText(idToken), logto.StorageKeyRefreshToken: randomText(43), "other": "kept"}
		for i := 0; i < len(kv); i += 2 {
			v[kv[i]] = kv[i+1]
		}
		return v
	}
	tests := []struct {
		name     string
		values   map[string]string
		order    []string // the live token keys, the first to drop first
		txs      int      // pending sign-ins
		dropTxs  bool     // some pending sign-ins must go
		saved    bool     // over the budget anyway
		notSaved bool
	}{
		{name: "fits", values: values(1500, logto.StorageKeyAccessTokens, tokens(2), storageKeyTokenOrder, encodeOrder([]string{"k1", "k0"})),
			order: []string{"k1", "k0"}},
		{name: "least recently obtained first", values: values(1500, logto.StorageKeyAccessTokens, tokens(8), storageKeyTokenOrder, encodeOrder([]string{"k7", "k6", "k5", "k4", "k3", "k2", "k1", "k0"})),
			order: []string{"k7", "k6", "k5", "k4", "k3", "k2", "k1", "k0"}},
		{name: "unordered keys count as oldest", values: values(1500, logto.StorageKeyAccessTokens, tokens(8), storageKeyTokenOrder, encodeOrder([]string{"k0", "k1"})),
			order: []string{"k2", "k3", "k4", "k5", "k6", "k7", "k0", "k1"}},
		{name: "expired ones go", values: values(1500, logto.StorageKeyAccessTokens, tokens(8, 7), storageKeyTokenOrder, encodeOrder([]string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"})),
			order: []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6"}},
		{name: "pending sign-ins after tokens", values: values(3400, logto.StorageKeyAccessTokens, tokens(4), logto.StorageKeySignInSession, pending(5),
			storageKeyReturnTo, addReturnTo(addReturnTo("", "s0", "/old", now), "s4", "/new", now)),
			order: []string{"k0", "k1", "k2", "k3"}, txs: 5, dropTxs: true},
		{name: "nothing left to drop", values: values(5000), saved: true},
		{name: "beyond ten cookies", values: values(1500, "big", fixedText[:40000]), notSaved: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, got, err := c.fit(names, tt.values)
			switch {
			case tt.notSaved:
				var se *SessionSizeError
				require.ErrorAs(t, err, &se)
				assert.False(t, se.Saved)
				assert.Empty(t, enc)
				return
			case tt.saved:
				require.True(t, savedAnyway(err), "%v", err)
				assert.Greater(t, c.headerBytes(names, len(enc)), c.maxBytes)
			default:
				require.NoError(t, err)
				assert.LessOrEqual(t, c.headerBytes(names, len(enc)), c.maxBytes)
			}
			for _, k := range []string{logto.StorageKeyIDToken, logto.StorageKeyRefreshToken, "other"} {
				assert.Equal(t, tt.values[k], got[k], "%s is always kept", k)
			}
			m, ok := decodeTokenMap(got[logto.StorageKeyAccessTokens])
			require.True(t, ok)
			keptTokens := len(m)
			// The tokens kept are the last ones of the order.
			assert.ElementsMatch(t, tt.order[len(tt.order)-keptTokens:], mapKeys(m))
			if keptTokens > 1 {
				assert.Equal(t, tt.order[len(tt.order)-keptTokens:], decodeOrder(got[storageKeyTokenOrder]))
			}
			var txs []map[string]any
			if raw := got[logto.StorageKeySignInSession]; raw != "" {
				require.NoError(t, json.Unmarshal([]byte(raw), &txs))
			}
			if tt.dropTxs {
				assert.Zero(t, keptTokens, "every token goes before a pending sign-in")
				require.NotEmpty(t, txs)
				assert.Less(t, len(txs), tt.txs)
				assert.Equal(t, "s4", txs[len(txs)-1]["state"], "the newest sign-in stays")
				path, _ := takeReturnTo(got[storageKeyReturnTo], "s4", now)
				assert.Equal(t, "/new", path)
				path, _ = takeReturnTo(got[storageKeyReturnTo], "s0", now)
				assert.Empty(t, path, "a dropped sign-in's return_to goes with it")
			} else {
				assert.Len(t, txs, tt.txs)
			}
			// No more than needed: one candidate fewer dropped is over.
			sh := newShedder(tt.values, now)
			if dropped := sh.count() - keptTokens - len(txs); dropped > 0 && err == nil {
				assert.Greater(t, c.headerBytes(names, len(c.seal(sh.build(dropped-1)))), c.maxBytes)
			}
			// The sealed text holds what fit returned.
			back, _, ok := parsePlainOf(t, c, enc)
			require.True(t, ok)
			assert.Equal(t, got, back)
		})
	}
}

func mapKeys(m map[string]json.RawMessage) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// parsePlainOf opens a sealed text.
func parsePlainOf(t *testing.T, c *CookieSessions, enc string) (map[string]string, int64, bool) {
	t.Helper()
	sealed, err := strictBase64.DecodeString(enc)
	require.NoError(t, err)
	plain, ok := c.decrypt(sealed)
	require.True(t, ok)
	return parsePlain(plain, c.now().Unix())
}

func TestTrackTokenOrder(t *testing.T) {
	entry := func(tok string) map[string]any { return map[string]any{"token": tok, "expiresAt": 1} }
	cache := func(kv ...string) string {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = entry(kv[i+1])
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name      string
		prev, now map[string]string
		want      []string // nil: no order key
	}{
		{"unchanged", map[string]string{logto.StorageKeyAccessTokens: cache("a", "1")}, map[string]string{logto.StorageKeyAccessTokens: cache("a", "1")}, nil},
		{"one token", nil, map[string]string{logto.StorageKeyAccessTokens: cache("a", "1")}, nil},
		{"new token last", map[string]string{logto.StorageKeyAccessTokens: cache("a", "1")},
			map[string]string{logto.StorageKeyAccessTokens: cache("a", "1", "b", "2")}, []string{"a", "b"}},
		{"refreshed moves last", map[string]string{logto.StorageKeyAccessTokens: cache("a", "1", "b", "2"), storageKeyTokenOrder: encodeOrder([]string{"a", "b"})},
			map[string]string{logto.StorageKeyAccessTokens: cache("a", "3", "b", "2"), storageKeyTokenOrder: encodeOrder([]string{"a", "b"})}, []string{"b", "a"}},
		{"removed key dropped", map[string]string{logto.StorageKeyAccessTokens: cache("a", "1", "b", "2", "c", "3"), storageKeyTokenOrder: encodeOrder([]string{"a", "b", "c"})},
			map[string]string{logto.StorageKeyAccessTokens: cache("a", "1", "c", "3"), storageKeyTokenOrder: encodeOrder([]string{"a", "b", "c"})}, []string{"a", "c"}},
		{"unlisted counts as oldest", map[string]string{logto.StorageKeyAccessTokens: cache("a", "1", "b", "2")},
			map[string]string{logto.StorageKeyAccessTokens: cache("a", "1", "b", "2", "c", "3")}, []string{"a", "b", "c"}},
		{"cache cleared", map[string]string{logto.StorageKeyAccessTokens: cache("a", "1", "b", "2"), storageKeyTokenOrder: encodeOrder([]string{"a", "b"})},
			map[string]string{storageKeyTokenOrder: encodeOrder([]string{"a", "b"})}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprint(tt.now)
			got := trackTokenOrder(tt.prev, tt.now)
			assert.Equal(t, before, fmt.Sprint(tt.now), "the input is not modified")
			raw, ok := got[storageKeyTokenOrder]
			if tt.want == nil {
				assert.False(t, ok && tt.name != "unchanged", "no order key: %q", raw)
				return
			}
			assert.Equal(t, tt.want, decodeOrder(raw))
		})
	}
}

// storedValue returns a value of the browser's session.
func (e *env) storedValue(b *http.Client, key string) string {
	e.t.Helper()
	var v string
	e.h.Sessions(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		v, _ = e.h.Client(r).Storage().Get(r.Context(), key)
	})).ServeHTTP(newRecorder(), request(http.MethodGet, "/", e.cookieHeader(b)))
	return v
}

// cachedTokenKeys returns the keys of the browser's access-token cache.
func (e *env) cachedTokenKeys(b *http.Client) []string {
	e.t.Helper()
	m, ok := decodeTokenMap(e.storedValue(b, logto.StorageKeyAccessTokens))
	require.True(e.t, ok)
	keys := mapKeys(m)
	return keys
}
