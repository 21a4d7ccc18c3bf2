package logtotest

import (
	"maps"
	"net/http"
	"net/url"
	"time"
)

// Endpoint names a group of paths of the fake, for the request log and for
// fault injection.
type Endpoint string

// The endpoints of the fake.
const (
	// EndpointDiscovery is /oidc/.well-known/openid-configuration (and the
	// RFC 8414 oauth-authorization-server alias).
	EndpointDiscovery Endpoint = "discovery"
	// EndpointAuth is the authorization endpoint /oidc/auth.
	EndpointAuth Endpoint = "auth"
	// EndpointToken is the token endpoint /oidc/token.
	EndpointToken Endpoint = "token"
	// EndpointUserInfo is the userinfo endpoint /oidc/me.
	EndpointUserInfo Endpoint = "userinfo"
	// EndpointJWKS is the key set /oidc/jwks.
	EndpointJWKS Endpoint = "jwks"
	// EndpointEndSession is the RP-initiated logout endpoint /oidc/session/end
	// (the page with the logout form).
	EndpointEndSession Endpoint = "end_session"
	// EndpointEndSessionConfirm is /oidc/session/end/confirm, where the
	// logout form posts (the sign-out itself).
	EndpointEndSessionConfirm Endpoint = "end_session_confirm"
	// EndpointEndSessionSuccess is /oidc/session/end/success, the page
	// shown after a sign-out without a post-logout redirect URI.
	EndpointEndSessionSuccess Endpoint = "end_session_success"
	// EndpointRevocation is /oidc/token/revocation.
	EndpointRevocation Endpoint = "revocation"
	// EndpointIntrospection is /oidc/token/introspection.
	EndpointIntrospection Endpoint = "introspection"
	// EndpointSignIn is the interactive sign-in page (see WithLoginPage):
	// its screens /sign-in, /register, /identifier-sign-in,
	// /identifier-register, /single-sign-on and /reset-password, and the
	// direct sign-in routes /direct/....
	EndpointSignIn Endpoint = "sign_in"
	// EndpointManagement is the Management API routes the fake serves:
	// /api/subject-tokens, /api/one-time-tokens and
	// /api/users/{id}/personal-access-tokens.
	EndpointManagement Endpoint = "management"
	// EndpointUnknown is any other path (answered with 404).
	EndpointUnknown Endpoint = "unknown"
)

// Request is one request received by the fake, as recorded in its log.
type Request struct {
	// Endpoint is the endpoint the path belongs to.
	Endpoint Endpoint
	// Method is the HTTP method.
	Method string
	// Path is the URL path.
	Path string
	// Header holds the request headers.
	Header http.Header
	// Form holds the query parameters and the body parameters (form or JSON).
	Form url.Values
	// Time is the server clock (see Server.Now) when the request arrived.
	Time time.Time
}

// record appends a request to the log.
func (s *Server) record(ep Endpoint, r *http.Request, body []byte) {
	form := url.Values{}
	for k, v := range r.URL.Query() {
		form[k] = append(form[k], v...)
	}
	if bodyForm, err := parseBody(r.Header.Get("Content-Type"), body); err == nil {
		for k, v := range bodyForm {
			form[k] = append(form[k], v...)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{
		Endpoint: ep,
		Method:   r.Method,
		Path:     r.URL.Path,
		Header:   r.Header.Clone(),
		Form:     form,
		Time:     s.nowLocked(),
	})
}

// Requests returns copies of the logged requests to endpoint e, oldest first.
func (s *Server) Requests(e Endpoint) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.log {
		if r.Endpoint != e {
			continue
		}
		r.Header = r.Header.Clone()
		r.Form = cloneValues(r.Form)
		out = append(out, r)
	}
	return out
}

// RequestCount returns the number of logged requests to endpoint e.
func (s *Server) RequestCount(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if r.Endpoint == e {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// cloneValues deep-copies url.Values.
func cloneValues(v url.Values) url.Values {
	out := maps.Clone(v)
	for k, vals := range out {
		out[k] = append([]string(nil), vals...)
	}
	return out
}
