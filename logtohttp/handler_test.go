package logtohttp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

var sessionKinds = []string{"cookie", "server"}

func TestSignInCallbackSignOut(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind})
			b := e.browser()

			_, body := e.get(b, "/")
			assert.Equal(t, "signed out", body)

			body = e.signIn(b, "/protected/page?x=1")
			assert.Equal(t, "protected /protected/page?x=1 for "+testUserID, body)
			_, body = e.get(b, "/")
			assert.Equal(t, "signed in as "+testUserID, body)
			require.Equal(t, 1, e.idp.RequestCount(logtotest.EndpointToken))

			// Sign-out: Logto's end-session endpoint, then back home.
			resp, err := noRedirects(b).Get(e.app.URL + "/sign-out")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			assert.Equal(t, e.idp.Issuer()+"/session/end", loc.Scheme+"://"+loc.Host+loc.Path)
			assert.Equal(t, testAppID, loc.Query().Get("client_id"))
			assert.Equal(t, e.app.URL+"/", loc.Query().Get("post_logout_redirect_uri"))
			assert.NotEmpty(t, loc.Query().Get("id_token_hint"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.Equal(t, 1, e.idp.RequestCount(logtotest.EndpointRevocation))
			assert.Empty(t, e.appCookies(b), "sign-out clears every session cookie")
			if e.store != nil {
				assert.Zero(t, e.store.Len(), "sign-out deletes the server-side session")
			}
			resp, body = e.get(b, loc.String())
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			resp, body = e.submitLogoutForm(b, body)
			assert.Equal(t, e.app.URL+"/", resp.Request.URL.String())
			assert.Equal(t, "signed out", body)
			assert.Equal(t, 1, e.idp.RequestCount(logtotest.EndpointEndSessionConfirm))

			// POST also signs out (303), even when signed out already.
			resp, err = noRedirects(b).Post(e.app.URL+"/sign-out", "", nil)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
		})
	}
}

func TestSignInOptionsFromQuery(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *Config) {
		c.SignInOptions = logto.SignInOptions{
			FirstScreen: logto.FirstScreenSignIn,
			ExtraParams: map[string]string{"ui_locales": "fr"},
			RedirectURI: "https://ignored.example/cb",
		}
	}})
	tests := []struct {
		query string
		want  map[string]string // auth request parameters; "" means absent
	}{
		{"", map[string]string{"first_screen": "sign_in", "ui_locales": "fr", "interaction_mode": ""}},
		{"interaction_mode=signUp", map[string]string{"interaction_mode": "signUp", "first_screen": "sign_in"}},
		{"interaction_mode=admin", map[string]string{"interaction_mode": ""}},
		{"first_screen=register&identifier=email,username", map[string]string{"first_screen": "register", "identifier": "email username"}},
		{"first_screen=bogus&identifier=fax", map[string]string{"first_screen": "sign_in", "identifier": ""}},
		{"login_hint=jane@example.com", map[string]string{"login_hint": "jane@example.com"}},
		{"direct_sign_in=social:google", map[string]string{"direct_sign_in": "social:google"}},
		{"direct_sign_in=magic:x", map[string]string{"direct_sign_in": ""}},
		{"redirect_uri=https://evil.example/cb&prompt=none&state=x", map[string]string{"prompt": "consent"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			e.idp.ResetRequests()
			b := noRedirects(e.browser())
			resp, err := b.Get(e.app.URL + "/sign-in?" + tt.query)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusFound, resp.StatusCode)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			q := loc.Query()
			assert.Equal(t, e.app.URL+"/callback", q.Get("redirect_uri"))
			assert.NotEqual(t, "x", q.Get("state"))
			for k, v := range tt.want {
				assert.Equal(t, v, q.Get(k), k)
			}
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.NotEmpty(t, setCookies(resp.Header), "the pending sign-in is saved")
		})
	}
}

func TestCallbackErrors(t *testing.T) {
	for _, kind := range sessionKinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, envOptions{kind: kind})
			b := e.browser()

			// The user cancels at Logto: a human message; Logto's
			// description goes to the log only.
			e.idp.DenyNextAuthorization("access_denied", `<script>alert("x")</script>`)
			resp, body := e.get(b, "/sign-in")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, body, msgCancelled)
			assert.NotContains(t, body, "script")
			assert.NotContains(t, body, "logto:")
			assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
			assert.Contains(t, e.logs.String(), "access_denied")
			_, body = e.get(b, "/")
			assert.Equal(t, "signed out", body)

			// A forged or replayed callback.
			resp, body = e.get(b, "/callback?code=abc&state=forged")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, body, msgStale)
			assert.NotContains(t, body, "abc")

			// Replaying a good callback once signed in lands on the page.
			nb := noRedirects(b)
			resp, err := nb.Get(e.app.URL + "/sign-in?return_to=/protected/x")
			require.NoError(t, err)
			resp.Body.Close()
			cb, err := e.idp.Authorize(resp.Header.Get("Location"), testUserID)
			require.NoError(t, err)
			// The second time, the return_to entry is spent: default page.
			for _, want := range []string{"/protected/x", "/"} {
				resp, err = nb.Get(cb)
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, http.StatusFound, resp.StatusCode)
				assert.Equal(t, want, resp.Header.Get("Location"))
			}
			assert.Equal(t, 1, e.idp.RequestCount(logtotest.EndpointToken))
		})
	}
}

func TestCallbackErrorHandler(t *testing.T) {
	var got error
	var gotStatus int
	e := newEnv(t, envOptions{config: func(c *Config) {
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, status int, err error) {
			got, gotStatus = err, status
			http.Error(w, "custom", status)
		}
	}})
	resp, body := e.get(e.browser(), "/callback?state=nope&code=x")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "custom\n", body)
	assert.Equal(t, http.StatusBadRequest, gotStatus)
	assert.ErrorIs(t, got, logto.ErrSignInSessionNotFound)
}

func TestMultipleTabsKeepTheirReturnTo(t *testing.T) {
	e := newEnv(t, envOptions{kind: "server"})
	b := noRedirects(e.browser())
	var authURLs []string
	for _, p := range []string{"/protected/a", "/protected/b", "/protected/c"} {
		resp, err := b.Get(e.app.URL + "/sign-in?return_to=" + url.QueryEscape(p))
		require.NoError(t, err)
		resp.Body.Close()
		authURLs = append(authURLs, resp.Header.Get("Location"))
	}
	for i, want := range []string{"/protected/b", "/protected/a", "/protected/c"} {
		authURL := authURLs[[]int{1, 0, 2}[i]]
		cb, err := e.idp.Authorize(authURL, testUserID)
		require.NoError(t, err)
		resp, err := b.Get(cb)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.Header.Get("Location"))
	}
}

func TestBaseURLWithPath(t *testing.T) {
	// The app is mounted at /app behind a proxy that strips the prefix.
	e := newEnv(t, envOptions{base: func(u string) string { return u + "/app/" }})
	b := noRedirects(e.browser())

	r := request(http.MethodGet, "/protected/x", "")
	w := newRecorder()
	e.mux.ServeHTTP(w, r)
	assert.Equal(t, "/app/sign-in?return_to=%2Fprotected%2Fx", w.Header().Get("Location"))

	resp, err := b.Get(e.app.URL + "/sign-in?return_to=/protected/x")
	require.NoError(t, err)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	assert.Equal(t, e.app.URL+"/app/callback", loc.Query().Get("redirect_uri"))
	cb, err := e.idp.Authorize(loc.String(), testUserID)
	require.NoError(t, err)
	cbURL, _ := url.Parse(cb)
	assert.Equal(t, "/app/callback", cbURL.Path)
	// The proxy strips /app before the app sees the callback.
	resp, err = b.Get(e.app.URL + "/callback?" + cbURL.RawQuery)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/app/protected/x", resp.Header.Get("Location"))
}

func TestForwardedHeaders(t *testing.T) {
	const public = "https://public.example"
	e := newEnv(t, envOptions{base: func(string) string { return public }, config: func(c *Config) {
		c.BaseURL = ""
		c.TrustForwardedHeaders = true
	}})
	tests := []struct {
		name   string
		header map[string]string
		want   string
	}{
		{"x-forwarded", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example"}, "https://public.example/callback"},
		{"x-forwarded list", map[string]string{"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "public.example, internal"}, "https://public.example/callback"},
		{"forwarded", map[string]string{"Forwarded": `for=1.2.3.4;proto=https;host="public.example", for=5.6.7.8`}, "https://public.example/callback"},
		{"host only", nil, "http://app.internal:8080/callback"},
		{"bad host", map[string]string{"X-Forwarded-Host": "evil.example/path?"}, "http://app.internal:8080/callback"},
		{"bad proto", map[string]string{"X-Forwarded-Proto": "javascript"}, "http://app.internal:8080/callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(http.MethodGet, "http://app.internal:8080/sign-in", "")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			assert.Equal(t, tt.want, e.h.CallbackURL(r))
		})
	}

	// Without the opt-in, headers are ignored.
	h2, err := New(Config{Client: e.client, Sessions: e.cookies, BaseURL: "https://fixed.example"})
	require.NoError(t, err)
	r := request(http.MethodGet, "http://app.internal/sign-in", "")
	r.Header.Set("X-Forwarded-Host", "evil.example")
	r.Header.Set("Forwarded", "host=evil.example")
	assert.Equal(t, "https://fixed.example/callback", h2.CallbackURL(r))

	// The whole flow through the public URL.
	w := newRecorder()
	r = request(http.MethodGet, "http://app.internal/sign-in", "")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "public.example")
	e.mux.ServeHTTP(w, r)
	loc, _ := url.Parse(w.Header().Get("Location"))
	assert.Equal(t, public+"/callback", loc.Query().Get("redirect_uri"))
	for _, c := range setCookies(w.Header()) {
		assert.Contains(t, c, "; Secure", "an https public URL gets Secure cookies")
	}
}

func TestNewValidation(t *testing.T) {
	client, err := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: "https://logto.example", AppId: "a"}, nil)
	require.NoError(t, err)
	cs, err := NewCookieSessions(CookieOptions{Keys: [][]byte{testKey}})
	require.NoError(t, err)
	ok := Config{Client: client, Sessions: cs, BaseURL: "https://app.example"}
	_, err = New(ok)
	require.NoError(t, err)
	tests := map[string]func(*Config){
		"no client":          func(c *Config) { c.Client = nil },
		"no sessions":        func(c *Config) { c.Sessions = nil },
		"no base URL":        func(c *Config) { c.BaseURL = "" },
		"relative base URL":  func(c *Config) { c.BaseURL = "/app" },
		"ftp base URL":       func(c *Config) { c.BaseURL = "ftp://app.example" },
		"base URL query":     func(c *Config) { c.BaseURL = "https://app.example/?a=b" },
		"base URL fragment":  func(c *Config) { c.BaseURL = "https://app.example/#x" },
		"base URL user":      func(c *Config) { c.BaseURL = "https://u:p@app.example" },
		"callback path":      func(c *Config) { c.CallbackPath = "callback" },
		"sign-in path":       func(c *Config) { c.SignInPath = "//sign-in" },
		"sign-out path":      func(c *Config) { c.SignOutPath = "/out?x=1" },
		"default return to":  func(c *Config) { c.DefaultReturnTo = "https://evil.example" },
		"default return to2": func(c *Config) { c.DefaultReturnTo = "//evil.example" },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			mod(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "logtohttp: Config.", "the error names the field")
		})
	}
}

func TestSecureCookieDefault(t *testing.T) {
	tests := []struct {
		base string
		want bool
	}{
		{"http://localhost:3000", false},
		{"http://127.0.0.1:3000", false},
		{"http://127.0.0.2", false},
		{"http://[::1]:8080", false},
		{"https://localhost", true},
		{"http://192.168.1.10:3000", true},
		{"http://app.example", true},
		{"https://app.example", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, secureFor(tt.base), tt.base)
	}
}

func TestHandlerPathsAreConfigurable(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *Config) {
		c.SignInPath, c.CallbackPath, c.SignOutPath = "/auth/login", "/auth/cb", "/auth/logout"
		c.DefaultReturnTo = "/protected/home"
		c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	}})
	e.idp.AddApp(logtotest.App{ID: testAppID, Secret: testSecret,
		RedirectURIs: []string{e.app.URL + "/auth/cb"}, PostLogoutRedirectURIs: []string{e.app.URL + "/"}})
	b := e.browser()
	resp, body := e.get(b, "/auth/login")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "protected /protected/home for "+testUserID, body)

	r := request(http.MethodGet, "/protected/x", "")
	w := newRecorder()
	e.mux.ServeHTTP(w, r)
	assert.Equal(t, "/auth/login?return_to=%2Fprotected%2Fx", w.Header().Get("Location"))
}
