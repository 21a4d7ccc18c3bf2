package logtotest

import (
	"net/url"
	"strings"
)

// redirectURIAllowed reports whether uri may be the redirect_uri of an
// authorization request of app, as Logto decides
// (packages/core/src/oidc/redirect-uri): a registered URI, or, for a
// Native app only, an http URI on a loopback host (localhost, 127.0.0.1,
// [::1]) equal to a registered one once both ports are removed (RFC 8252
// section 7.3), so that a tool may listen on any free port. The token
// endpoint still requires the redirect_uri of the authorization request,
// and post-logout redirect URIs have no such exception, as in Logto.
func redirectURIAllowed(app *App, uri string) bool {
	if contains(app.RedirectURIs, uri) {
		return true
	}
	if app.Type != AppNative {
		return false
	}
	want, ok := portlessLoopback(uri)
	if !ok {
		return false
	}
	for _, r := range app.RedirectURIs {
		if got, ok := portlessLoopback(r); ok && got == want {
			return true
		}
	}
	return false
}

// portlessLoopback returns an http loopback URI without its port.
func portlessLoopback(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	switch host {
	case "localhost", "127.0.0.1":
	case "::1":
		host = "[::1]"
	default:
		return "", false
	}
	u.Host = host
	return u.String(), true
}
