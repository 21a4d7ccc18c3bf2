package logtotest

import "net/http"

// handleRevocation is the token revocation endpoint (RFC 7009). Revoking a
// refresh token or an opaque access token revokes its whole grant (the
// sibling tokens too); unknown tokens and tokens of other clients are
// ignored (200, the token keeps working, as in oidc-provider); JWTs are
// rejected. Success is an empty text/plain 200, like oidc-provider's.
func (s *Server) handleRevocation(w http.ResponseWriter, r *http.Request) {
	app, token, e := s.tokenRequest(w, r, "revoked via the revocation_endpoint")
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	s.mu.Lock()
	grantID, owner := "", ""
	if rt := s.refreshTokens[token]; rt != nil {
		grantID, owner = rt.grantID, rt.clientID
	} else if at := s.accessTokens[token]; at != nil {
		grantID, owner = at.grantID, at.clientID
	}
	if owner == app.ID {
		s.revokeGrantLocked(grantID)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// tokenRequest parses and authenticates a revocation or introspection
// request and returns its token, rejecting JWTs.
func (s *Server) tokenRequest(w http.ResponseWriter, r *http.Request, what string) (*App, string, *oauthError) {
	form, e := readBody(w, r)
	if e != nil {
		return nil, "", e
	}
	if d := duplicateParam(form); d != "" {
		return nil, "", invalidRequest("'" + d + "' parameter must not be provided twice")
	}
	app, e := s.authenticateClient(r, form)
	if e != nil {
		return nil, "", e
	}
	token := form.Get("token")
	if token == "" {
		return nil, "", missingParam("token")
	}
	if looksLikeJWT(token) {
		return nil, "", errorf(http.StatusBadRequest, "unsupported_token_type", "Structured JWT Tokens cannot be "+what)
	}
	return app, token, nil
}
