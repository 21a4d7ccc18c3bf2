package logtotest

import "net/http"

// handleIntrospection is the token introspection endpoint (RFC 7662) for
// opaque access tokens and refresh tokens. As with oidc-provider's default
// policy, which Logto keeps, a confidential app (one with a secret, such
// as the machine-to-machine app of an API server) may introspect the
// tokens of every app, a public app only its own. As in oidc-provider,
// only access tokens carry token_type, and tokens of a grant issued with a
// sid (apps that require the logout session, see
// App.BackchannelLogoutSessionRequired) carry it.
func (s *Server) handleIntrospection(w http.ResponseWriter, r *http.Request) {
	app, token, e := s.tokenRequest(w, r, "introspected via the introspection_endpoint")
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	resp := map[string]any{"active": false}
	s.mu.Lock()
	mayRead := func(clientID string) bool { return clientID == app.ID || !app.public() }
	if at := s.liveAccessTokenLocked(token); at != nil && mayRead(at.clientID) {
		resp = map[string]any{
			"active":     true,
			"sub":        at.userID,
			"client_id":  at.clientID,
			"scope":      joinScopes(at.scopes),
			"exp":        at.expiresAt.Unix(),
			"iat":        at.issuedAt.Unix(),
			"iss":        s.Issuer(),
			"token_type": "Bearer",
		}
		if g := s.grants[at.grantID]; g != nil && g.sid != "" {
			resp["sid"] = g.sid
		}
	} else if rt, g := s.liveRefreshTokenLocked(token); rt != nil && mayRead(rt.clientID) && s.reusableLocked(rt) {
		resp = map[string]any{
			"active":    true,
			"sub":       g.userID,
			"client_id": rt.clientID,
			"scope":     joinScopes(rt.scopes),
			"exp":       rt.expiresAt.Unix(),
			"iat":       rt.issuedAt.Unix(),
			"iss":       s.Issuer(),
		}
		if g.sid != "" {
			resp["sid"] = g.sid
		}
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}
