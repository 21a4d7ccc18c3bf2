package logtohttp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

func newCookieSessions(t testing.TB, keys ...[]byte) *CookieSessions {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{testKey}
	}
	c, err := NewCookieSessions(CookieOptions{Keys: keys})
	require.NoError(t, err)
	// These tests are about the format: a budget of ten cookies.
	c.maxBytes = c.headerBytes(&c.names.host, maxChunks*c.chunkLen)
	return c
}

// saveCookies saves values as a response would and returns the Set-Cookie
// headers and the Cookie header a browser would send back.
func saveCookies(t testing.TB, c *CookieSessions, prev *loadedSession, values map[string]string) (set []string, cookie string) {
	t.Helper()
	w := httptest.NewRecorder()
	require.NoError(t, c.save(w, request(http.MethodGet, "/", ""), prev, values, saveOptions{secure: true}))
	set = setCookies(w.Header())
	resp := http.Response{Header: w.Header()}
	var parts []string
	for _, ck := range resp.Cookies() {
		if ck.MaxAge >= 0 {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
	}
	return set, strings.Join(parts, "; ")
}

func loadCookies(t testing.TB, c *CookieSessions, cookie string) loadedSession {
	t.Helper()
	st, err := c.load(request(http.MethodGet, "/", cookie), true)
	require.NoError(t, err)
	return st
}

// randomText returns n incompressible base64url characters.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func TestCookieRoundTrip(t *testing.T) {
	c := newCookieSessions(t)
	for _, values := range []map[string]string{
		{"a": "b"},
		{"": "", "k": ""},
		{logto.StorageKeyIDToken: strings.Repeat("eyJhbGciOiJFUzM4NCJ9.", 100), logto.StorageKeyRefreshToken: randomText(43)},
		{"big": randomText(30000)},
		{"unicode": "héllo ✓", "binary": "\x00\x01\xff"},
		{storageKeyReturnTo: `[{"s":"x","p":"/a","t":1}]`, logto.StorageKeyIDToken: strings.Repeat("abc", 1000)},
		{storageKeyReturnTo: "only"},
	} {
		set, cookie := saveCookies(t, c, &loadedSession{}, values)
		for _, s := range set {
			assert.Less(t, len(s), 4096)
			assert.Contains(t, s, "; Path=/")
			assert.Contains(t, s, "; HttpOnly")
			assert.Contains(t, s, "; Secure")
			assert.Contains(t, s, "; SameSite=Lax")
			assert.Contains(t, s, fmt.Sprintf("; Max-Age=%d", int(DefaultSessionMaxAge/time.Second)))
		}
		st := loadCookies(t, c, cookie)
		assert.False(t, st.invalid)
		assert.Equal(t, values, st.values)
	}
}

// TestCookieChunkBoundary saves sessions whose encrypted form is just
// below, at and just above one and two cookies' capacity.
func TestCookieChunkBoundary(t *testing.T) {
	c := newCookieSessions(t)
	// Find the largest value size whose sealed text fits one cookie (the
	// value is incompressible, so the size grows with it): its sealed text
	// is exactly chunkLen long.
	sealedLen := func(n int) int { return len(c.seal(map[string]string{"k": fixedText[:n]})) }
	exact := sort.Search(c.chunkLen, func(n int) bool { return sealedLen(n) > c.chunkLen }) - 1
	require.Equal(t, c.chunkLen, sealedLen(exact))
	require.Positive(t, exact)
	for _, tc := range []struct {
		n      int
		chunks int
	}{
		{exact - 3, 1}, {exact - 1, 1}, {exact, 1}, {exact + 1, 2}, {exact + 3, 2},
		{2*exact + 10, 2}, {2*c.chunkLen*3/4 + 50, 3}, {9 * c.chunkLen * 3 / 4, 10},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			values := map[string]string{"k": fixedText[:tc.n]}
			set, cookie := saveCookies(t, c, &loadedSession{}, values)
			assert.Equal(t, tc.chunks, len(set))
			for i, s := range set {
				assert.LessOrEqual(t, len(s), maxCookieLen, "chunk %d", i)
				assert.True(t, strings.HasPrefix(s, c.names.host[i]+"="), s[:20])
			}
			st := loadCookies(t, c, cookie)
			assert.Equal(t, values, st.values)
			assert.Equal(t, uint32(1)<<tc.chunks-1, st.present)
		})
	}

	// Beyond ten cookies, the save fails instead of losing data silently.
	w := httptest.NewRecorder()
	err := c.save(w, request(http.MethodGet, "/", ""), &loadedSession{}, map[string]string{"k": fixedText[:11*c.chunkLen*3/4]}, saveOptions{})
	assert.ErrorContains(t, err, "use NewServerSessions")
	assert.Empty(t, setCookies(w.Header()))
}

// fixedText is incompressible: random bytes (values may hold any byte).
var fixedText = func() string {
	b := make([]byte, 64<<10)
	_, _ = rand.Read(b)
	return string(b)
}()

// TestCookieReturnToNotCompressedWithTokens checks that the length of a
// cookie does not depend on how much an attacker-chosen return_to has in
// common with the tokens (CRIME/BREACH).
func TestCookieReturnToNotCompressedWithTokens(t *testing.T) {
	c := newCookieSessions(t)
	token := randomText(800)
	guess := func(part string) int {
		return len(c.seal(map[string]string{
			logto.StorageKeyIDToken:      token,
			logto.StorageKeyRefreshToken: strings.Repeat("r", 300),
			storageKeyReturnTo:           addReturnTo("", "state", "/search?q="+part, 1),
		}))
	}
	right, wrong := guess(token[:64]), guess(randomText(64))
	assert.Equal(t, wrong, right, "a return_to matching the token must not shrink the cookie")
	// The tokens themselves are still compressed.
	compressible := map[string]string{logto.StorageKeyIDToken: strings.Repeat("eyJhbGciOiJFUzM4NCJ9", 200)}
	assert.Less(t, len(c.seal(compressible)), 400)
	compressible[storageKeyReturnTo] = addReturnTo("", "state", "/page", 1)
	assert.Less(t, len(c.seal(compressible)), 500)
}

func TestCookieStaleChunksAreCleared(t *testing.T) {
	c := newCookieSessions(t)
	prev := &loadedSession{}
	set, cookie := saveCookies(t, c, prev, map[string]string{"k": fixedText[:3*c.chunkLen*3/4]})
	require.Equal(t, 4, len(set))
	st := loadCookies(t, c, cookie)
	require.Equal(t, uint32(0b1111), st.present)

	// Shrinking to one cookie deletes name.1 … name.3.
	set, cookie = saveCookies(t, c, &st, map[string]string{"k": "small"})
	require.Equal(t, 4, len(set))
	assert.True(t, strings.HasPrefix(set[0], "__Host-logto_session=1."))
	for i, s := range set[1:] {
		assert.True(t, strings.HasPrefix(s, fmt.Sprintf("__Host-logto_session.%d=; Path=/; Max-Age=0;", i+1)), s)
	}
	st = loadCookies(t, c, cookie)
	assert.Equal(t, map[string]string{"k": "small"}, st.values)
	assert.Equal(t, uint32(1), st.present)

	// A stale chunk left behind by a lost response is ignored (the count
	// says how many belong) and cleared on the next save.
	st = loadCookies(t, c, cookie+"; __Host-logto_session.5=stale")
	assert.Equal(t, map[string]string{"k": "small"}, st.values)
	set, _ = saveCookies(t, c, &st, map[string]string{"k": "other"})
	assert.Equal(t, 2, len(set))
	assert.Contains(t, set[1], "__Host-logto_session.5=; Path=/; Max-Age=0")

	// An empty session deletes every cookie.
	set, _ = saveCookies(t, c, &st, nil)
	assert.Equal(t, 1, len(set))
	assert.Contains(t, set[0], "__Host-logto_session=; Path=/; Max-Age=0")
}

func TestCookieKeyRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16)
	values := map[string]string{"k": "v", "t": fixedText[:5000]}

	before := newCookieSessions(t, oldKey)
	_, oldCookie := saveCookies(t, before, &loadedSession{}, values)

	// New key first, old key still accepted.
	rotating := newCookieSessions(t, newKey, oldKey)
	assert.Equal(t, values, loadCookies(t, rotating, oldCookie).values)
	// New writes use the new key.
	_, newCookie := saveCookies(t, rotating, &loadedSession{}, values)
	assert.Equal(t, values, loadCookies(t, newCookieSessions(t, newKey), newCookie).values)
	assert.True(t, loadCookies(t, before, newCookie).invalid)

	// Once the old key is dropped, its cookies read as signed out.
	after := newCookieSessions(t, newKey)
	st := loadCookies(t, after, oldCookie)
	assert.Nil(t, st.values)
	assert.True(t, st.invalid)
	// Three keys, the middle one matching.
	three := newCookieSessions(t, bytes.Repeat([]byte{3}, 24), oldKey, newKey)
	assert.Equal(t, values, loadCookies(t, three, oldCookie).values)
	assert.Equal(t, values, loadCookies(t, three, newCookie).values)
}

func TestCookieTamperedReadsAsSignedOut(t *testing.T) {
	c := newCookieSessions(t)
	values := map[string]string{"k": "v", "big": fixedText[:6000]}
	_, cookie := saveCookies(t, c, &loadedSession{}, values)
	parts := strings.Split(cookie, "; ")
	require.Len(t, parts, 3)
	name0, v0, _ := strings.Cut(parts[0], "=")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tampered := map[string]string{
		"flipped first byte":   name0 + "=" + flip(v0, 2) + "; " + parts[1] + "; " + parts[2],
		"flipped middle byte":  name0 + "=" + flip(v0, len(v0)/2) + "; " + parts[1] + "; " + parts[2],
		"flipped last chunk":   parts[0] + "; " + parts[1] + "; " + flip(parts[2], len(parts[2])-1),
		"missing chunk":        parts[0] + "; " + parts[2],
		"missing first chunk":  parts[1] + "; " + parts[2],
		"swapped chunks":       parts[0] + "; __Host-logto_session.1=" + strings.SplitN(parts[2], "=", 2)[1] + "; __Host-logto_session.2=" + strings.SplitN(parts[1], "=", 2)[1],
		"truncated":            parts[0] + "; " + parts[1] + "; " + parts[2][:len(parts[2])-10],
		"wrong count":          name0 + "=2" + v0[1:] + "; " + parts[1] + "; " + parts[2],
		"count too large":      name0 + "=99" + v0[1:] + "; " + parts[1] + "; " + parts[2],
		"no count":             name0 + "=" + v0[2:] + "; " + parts[1] + "; " + parts[2],
		"garbage":              "__Host-logto_session=hello",
		"empty":                "__Host-logto_session=",
		"count only":           "__Host-logto_session=1.",
		"not base64":           "__Host-logto_session=1.!!!!",
		"short base64":         "__Host-logto_session=1.AAAA",
		"random":               "__Host-logto_session=1." + base64.RawURLEncoding.EncodeToString([]byte(fixedText[:300])),
		"wrong version":        "__Host-logto_session=1." + base64.RawURLEncoding.EncodeToString(append([]byte{9}, make([]byte, 40)...)),
		"quoted garbage":       `__Host-logto_session="1.abc"`,
		"chunk not multiple 4": name0 + "=" + v0 + "x; " + parts[1] + "; " + parts[2],
		"duplicate first":      "__Host-logto_session=junk; " + cookie,
	}
	for name, ck := range tampered {
		t.Run(name, func(t *testing.T) {
			st := loadCookies(t, c, ck)
			assert.True(t, st.values == nil, "a tampered cookie must not load")
			assert.True(t, st.invalid)
		})
	}

	// Another cookie name is another AAD: a value copied between two apps
	// sharing a key does not decrypt.
	other, err := NewCookieSessions(CookieOptions{Name: "other", Keys: [][]byte{testKey}})
	require.NoError(t, err)
	assert.True(t, loadCookies(t, other, strings.ReplaceAll(cookie, "__Host-logto_session", "__Host-other")).invalid)

	// Unrelated cookies are not ours: no session, nothing invalid.
	st := loadCookies(t, c, "theme=dark; __Host-logto_sessionx=1; __Host-logto_session.x=2; __Host-logto_session.10=3; __Host-logto_session.01=4")
	assert.Zero(t, st)
}

func TestCookieExpiry(t *testing.T) {
	now := time.Now()
	c, err := NewCookieSessions(CookieOptions{Keys: [][]byte{testKey}, MaxAge: time.Hour})
	require.NoError(t, err)
	c.now = func() time.Time { return now }
	set, cookie := saveCookies(t, c, &loadedSession{}, map[string]string{"k": "v"})
	assert.Contains(t, set[0], "; Max-Age=3600;")
	now = now.Add(59 * time.Minute)
	assert.Equal(t, map[string]string{"k": "v"}, loadCookies(t, c, cookie).values)
	// A browser that ignores Max-Age still cannot replay the cookie later.
	now = now.Add(time.Minute)
	st := loadCookies(t, c, cookie)
	assert.Nil(t, st.values)
	assert.True(t, st.invalid)
}

func TestCookieOptionsValidation(t *testing.T) {
	for name, o := range map[string]CookieOptions{
		"no keys":       {},
		"short key":     {Keys: [][]byte{make([]byte, 15)}},
		"long key":      {Keys: [][]byte{make([]byte, 33)}},
		"bad second":    {Keys: [][]byte{testKey, make([]byte, 8)}},
		"bad name":      {Keys: [][]byte{testKey}, Name: "a;b"},
		"space in name": {Keys: [][]byte{testKey}, Name: "a b"},
		"tiny max age":  {Keys: [][]byte{testKey}, MaxAge: time.Millisecond},
	} {
		_, err := NewCookieSessions(o)
		assert.Error(t, err, name)
	}
	_, err := NewServerSessions(nil, CookieOptions{})
	assert.Error(t, err)
	_, err = NewServerSessions(NewMemorySessionStore(0, 0), CookieOptions{Name: "bad=name"})
	assert.Error(t, err)
}

func TestCookieSecureOption(t *testing.T) {
	no, yes := false, true
	for _, tc := range []struct {
		secure *bool
		auto   bool
		want   bool
	}{{nil, true, true}, {nil, false, false}, {&no, true, false}, {&yes, false, true}} {
		c, err := NewCookieSessions(CookieOptions{Keys: [][]byte{testKey}, Secure: tc.secure})
		require.NoError(t, err)
		w := httptest.NewRecorder()
		require.NoError(t, c.save(w, request(http.MethodGet, "/", ""), &loadedSession{}, map[string]string{"a": "b"}, saveOptions{secure: tc.auto}))
		assert.Equal(t, tc.want, strings.Contains(w.Header().Get("Set-Cookie"), "; Secure"))
	}
}

// TestManyTokensFitInCookies signs in with several API resources and
// organizations, fetches every token, and checks the session still works
// from cookies alone.
func TestManyTokensFitInCookies(t *testing.T) {
	const n = 8
	var resources []string
	for i := range n {
		resources = append(resources, fmt.Sprintf("https://api%d.example.com", i))
	}
	// A budget of ten cookies: the session is not trimmed.
	e := newEnv(t, envOptions{resources: resources, cookie: func(o *CookieOptions) { o.MaxBytes = 30000 }})
	var memberships []logtotest.Membership
	for i := range n {
		id := fmt.Sprintf("organization-%d", i)
		e.idp.AddOrganization(logtotest.Organization{ID: id, Name: "Organization " + id})
		memberships = append(memberships, logtotest.Membership{OrganizationID: id, Roles: []string{"member"}})
	}
	for _, r := range resources {
		e.idp.AddResource(logtotest.Resource{Indicator: r, Scopes: []string{"read", "write"}})
		e.idp.AddRole("reader", r, "read", "write")
	}
	e.idp.UpdateUser(testUserID, func(u *logtotest.User) {
		u.Organizations = memberships
		// A large custom claim makes the ID token alone exceed a cookie.
		u.Extra = map[string]any{"blob": randomText(5000)}
	})
	e.mux.Handle("/tokens", e.h.RequireAuth(AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := e.h.Client(r)
		for _, res := range resources {
			if _, err := c.GetAccessToken(r.Context(), res); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		claims, _ := IdTokenClaims(r.Context())
		for _, org := range claims.Organizations.Get() {
			if _, err := c.GetOrganizationToken(r.Context(), org); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		fmt.Fprintf(w, "%d organizations", len(claims.Organizations.Get()))
	})))

	b := e.browser()
	e.signIn(b, "")
	resp, body := e.get(b, "/tokens")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, fmt.Sprintf("%d organizations", n), body)
	tokenRequests := e.idp.RequestCount(logtotest.EndpointToken)
	assert.Equal(t, 1+2*n, tokenRequests)

	cookies := e.appCookies(b)
	assert.Greater(t, len(cookies), 1, "the session is split into several cookies")
	for _, set := range setCookies(resp.Header) {
		assert.Less(t, len(set), 4096)
	}
	// Every token now comes from the cookies: no request to Logto.
	resp, body = e.get(b, "/tokens")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, tokenRequests, e.idp.RequestCount(logtotest.EndpointToken))
	assert.Empty(t, setCookies(resp.Header), "an unchanged session is not written")
	t.Logf("%d tokens in %d cookies", 1+2*n, len(cookies))
}

func TestTamperedCookieOverHTTP(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	e.signIn(b, "")
	good := e.cookieHeader(b)
	bad := strings.Replace(good, "logto_session=1.", "logto_session=1.A", 1)
	for _, path := range []string{"/", "/api/x", "/protected/x"} {
		r := request(http.MethodGet, path, bad)
		w := newRecorder()
		e.mux.ServeHTTP(w, r)
		switch path {
		case "/":
			assert.Equal(t, "signed out", w.Body.String())
			assert.Contains(t, w.Header().Get("Set-Cookie"), "logto_session=; Path=/; Max-Age=0", "an unreadable cookie is cleared")
		case "/api/x":
			assert.Equal(t, http.StatusUnauthorized, w.Code)
		default:
			assert.Equal(t, http.StatusFound, w.Code)
		}
	}
}

// TestOpenedCache: a cookie seen again is answered from the cache only
// when all its chunks match and its sealed expiry has not passed; a
// session larger than twice the budget is not kept, and the cache never
// holds more than openedCacheBytes of sessions.
func TestOpenedCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	until := now.Add(time.Hour)
	values := map[string]string{"k": "v"}
	chunks := func(texts ...string) *[maxChunks]string {
		var v [maxChunks]string
		copy(v[:], texts)
		return &v
	}
	oc := newOpenedCache(DefaultMaxCookieBytes)
	e := oc.put([]string{"2.abcd", "efgh"}, values, until, now)
	tests := []struct {
		name  string
		vals  *[maxChunks]string
		count int
		at    time.Time
		hit   bool
	}{
		{"same chunks", chunks("2.abcd", "efgh"), 2, now, true},
		{"just before the expiry", chunks("2.abcd", "efgh"), 2, until.Add(-time.Nanosecond), true},
		{"at the expiry", chunks("2.abcd", "efgh"), 2, until, false},
		{"another second chunk", chunks("2.abcd", "efgX"), 2, now, false},
		{"another count", chunks("2.abcd", "efgh", "ijkl"), 3, now, false},
		{"another first chunk", chunks("2.abcX", "efgh"), 2, now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := oc.get(tt.vals, tt.count, tt.at)
			if tt.hit {
				assert.Same(t, e, got)
			} else {
				assert.Nil(t, got)
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		big := strings.Repeat("A", DefaultMaxCookieBytes+1)
		assert.Equal(t, values, oc.put([]string{"1." + big}, values, until, now).values, "returned")
		assert.Nil(t, oc.get(chunks("1."+big), 1, now), "not kept")
	})
	t.Run("bounded", func(t *testing.T) {
		oc := newOpenedCache(minCookieBytes)
		limit := openedCacheBytes / (2 * minCookieBytes)
		text := strings.Repeat("A", minCookieBytes-8)
		for i := range limit + 100 {
			oc.put([]string{fmt.Sprintf("1.%06d%s", i, text)}, values, until.Add(time.Duration(i)*time.Second), now)
		}
		assert.Equal(t, limit, oc.sessions.Len())
		assert.LessOrEqual(t, oc.sessions.Len()*oc.maxSize, openedCacheBytes)
		assert.Nil(t, oc.get(chunks(fmt.Sprintf("1.%06d%s", 0, text)), 1, now), "the one expiring soonest made room")
		assert.NotNil(t, oc.get(chunks(fmt.Sprintf("1.%06d%s", limit+99, text)), 1, now))
	})
}

// TestCookieOpenedOnce: the cookie a response set is read back from the
// cache, and a cookie read once is not decrypted again.
func TestCookieOpenedOnce(t *testing.T) {
	c := newCookieSessions(t)
	_, cookie := saveCookies(t, c, &loadedSession{}, map[string]string{"k": "v"})
	var vals [maxChunks]string
	present := scanCookies(request(http.MethodGet, "/", cookie), c.names.host[0], &vals)
	first := c.open(&vals, present)
	require.NotNil(t, first)
	assert.Same(t, first, c.open(&vals, present), "cached at save")
	c.cache.sessions.Delete(vals[0])
	second := c.open(&vals, present)
	require.NotNil(t, second)
	assert.NotSame(t, first, second, "decrypted again once forgotten")
	assert.Equal(t, first.values, second.values)
	assert.Same(t, second, c.open(&vals, present), "then cached")
}
