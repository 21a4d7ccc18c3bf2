package logtohttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

func TestMemorySessionStore(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	m := NewMemorySessionStore(time.Hour, 3)
	m.now = func() time.Time { return now }

	rec := SessionRecord{Values: map[string]string{"k": "v"}, Subject: "u"}
	require.NoError(t, m.Set(ctx, "a", rec, 10*time.Minute))
	got, ok, err := m.Get(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	rec.Version = 1 // the first write of the record
	assert.Equal(t, rec, got)
	_, ok, _ = m.Get(ctx, "missing")
	assert.False(t, ok)

	// Set's TTL applies when shorter than the store's.
	now = now.Add(10 * time.Minute)
	_, ok, _ = m.Get(ctx, "a")
	assert.False(t, ok, "expired after Set's ttl")
	assert.Zero(t, m.Len(), "an expired record is dropped when read")

	// The store's TTL caps a longer one.
	require.NoError(t, m.Set(ctx, "b", rec, 24*time.Hour))
	now = now.Add(time.Hour)
	_, ok, _ = m.Get(ctx, "b")
	assert.False(t, ok, "expired after the store's ttl")

	// Bounded size: the least recently written record goes first.
	for _, id := range []string{"1", "2", "3"} {
		require.NoError(t, m.Set(ctx, id, rec, 0))
		now = now.Add(time.Second)
	}
	require.NoError(t, m.Set(ctx, "1", rec, 0)) // rewritten: now the newest
	require.NoError(t, m.Set(ctx, "4", rec, 0))
	assert.Equal(t, 3, m.Len())
	_, ok, _ = m.Get(ctx, "2")
	assert.False(t, ok, "oldest write evicted")
	for _, id := range []string{"1", "3", "4"} {
		_, ok, _ = m.Get(ctx, id)
		assert.True(t, ok, id)
	}

	// Expired records are dropped before live ones are evicted.
	now = now.Add(2 * time.Hour)
	require.NoError(t, m.Set(ctx, "5", rec, 0))
	assert.Equal(t, 1, m.Len())

	require.NoError(t, m.Delete(ctx, "5"))
	require.NoError(t, m.Delete(ctx, "5"))
	assert.Zero(t, m.Len())

	// Defaults.
	d := NewMemorySessionStore(0, 0)
	assert.Equal(t, DefaultMemorySessionEntries, d.max)
	before := time.Now()
	require.NoError(t, d.Set(ctx, "x", rec, 0))
	after := time.Now()
	exp := d.entries["x"].Value.(*memoryEntry).expires
	assert.False(t, exp.Before(before.Add(DefaultSessionMaxAge)) || exp.After(after.Add(DefaultSessionMaxAge)),
		"expires %s, want DefaultSessionMaxAge after Set on the wall clock", exp)
}

func TestMemorySessionStoreEvictsSignedOutFirst(t *testing.T) {
	ctx := context.Background()
	m := NewMemorySessionStore(0, 4)
	user := SessionRecord{Values: map[string]string{"idToken": "x"}, Subject: "u"}
	anon := SessionRecord{Values: map[string]string{"signInSession": "[]"}}
	require.NoError(t, m.Set(ctx, "user-1", user, 0))
	require.NoError(t, m.Set(ctx, "user-2", user, 0))
	// A flood of sign-in attempts.
	for i := range 100 {
		require.NoError(t, m.Set(ctx, fmt.Sprint("anon-", i), anon, 0))
	}
	assert.Equal(t, 4, m.Len())
	for _, id := range []string{"user-1", "user-2", "anon-98", "anon-99"} {
		_, ok, _ := m.Get(ctx, id)
		assert.True(t, ok, id)
	}
	// Signed-in users are evicted too once no signed-out record is left.
	for i := range 4 {
		require.NoError(t, m.Set(ctx, fmt.Sprint("user-x", i), user, 0))
	}
	_, ok, _ := m.Get(ctx, "user-1")
	assert.False(t, ok)
	// A record changing kind moves to the other list.
	require.NoError(t, m.Set(ctx, "user-x0", anon, 0))
	require.NoError(t, m.Set(ctx, "new", user, 0))
	_, ok, _ = m.Get(ctx, "user-x0")
	assert.False(t, ok, "now signed out, it goes first")
}

func TestServerSessionLifetime(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	b := noRedirects(e.browser())
	resp, err := b.Get(e.app.URL + "/sign-in")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, setCookie(resp.Header, DefaultServerSessionName+"_pending"), "; Max-Age=3600;", "a pending sign-in lives one hour")
	assert.Empty(t, setCookie(resp.Header, DefaultServerSessionName), "no session id before sign-in")
	cb, err := e.idp.Authorize(resp.Header.Get("Location"), testUserID)
	require.NoError(t, err)
	resp, err = b.Get(cb)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, setCookie(resp.Header, DefaultServerSessionName), fmt.Sprintf("; Max-Age=%d;", int(DefaultSessionMaxAge/time.Second)))
	assert.Contains(t, setCookie(resp.Header, DefaultServerSessionName+"_pending"), "; Max-Age=0;", "the spent sign-in is cleared")
}

func TestMemorySessionStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	m := NewMemorySessionStore(time.Minute, 50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := fmt.Sprintf("%d-%d", g, i%70)
				_ = m.Set(ctx, id, SessionRecord{Values: map[string]string{"i": fmt.Sprint(i)}}, time.Minute)
				_, _, _ = m.Get(ctx, id)
				if i%7 == 0 {
					_ = m.Delete(ctx, id)
				}
			}
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, m.Len(), 50)
}

// sidCookie returns the session id cookie the browser holds.
func (e *env) sidCookie(c *http.Client) string {
	return e.appCookies(c)[DefaultServerSessionName]
}

func TestServerSessionIDRenewedAtSignIn(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	browser := e.browser()
	b := noRedirects(browser)
	e.signIn(browser, "")
	before := e.sidCookie(b)
	require.Len(t, before, sessionIDLen)
	require.Equal(t, 1, e.store.Len())
	_, ok, _ := e.store.Get(context.Background(), storeID(before))
	require.True(t, ok, "the store is keyed by the id's digest")
	_, ok, _ = e.store.Get(context.Background(), before)
	require.False(t, ok, "never by the cookie value itself")

	// Signing in again, while signed in: the pending sign-in is in its
	// own cookie, the record unchanged until the callback.
	resp, err := b.Get(e.app.URL + "/sign-in?return_to=/protected/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, setCookie(resp.Header, DefaultServerSessionName))
	assert.NotEmpty(t, setCookie(resp.Header, DefaultServerSessionName+"_pending"))
	require.Equal(t, before, e.sidCookie(b))
	cb, err := e.idp.Authorize(resp.Header.Get("Location"), testUserID)
	require.NoError(t, err)
	resp, err = b.Get(cb)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "/protected/x", resp.Header.Get("Location"))
	after := e.sidCookie(b)
	assert.Len(t, after, sessionIDLen)
	assert.NotEqual(t, before, after, "the session id changes at sign-in")
	assert.Equal(t, 1, e.store.Len(), "the old session is deleted")
	_, ok, _ = e.store.Get(context.Background(), storeID(before))
	assert.False(t, ok)
	rec, ok, _ := e.store.Get(context.Background(), storeID(after))
	require.True(t, ok)
	assert.Equal(t, testUserID, rec.Subject, "the record names its user")
	assert.NotEmpty(t, rec.Values["idToken"])
	assert.NotContains(t, rec.Values, logto.StorageKeySignInSession, "pending sign-ins never reach the store")

	// The old id no longer signs anyone in.
	r := request(http.MethodGet, "/api/x", DefaultServerSessionName+"="+before)
	w := newRecorder()
	e.mux.ServeHTTP(w, r)
	assert.Equal(t, http.StatusUnauthorized, w.Code)
	assert.Contains(t, w.Header().Get("Set-Cookie"), DefaultServerSessionName+"=; Path=/; Max-Age=0", "a dead id is cleared")
	// The new one does.
	r = request(http.MethodGet, "/api/x", DefaultServerSessionName+"="+after)
	w = newRecorder()
	e.mux.ServeHTTP(w, r)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Header().Values("Set-Cookie"), "an unchanged session is not written")
}

func TestServerSessionFixation(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	// An attacker plants a session id of their choosing: it is never
	// adopted, whatever its form.
	for _, planted := range []string{
		strings.Repeat("A", sessionIDLen),
		"short",
		strings.Repeat("!", sessionIDLen),
	} {
		b := e.browser()
		u, _ := url.Parse(e.app.URL)
		b.Jar.SetCookies(u, []*http.Cookie{{Name: DefaultServerSessionName, Value: planted}})
		e.signIn(b, "")
		got := e.sidCookie(b)
		assert.NotEqual(t, planted, got)
		assert.Len(t, got, sessionIDLen)
	}

	// An attacker's own signed-in session id planted in the victim's
	// browser is replaced at sign-in.
	attacker := e.browser()
	e.signIn(attacker, "")
	planted := e.sidCookie(attacker)
	victim := e.browser()
	u, _ := url.Parse(e.app.URL)
	victim.Jar.SetCookies(u, []*http.Cookie{{Name: DefaultServerSessionName, Value: planted}})
	e.signIn(victim, "")
	assert.NotEqual(t, planted, e.sidCookie(victim))
}

// failingStore fails every call after fail is set.
type failingStore struct {
	*MemorySessionStore
	mu   sync.Mutex
	fail bool
}

var errStoreDown = errors.New("store is down")

func (f *failingStore) failing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail
}

func (f *failingStore) Get(ctx context.Context, id string) (SessionRecord, bool, error) {
	if f.failing() {
		return SessionRecord{}, false, errStoreDown
	}
	return f.MemorySessionStore.Get(ctx, id)
}

func (f *failingStore) Set(ctx context.Context, id string, rec SessionRecord, ttl time.Duration) error {
	if f.failing() {
		return errStoreDown
	}
	return f.MemorySessionStore.Set(ctx, id, rec, ttl)
}

func TestServerSessionStoreFailure(t *testing.T) {
	store := &failingStore{MemorySessionStore: NewMemorySessionStore(0, 0)}
	e := newEnv(t, envOptions{kind: "server", store: func() SessionStore { return store }})
	b := e.browser()
	e.signIn(b, "")
	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()

	// A store outage is an error page, not a signed-out user.
	resp, body := e.get(b, "/api/x")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Contains(t, body, msgSession)
	assert.NotContains(t, body, "store is down", "the detail is for the log")
	assert.Contains(t, e.logs.String(), "store is down")
	resp, body = e.get(noRedirects(b), "/sign-in")
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode, body)
}

func TestEndUserSessions(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	e.idp.AddUser(logtotest.User{ID: "user-2", Username: "bob"})
	sessions := e.h.sessions.(*ServerSessions)
	browsers := map[string]*http.Client{}
	for _, name := range []string{"jane-laptop", "jane-phone", "bob"} {
		user := testUserID
		if name == "bob" {
			user = "user-2"
		}
		e.idp.SetAutoLogin(user)
		browsers[name] = e.browser()
		e.signIn(browsers[name], "")
	}
	signedIn := func(name string) bool {
		resp, _ := e.get(browsers[name], "/api/x")
		return resp.StatusCode == http.StatusOK
	}
	ctx := context.Background()

	// Only one Logto session (sid) of Jane.
	rec, ok, err := e.store.Get(ctx, storeID(e.sidCookie(browsers["jane-laptop"])))
	require.NoError(t, err)
	require.True(t, ok)
	phone, _, _ := e.store.Get(ctx, storeID(e.sidCookie(browsers["jane-phone"])))
	if rec.SID != "" {
		require.NoError(t, sessions.EndUserSessions(ctx, "", rec.SID))
		assert.False(t, signedIn("jane-laptop"))
		assert.Equal(t, phone.SID != rec.SID, signedIn("jane-phone"), "only sessions of that sid end")
		assert.True(t, signedIn("bob"))
	}
	// Every session of Jane.
	require.NoError(t, sessions.EndUserSessions(ctx, testUserID, ""))
	assert.False(t, signedIn("jane-laptop"))
	assert.False(t, signedIn("jane-phone"))
	assert.True(t, signedIn("bob"))

	assert.Error(t, sessions.EndUserSessions(ctx, "", ""))
	plain, err := NewServerSessions(struct{ SessionStore }{e.store}, CookieOptions{Keys: [][]byte{testKey}})
	require.NoError(t, err)
	assert.ErrorContains(t, plain.EndUserSessions(ctx, "u", ""), "UserSessionDeleter")
}
