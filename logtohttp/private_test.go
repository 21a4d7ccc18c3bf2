package logtohttp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSessionCookieResponsesAreNotCacheable: every response that writes
// or clears a session cookie says Cache-Control: no-store and Vary:
// Cookie, whatever the application set; other responses keep the
// application's caching headers.
func TestSessionCookieResponsesAreNotCacheable(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind})
			// A page the application marks as cacheable, that changes the
			// session (as a token refresh would) or only reads it.
			e.mux.Handle("/cached", e.h.Sessions(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=300")
				w.Header().Set("Vary", "Accept-Encoding")
				_ = e.h.Client(r).IsAuthenticated(r.Context()) // reads the session
				if r.URL.Query().Has("write") {
					require.NoError(t, e.h.Client(r).Storage().Set(r.Context(), "k", r.URL.RawQuery))
				}
				_, _ = w.Write([]byte("page"))
			})))
			b := e.browser()
			e.signIn(b, "")
			name := e.sessionCookieName()

			check := func(what string, resp *http.Response, private bool) {
				t.Helper()
				if private {
					assert.NotEmpty(t, setCookies(resp.Header), what)
					assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), what)
					assert.Equal(t, []string{"Accept-Encoding", "Cookie"}, resp.Header.Values("Vary"), what)
				} else {
					assert.Empty(t, setCookies(resp.Header), what)
					assert.Equal(t, "public, max-age=300", resp.Header.Get("Cache-Control"), what)
					assert.Equal(t, []string{"Accept-Encoding"}, resp.Header.Values("Vary"), what)
				}
			}
			resp, _ := e.get(b, "/cached?write=1")
			check("session written", resp, true)
			resp, _ = e.get(b, "/cached")
			check("session unchanged", resp, false)

			// An unreadable cookie is cleared: private too.
			w := newRecorder()
			e.mux.ServeHTTP(w, request(http.MethodGet, "/cached", name+"=garbage"))
			check("bad cookie cleared", w.Result(), true)
			assert.Contains(t, setCookie(w.Header(), name), "Max-Age=0")

			// The handlers' own responses.
			resp, err := noRedirects(b).Get(e.app.URL + "/sign-in")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "Cookie", resp.Header.Get("Vary"))
			resp, err = noRedirects(b).Get(e.app.URL + "/sign-out")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "Cookie", resp.Header.Get("Vary"))
		})
	}
}

// TestMarkPrivate adds Vary: Cookie once, whatever Vary already says.
func TestMarkPrivate(t *testing.T) {
	for _, tt := range []struct {
		vary []string
		want []string
	}{
		{nil, []string{"Cookie"}},
		{[]string{"Accept-Encoding"}, []string{"Accept-Encoding", "Cookie"}},
		{[]string{"Accept-Encoding, cookie"}, []string{"Accept-Encoding, cookie"}},
		{[]string{"*"}, []string{"*"}},
		{[]string{"Origin", "Cookie"}, []string{"Origin", "Cookie"}},
	} {
		h := http.Header{"Cache-Control": {"public, max-age=300"}}
		for _, v := range tt.vary {
			h.Add("Vary", v)
		}
		markPrivate(h)
		markPrivate(h)
		assert.Equal(t, "no-store", h.Get("Cache-Control"))
		assert.Equal(t, tt.want, h.Values("Vary"), strings.Join(tt.vary, "|"))
	}
}

// sessionCookieName is the name of the session's (first) cookie.
func (e *env) sessionCookieName() string {
	if e.cookies != nil {
		return DefaultCookieSessionName
	}
	return DefaultServerSessionName
}
