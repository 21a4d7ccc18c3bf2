package logtotest

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// authenticateClient authenticates the client of a token, revocation or
// introspection request: client_secret_basic (id and secret
// form-urlencoded, RFC 6749 2.3.1), client_secret_post, or client_id alone
// for public apps.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (*App, *oauthError) {
	var id, secret string
	if authz := r.Header.Get("Authorization"); authz != "" {
		badHeader := invalidRequest("invalid authorization header value format")
		scheme, cred, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "Basic") {
			return nil, badHeader
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return nil, badHeader
		}
		rawID, rawSecret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, badHeader
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(rawID)
		secret, err2 = url.QueryUnescape(rawSecret)
		if err1 != nil || err2 != nil || id == "" {
			return nil, invalidRequest("client_id and client_secret in the authorization header must be properly encoded")
		}
		if form.Get("client_secret") != "" {
			return nil, invalidRequest("client authentication must only be provided using one mechanism")
		}
		if bodyID := form.Get("client_id"); bodyID != "" && bodyID != id {
			return nil, invalidRequest("client_id mismatch")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
		if id == "" {
			return nil, invalidRequest("no client authentication mechanism provided")
		}
	}

	s.mu.Lock()
	app := s.apps[id]
	if app != nil {
		app = app.clone()
	}
	s.mu.Unlock()
	switch {
	case app == nil:
		return nil, unknownClient(id)
	case app.public():
		if secret != "" {
			return nil, invalidClient()
		}
	case secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1:
		return nil, invalidClient()
	}
	return app, nil
}
