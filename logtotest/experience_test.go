package logtotest_test

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// experienceCase is one line of testdata/experience-redirects.golden.
type experienceCase struct{ query, location string }

func readExperienceCases(t *testing.T) []experienceCase {
	t.Helper()
	f, err := os.Open("testdata/experience-redirects.golden")
	require.NoError(t, err)
	defer f.Close()
	var cases []experienceCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		q, loc, ok := strings.Cut(line, " => ")
		require.True(t, ok, line)
		cases = append(cases, experienceCase{strings.TrimSpace(q), loc})
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, cases)
	return cases
}

// TestSignInExperienceRedirects checks that /oidc/auth sends a browser to
// the screen Logto 1.42 sends it to, at the same location, for each sign-in
// experience parameter set the golden file recorded on the real server.
func TestSignInExperienceRedirects(t *testing.T) {
	srv := newFixture(t, logtotest.WithLoginPage())
	base := "client_id=" + webID + "&redirect_uri=" + url.QueryEscape(redirectURI) + "&response_type=code&scope=openid&state=s1"
	for _, tc := range readExperienceCases(t) {
		t.Run(tc.query, func(t *testing.T) {
			raw := srv.Issuer() + "/auth?" + base
			if tc.query != "" {
				raw += "&" + tc.query
			}
			resp, _ := browserGet(t, browser(t), raw)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			assert.Equal(t, strings.ReplaceAll(tc.location, "{app}", webID), resp.Header.Get("Location"))
			var cookie *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == "_interaction" {
					cookie = c
				}
			}
			require.NotNil(t, cookie, "the pending sign-in is in the _interaction cookie")
			assert.Equal(t, "/", cookie.Path)
			assert.True(t, cookie.HttpOnly)
		})
	}
}

// TestSignInScreens follows each kind of first screen in a browser: the
// page is titled for the screen (a sign-up link lands on "Create account"),
// direct sign-in falls back to its fallback screen (the fake has no
// connectors), and every screen signs an existing user in.
func TestSignInScreens(t *testing.T) {
	srv := newFixture(t, logtotest.WithLoginPage(), logtotest.WithSignInHint("Demo: sign in as alice"))
	tests := []struct {
		name    string
		extra   url.Values
		path    string // of the page finally shown
		title   string
		note    string
		prefill string
	}{
		{"default", nil, "/sign-in", "Sign in", "", ""},
		{"login hint", url.Values{"login_hint": {"bob"}}, "/sign-in", "Sign in", "", "bob"},
		{"sign up (interaction_mode)", url.Values{"interaction_mode": {"signUp"}}, "/register", "Create account", "creates no accounts", ""},
		{"register", url.Values{"first_screen": {"register"}}, "/register", "Create account", "creates no accounts", ""},
		{"identifier sign-in", url.Values{"first_screen": {"identifier:sign_in"}, "identifier": {"username"}}, "/identifier-sign-in", "Sign in", "", ""},
		{"identifier register", url.Values{"first_screen": {"identifier:register"}}, "/identifier-register", "Create account", "creates no accounts", ""},
		{"single sign-on", url.Values{"first_screen": {"single_sign_on"}}, "/single-sign-on", "Single sign-on", "no single sign-on", ""},
		{"reset password", url.Values{"first_screen": {"reset_password"}}, "/reset-password", "Reset password", "no passwords", ""},
		{"direct social sign-in falls back", url.Values{"direct_sign_in": {"social:google"}, "login_hint": {"bob"}}, "/sign-in", "Sign in", "", "bob"},
		{"direct sso with register fallback", url.Values{"direct_sign_in": {"sso:c1"}, "first_screen": {"register"}}, "/register", "Create account", "creates no accounts", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := browser(t)
			p := authParams(webID, "openid")
			for k, v := range tt.extra {
				p[k] = v
			}
			resp, _ := browserGet(t, b, authURL(srv, p))
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			loc := srv.URL() + resp.Header.Get("Location")
			resp, page := browserGet(t, b, loc)
			if strings.Contains(loc, "/direct/") {
				require.Equal(t, http.StatusSeeOther, resp.StatusCode, page)
				next, err := url.Parse(resp.Header.Get("Location"))
				require.NoError(t, err)
				assert.Empty(t, next.Query().Get("fallback"))
				assert.Equal(t, webID, next.Query().Get("app_id"), "the other parameters are kept")
				resp, page = browserGet(t, b, srv.URL()+next.String())
			}
			require.Equal(t, http.StatusOK, resp.StatusCode, page)
			assert.Equal(t, tt.path, resp.Request.URL.Path)
			assert.Contains(t, page, "<title>"+tt.title+"</title>")
			assert.Contains(t, page, "<h1>"+tt.title+"</h1>")
			assert.Contains(t, page, `<p id="hint">Demo: sign in as alice</p>`)
			if tt.note != "" {
				assert.Contains(t, page, tt.note)
			} else {
				assert.NotContains(t, page, `id="note"`)
			}
			assert.Contains(t, page, `name="username" id="username" value="`+tt.prefill+`"`)

			// The form posts to /sign-in; the interaction cookie names the
			// pending sign-in (the page's hidden uid does too).
			resp, err := b.PostForm(srv.URL()+"/sign-in", url.Values{"username": {"alice"}})
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			assert.NotEmpty(t, callbackQuery(t, resp).Get("code"))
		})
	}
}

// TestSignInFormErrors: an empty field asks for a username; an unknown
// name is named; both keep the screen.
func TestSignInFormErrors(t *testing.T) {
	srv := newFixture(t, logtotest.WithLoginPage())
	b := browser(t)
	p := authParams(webID, "openid")
	p.Set("interaction_mode", "signUp")
	resp, _ := browserGet(t, b, authURL(srv, p))
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page := browserGet(t, b, srv.URL()+resp.Header.Get("Location"))
	assert.NotContains(t, page, `id="hint"`, "no hint unless WithSignInHint")

	tests := []struct{ username, want string }{
		{"", `<p id="error" role="alert">Enter a username.</p>`},
		{"   ", `<p id="error" role="alert">Enter a username.</p>`},
		{"nobody", `<p id="error" role="alert">Unknown user &#34;nobody&#34;: enter a username or user ID.</p>`},
	}
	for _, tt := range tests {
		resp, err := b.PostForm(srv.URL()+"/sign-in", url.Values{"username": {tt.username}, "screen": {"register"}})
		require.NoError(t, err)
		body := bodyOf(t, resp)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, tt.want, tt.username)
		assert.Contains(t, body, "<title>Create account</title>", "the screen is kept")
		assert.NotContains(t, body, "Unknown user: enter", tt.username)
	}

	// Without the cookie or a uid, the page does not know the sign-in.
	resp, err := noRedirect.PostForm(srv.URL()+"/sign-in", url.Values{"username": {"alice"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, err = noRedirect.Get(srv.URL() + "/register?app_id=" + webID)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// bodyOf reads and closes the response body.
func bodyOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestAuthorizationAnswersMatchLogto replays the authorization requests of
// testdata/auth-errors.golden, recorded on Logto 1.42.0, against the fake
// and expects the same status and Location, or the same JSON body (code,
// message, error, error_description, state, iss).
func TestAuthorizationAnswersMatchLogto(t *testing.T) {
	const goldenRedirect = "http://127.0.0.1:3000/callback"
	srv := logtotest.NewServer(t, logtotest.WithLoginPage())
	srv.AddApp(logtotest.App{ID: "web-app", Secret: "s", RedirectURIs: []string{goldenRedirect}})
	srv.AddApp(logtotest.App{ID: "native-app", Type: logtotest.AppNative, RedirectURIs: []string{goldenRedirect}})
	srv.AddResource(logtotest.Resource{Indicator: "https://api.example.com"})
	fill := strings.NewReplacer("{web}", "web-app", "{native}", "native-app",
		"{redirect}", goldenRedirect, "{iss}", srv.Issuer())
	fillQuery := strings.NewReplacer("{web}", "web-app", "{native}", "native-app",
		"{redirect}", url.QueryEscape(goldenRedirect))
	f, err := os.Open("testdata/auth-errors.golden")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		q, answer, ok := strings.Cut(line, " => ")
		require.True(t, ok, line)
		status, want, _ := strings.Cut(answer, " ")
		n++
		t.Run(strings.TrimSpace(q), func(t *testing.T) {
			resp, body := browserGet(t, browser(t), srv.Issuer()+"/auth?"+fillQuery.Replace(strings.TrimSpace(q)))
			assert.Equal(t, status, strconv.Itoa(resp.StatusCode))
			if resp.StatusCode == http.StatusSeeOther {
				// The issuer appears query-encoded in redirects.
				want = strings.ReplaceAll(want, "{iss}", url.QueryEscape(srv.Issuer()))
				assert.Equal(t, fill.Replace(want), resp.Header.Get("Location"))
				return
			}
			assert.JSONEq(t, fill.Replace(want), body)
		})
	}
	require.NoError(t, sc.Err())
	require.Greater(t, n, 20)
}
