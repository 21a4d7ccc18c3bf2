package logtohttp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostPrefixOnHTTPS: over https the session cookies are named
// __Host-… (Secure, Path=/, no Domain), so that a cookie tossed from a
// sibling subdomain under the plain name is ignored; plain-http loopback
// keeps the plain names, which browsers accept without Secure.
func TestHostPrefixOnHTTPS(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			const base = "https://app.example.com"
			e := newEnv(t, envOptions{kind: kind, base: func(string) string { return base }})
			jar := map[string]string{}
			serve := func(target string, cookies map[string]string) *http.Response {
				var parts []string
				for k, v := range cookies {
					parts = append(parts, k+"="+v)
				}
				w := newRecorder()
				e.mux.ServeHTTP(w, request(http.MethodGet, target, strings.Join(parts, "; ")))
				resp := w.Result()
				for _, c := range resp.Cookies() {
					assert.True(t, strings.HasPrefix(c.Name, hostPrefix), c.Name)
					assert.True(t, c.Secure, c.Name)
					assert.Equal(t, "/", c.Path)
					assert.Empty(t, c.Domain)
					if c.MaxAge < 0 {
						delete(jar, c.Name)
					} else {
						jar[c.Name] = c.Value
					}
				}
				return resp
			}

			resp := serve("/sign-in", jar)
			require.Equal(t, http.StatusFound, resp.StatusCode)
			require.NotEmpty(t, jar)
			cb, err := e.idp.Authorize(resp.Header.Get("Location"), testUserID)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(cb, base+"/callback?"), cb)
			resp = serve(strings.TrimPrefix(cb, base), jar)
			require.Equal(t, http.StatusFound, resp.StatusCode)
			assert.Equal(t, http.StatusOK, serve("/api/x", jar).StatusCode)

			// The same values under the plain names are not this site's.
			tossed := map[string]string{}
			for k, v := range jar {
				tossed[strings.TrimPrefix(k, hostPrefix)] = v
			}
			assert.Equal(t, http.StatusUnauthorized, serve("/api/x", tossed).StatusCode)
			// And a tossed cookie next to the real one does not win.
			both := map[string]string{}
			for k, v := range tossed {
				both[k] = "x" + v
			}
			for k, v := range jar {
				both[k] = v
			}
			assert.Equal(t, http.StatusOK, serve("/api/x", both).StatusCode)
		})
	}

	// Plain-http loopback (every other test): no prefix, no Secure.
	e := newEnv(t, envOptions{})
	b := e.browser()
	e.signIn(b, "")
	assert.Contains(t, e.appCookies(b), DefaultCookieSessionName)
}

func TestCookieNameMustNotCarryAPrefix(t *testing.T) {
	for _, name := range []string{"__Host-x", "__host-x", "__Secure-x", "__SECURE-x"} {
		_, err := NewCookieSessions(CookieOptions{Name: name, Keys: [][]byte{testKey}})
		assert.ErrorContains(t, err, "prefix", name)
		_, err = NewServerSessions(NewMemorySessionStore(0, 0), CookieOptions{Name: name})
		assert.ErrorContains(t, err, "prefix", name)
	}
}
