package reallogto

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// signInVariant is one SignInOptions variant and the page the real Logto
// sends a fresh browser to (path and query, relative to the endpoint; APP
// stands for the client id, which Logto always adds as app_id).
type signInVariant struct {
	name string
	opts logto.SignInOptions
	// page is where /oidc/auth redirects a browser without a session.
	page string
}

// signInVariants covers every SignInOptions field. The pages are what the
// real Logto 1.42.0 answered (oidc/utils.ts buildLoginPromptUrl): the
// first screen picks the route, identifiers, login_hint and the
// organization or UI locale ride along in the query, direct sign-in goes
// to /direct/<method>/<target> with the first screen as fallback.
var signInVariants = []signInVariant{
	{"defaults", logto.SignInOptions{}, "/sign-in?app_id=APP"},
	{"first screen sign_in", logto.SignInOptions{FirstScreen: logto.FirstScreenSignIn}, "/sign-in?app_id=APP"},
	{"first screen register", logto.SignInOptions{FirstScreen: logto.FirstScreenRegister}, "/register?app_id=APP"},
	{"first screen reset_password", logto.SignInOptions{FirstScreen: logto.FirstScreenResetPassword}, "/reset-password?app_id=APP"},
	{"first screen single_sign_on", logto.SignInOptions{FirstScreen: logto.FirstScreenSingleSignOn}, "/single-sign-on?app_id=APP"},
	{"identifier sign-in, email", logto.SignInOptions{FirstScreen: logto.FirstScreenIdentifierSignIn,
		Identifiers: []logto.Identifier{logto.IdentifierEmail}}, "/identifier-sign-in?app_id=APP&identifier=email"},
	{"identifier register, username and phone", logto.SignInOptions{FirstScreen: logto.FirstScreenIdentifierRegister,
		Identifiers: []logto.Identifier{logto.IdentifierUsername, logto.IdentifierPhone}}, "/identifier-register?app_id=APP&identifier=username+phone"},
	{"interaction mode signUp", logto.SignInOptions{InteractionMode: logto.InteractionModeSignUp}, "/register?app_id=APP"},
	{"interaction mode signIn", logto.SignInOptions{InteractionMode: logto.InteractionModeSignIn}, "/sign-in?app_id=APP"},
	{"first screen wins over interaction mode", logto.SignInOptions{InteractionMode: logto.InteractionModeSignUp,
		FirstScreen: logto.FirstScreenSignIn}, "/sign-in?app_id=APP"},
	{"direct sign-in social", logto.SignInOptions{DirectSignIn: &logto.DirectSignIn{Method: logto.DirectSignInSocial, Target: "google"}},
		"/direct/social/google?app_id=APP&fallback=sign-in"},
	{"direct sign-in sso", logto.SignInOptions{DirectSignIn: &logto.DirectSignIn{Method: logto.DirectSignInSSO, Target: "connector-1"}},
		"/direct/sso/connector-1?app_id=APP&fallback=sign-in"},
	{"direct sign-in with register fallback", logto.SignInOptions{FirstScreen: logto.FirstScreenRegister,
		DirectSignIn: &logto.DirectSignIn{Method: logto.DirectSignInSocial, Target: "github"}}, "/direct/social/github?app_id=APP&fallback=register"},
	{"login hint", logto.SignInOptions{LoginHint: "someone@example.com"}, "/sign-in?app_id=APP&login_hint=someone%40example.com"},
	{"prompt login", logto.SignInOptions{Prompt: logto.PromptLogin}, "/sign-in?app_id=APP"},
	{"prompt login consent", logto.SignInOptions{Prompt: logto.PromptLogin + " " + logto.PromptConsent}, "/sign-in?app_id=APP"},
	{"extra param ui_locales", logto.SignInOptions{ExtraParams: map[string]string{"ui_locales": "fr-CA"}}, "/sign-in?app_id=APP&ui_locales=fr-CA"},
	{"extra param overrides first_screen", logto.SignInOptions{FirstScreen: logto.FirstScreenSignIn,
		ExtraParams: map[string]string{"first_screen": "register"}}, "/register?app_id=APP"},
}

// TestSignInOptionsWire sends every SignInOptions variant to the provider
// from a fresh browser, records the page it redirects to, then completes
// the sign-in: each variant is accepted and ends in a session.
func TestSignInOptionsWire(t *testing.T) {
	forTargets(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		u := tg.newUser(t, userSpec{})
		web := tg.webApp()
		for _, v := range append(signInVariants, signInVariant{"extra param organization_id",
			logto.SignInOptions{ExtraParams: map[string]string{"organization_id": tg.org()}},
			"/sign-in?app_id=APP&organization_id=" + tg.org()}) {
			t.Run(v.name, func(t *testing.T) {
				t.Parallel()
				c := clientFor(t, tg, web, nil, nil, nil)
				opts := v.opts
				opts.RedirectURI = web.RedirectURI
				authURL, err := c.SignIn(ctx, opts)
				require.NoError(t, err)
				page := tg.authorizeOnly(t, newBrowser(t), authURL)
				t.Logf("%s: %s -> %s", tg.name(), v.name, page)
				assert.Equal(t, v.page, pagePath(t, tg, page, web.ID))

				// The same request, signed in: a session.
				authURL, err = c.SignIn(ctx, opts)
				require.NoError(t, err)
				require.NoError(t, c.HandleCallback(ctx, tg.signIn(t, newBrowser(t), authURL, u)))
				claims, err := c.GetIdTokenClaims(ctx)
				require.NoError(t, err)
				assert.Equal(t, u.ID, claims.Subject)
			})
		}

		t.Run("prompt none with a session", func(t *testing.T) {
			t.Parallel()
			c := clientFor(t, tg, web, nil, nil, nil)
			b := newBrowser(t)
			signInClient(t, tg, c, b, u, logto.SignInOptions{})
			authURL, err := c.SignIn(ctx, logto.SignInOptions{RedirectURI: web.RedirectURI, Prompt: logto.PromptNone})
			require.NoError(t, err)
			cb := tg.authorizeOnly(t, b, authURL)
			cbu, err := url.Parse(cb)
			require.NoError(t, err)
			assert.Equal(t, []string{"code", "iss", "state"}, keys(queryMap(cbu.Query())), "straight back with a code: %s", cb)
			require.NoError(t, c.HandleCallback(ctx, cb))
			// No consent prompt, so no offline_access: no refresh token.
			_, err = c.GetRefreshToken(ctx)
			assert.ErrorIs(t, err, logto.ErrNotAuthenticated)
		})
	})
}

// pagePath reduces a sign-in page URL to its path and the query
// parameters that the variant controls (Logto adds none of its own).
func pagePath(t *testing.T, tg target, page, appID string) string {
	t.Helper()
	pu, err := url.Parse(page)
	require.NoError(t, err)
	require.True(t, sameOrigin(page, tg.endpoint()), "the sign-in page is the provider's: %s", page)
	q := pu.Query()
	if q.Get("app_id") == appID {
		q.Set("app_id", "APP")
	}
	if len(q) == 0 {
		return pu.Path
	}
	return pu.Path + "?" + strings.ReplaceAll(q.Encode(), "%2B", "+")
}
