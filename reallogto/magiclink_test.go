package reallogto

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// magicLinkTarget completes an authorization request that carries a
// one-time token (SignInOptions.OneTimeToken with LoginHint) the way
// Logto's sign-in page does with a magic link. It returns the redirect to
// the app, or "" and Logto's error code when the token is refused.
type magicLinkTarget interface {
	magicLinkSignIn(t *testing.T, b *browser, authURL string) (redirect, code string)
}

// magicLinkSignIn on the real server: the sign-in page it lands on carries
// one_time_token and login_hint; the page verifies them through the
// Experience API (POST /api/experience/verification/one-time-token/verify
// with the email as identifier), identifies, submits, and the browser goes
// on through consent to the app.
func (r *realTarget) magicLinkSignIn(t *testing.T, b *browser, authURL string) (string, string) {
	t.Helper()
	code := ""
	redirect := r.walkAuthorization(t, b, authURL, func(lu *url.URL) string {
		q := lu.Query()
		require.NotEmpty(t, q.Get("one_time_token"), "the sign-in page gets the token: %s", lu)
		e := r.f.Endpoint + "/api/experience"
		p := b.sendJSON(http.MethodPut, e, map[string]any{"interactionEvent": "SignIn"})
		require.Equal(t, http.StatusNoContent, p.status, "PUT /api/experience: %s", p)
		p = b.sendJSON(http.MethodPost, e+"/verification/one-time-token/verify", map[string]any{
			"identifier": map[string]any{"type": "email", "value": q.Get("login_hint")}, "token": q.Get("one_time_token"),
		})
		var v struct {
			VerificationID string `json:"verificationId"`
			Code           string `json:"code"`
		}
		require.NoError(t, json.Unmarshal(p.body, &v), "%s", p)
		if p.status != http.StatusOK {
			t.Logf("one-time token refused: %s", p)
			code = v.Code
			require.NotEmpty(t, code, "a refusal names its code: %s", p)
			return ""
		}
		return identifyAndSubmit(t, b, e, v.VerificationID)
	})
	return redirect, code
}

var errorCodeRe = regexp.MustCompile(`data-code="([^"]+)"`)

// magicLinkSignIn on logtotest: its page "Continue as <email>" is posted
// as it is; a refused token is shown in the page's error paragraph.
func (f *fakeTarget) magicLinkSignIn(t *testing.T, b *browser, authURL string) (string, string) {
	t.Helper()
	loc := authURL
	for hops := 0; hops < 12; hops++ {
		if hops > 0 && !sameOrigin(loc, f.srv.URL()) {
			return loc, ""
		}
		p := b.get(loc)
		if p.status == http.StatusOK {
			action, form := parseForm(t, p)
			p = b.postForm(action, form)
		}
		if m := errorCodeRe.FindSubmatch(p.body); m != nil {
			return "", string(m[1])
		}
		require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
		loc = p.location
	}
	t.Fatalf("magic-link sign-in did not reach the app after 12 redirects (last %s)", loc)
	return "", ""
}

// TestMagicLinkSignIn: a one-time token created through the SDK's
// Management helper signs its user in from a magic link
// (SignInOptions.OneTimeToken with LoginHint), headlessly, and is consumed;
// used again, or for another email, it is refused with Logto's code and
// nothing is stored.
func TestMagicLinkSignIn(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		mt := tg.(magicLinkTarget)
		mgmt := tg.(exchangeTarget).managementClient(t, newRecorder())
		u := tg.newUser(t, userSpec{Email: true})
		other := tg.newUser(t, userSpec{Email: true})
		web := tg.webApp()
		ott, err := mgmt.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: u.Email})
		require.NoError(t, err)
		if r, ok := tg.(*realTarget); ok {
			r.m.cleanup(t, "/one-time-tokens/"+ott.ID)
		}
		link := logto.SignInOptions{RedirectURI: web.RedirectURI, OneTimeToken: ott.Token, LoginHint: u.Email}

		c := clientFor(t, tg, web, nil, nil, nil)
		authURL, err := c.SignIn(ctx, link)
		require.NoError(t, err)
		cb, code := mt.magicLinkSignIn(t, newBrowser(t), authURL)
		require.Empty(t, code)
		require.NoError(t, c.HandleCallback(ctx, cb))
		claims, err := c.GetIdTokenClaims(ctx)
		require.NoError(t, err)
		assert.Equal(t, u.ID, claims.Subject, "signed in as the token's user, without a password")

		// Used again, from another browser: refused, nothing stored.
		c2 := clientFor(t, tg, web, nil, nil, nil)
		authURL, err = c2.SignIn(ctx, link)
		require.NoError(t, err)
		cb, code = mt.magicLinkSignIn(t, newBrowser(t), authURL)
		assert.Empty(t, cb)
		assert.Equal(t, "one_time_token.token_consumed", code)
		assert.False(t, c2.IsAuthenticated(ctx))

		// A fresh token presented with another user's email: refused.
		ott2, err := mgmt.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: u.Email})
		require.NoError(t, err)
		if r, ok := tg.(*realTarget); ok {
			r.m.cleanup(t, "/one-time-tokens/"+ott2.ID)
		}
		authURL, err = c2.SignIn(ctx, logto.SignInOptions{RedirectURI: web.RedirectURI, OneTimeToken: ott2.Token, LoginHint: other.Email})
		require.NoError(t, err)
		cb, code = mt.magicLinkSignIn(t, newBrowser(t), authURL)
		assert.Empty(t, cb)
		assert.Equal(t, "one_time_token.email_mismatch", code)
		assert.False(t, c2.IsAuthenticated(ctx))
	})
}
