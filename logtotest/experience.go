package logtotest

import (
	"net/url"
	"path"
	"strings"
)

// Where Logto's /oidc/auth sends a browser that must sign in: a route of its
// sign-in experience, picked from the sign-in experience parameters as
// buildLoginPromptUrl does (packages/core/src/oidc/utils.ts, Logto 1.42),
// with the routes of packages/schemas/src/consts/experience.ts.

// Experience routes (the pages of Logto's sign-in experience).
const (
	routeSignIn             = "sign-in"
	routeRegister           = "register"
	routeResetPassword      = "reset-password"
	routeIdentifierSignIn   = "identifier-sign-in"
	routeIdentifierRegister = "identifier-register"
	routeSingleSignOn       = "single-sign-on"
	routeDirect             = "direct"
)

// firstScreenRoutes maps the first_screen values (Logto's FirstScreen) to
// their routes; interaction_mode values go through it too, signUp aside.
var firstScreenRoutes = map[string]string{
	"sign_in":             routeSignIn,
	"register":            routeRegister,
	"reset_password":      routeResetPassword,
	"identifier:sign_in":  routeIdentifierSignIn,
	"identifier:register": routeIdentifierRegister,
	"single_sign_on":      routeSingleSignOn,
	"signIn":              routeSignIn, // deprecated spelling
}

// experienceParams are Logto's extra authorization parameters
// (ExtraParamsKey) that shape the sign-in experience.
type experienceParams struct {
	interactionMode string // deprecated: signIn or signUp
	firstScreen     string
	directSignIn    string // social:<target> or sso:<connector id>
	organizationID  string
	loginHint       string
	uiLocales       string
	identifier      string
	oneTimeToken    string
	googleOneTap    string // google_one_tap_credential
}

// parseExperienceParams reads the sign-in experience parameters. As with
// Logto's zod guard, one invalid interaction_mode or first_screen value
// discards all of them (the browser then lands on the default screen).
func parseExperienceParams(p url.Values) experienceParams {
	e := experienceParams{
		interactionMode: p.Get("interaction_mode"),
		firstScreen:     p.Get("first_screen"),
		directSignIn:    p.Get("direct_sign_in"),
		organizationID:  p.Get("organization_id"),
		loginHint:       p.Get("login_hint"),
		uiLocales:       p.Get("ui_locales"),
		identifier:      p.Get("identifier"),
		oneTimeToken:    p.Get("one_time_token"),
		googleOneTap:    p.Get("google_one_tap_credential"),
	}
	if m := e.interactionMode; m != "" && m != "signIn" && m != "signUp" {
		return experienceParams{}
	}
	if f := e.firstScreen; f != "" && firstScreenRoutes[f] == "" {
		return experienceParams{}
	}
	return e
}

// firstScreenRoute is the route of the first screen: first_screen, else
// interaction_mode, else sign-in.
func (e experienceParams) firstScreenRoute() string {
	key := e.firstScreen
	if key == "" {
		key = e.interactionMode
	}
	if key == "signUp" {
		return routeRegister
	}
	if r := firstScreenRoutes[key]; r != "" {
		return r
	}
	return routeSignIn
}

// loginPromptLocation is the (relative) location /oidc/auth redirects a
// browser to for the app clientID: the first screen, or the direct sign-in
// route with the first screen as its fallback, with the query parameters in
// Logto's order.
func (e experienceParams) loginPromptLocation(clientID string) string {
	var q queryBuilder
	q.add("app_id", clientID)
	q.add("organization_id", e.organizationID)
	q.add("ui_locales", e.uiLocales)
	q.add("one_time_token", e.oneTimeToken)
	q.add("login_hint", e.loginHint)
	q.add("identifier", e.identifier)
	first := e.firstScreenRoute()
	if e.directSignIn != "" || e.googleOneTap != "" {
		q.add("fallback", first)
		var method, target string
		switch {
		case e.directSignIn != "":
			parts := strings.Split(e.directSignIn, ":")
			method = parts[0]
			if len(parts) > 1 {
				target = parts[1]
			}
		default:
			method, target = "social", "google"
		}
		return "/" + path.Join(routeDirect, method, target) + q.String()
	}
	return "/" + first + q.String()
}

// queryBuilder writes a query string in insertion order, encoded as the
// WHATWG URLSearchParams does (Logto builds its redirects with it).
type queryBuilder struct{ b strings.Builder }

// add appends name=value unless value is empty.
func (q *queryBuilder) add(name, value string) {
	if value == "" {
		return
	}
	if q.b.Len() == 0 {
		q.b.WriteByte('?')
	} else {
		q.b.WriteByte('&')
	}
	formEncode(&q.b, name)
	q.b.WriteByte('=')
	formEncode(&q.b, value)
}

// String returns the query with its leading '?', or "" when empty.
func (q *queryBuilder) String() string { return q.b.String() }

// formEncode writes s in the application/x-www-form-urlencoded byte
// serialization: alphanumerics and *-._ as they are, space as +, every
// other byte percent-encoded.
func formEncode(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

// isExperienceScreen reports whether route is a screen of the fake's
// sign-in page (every first screen; direct sign-in falls back to one).
func isExperienceScreen(route string) bool {
	_, ok := screens[route]
	return ok
}
