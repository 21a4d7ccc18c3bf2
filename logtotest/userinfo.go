package logtotest

import (
	"net/http"
	"strings"
)

// handleUserInfo is the userinfo endpoint: it takes an opaque access token
// (Authorization: Bearer, or access_token in a POST body) and returns every
// claim of the token's scopes. Errors carry oidc-provider's WWW-Authenticate
// challenge (realm = the issuer).
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	fail := func(e *oauthError, tokenSent bool) {
		w.Header().Set("WWW-Authenticate", bearerChallenge(s.Issuer(), e, tokenSent))
		writeOAuthError(w, r, e)
	}
	token := bearerToken(r)
	if token == "" && r.Method == http.MethodPost {
		form, e := readBody(w, r)
		if e != nil {
			fail(e, true)
			return
		}
		token = form.Get("access_token")
	}
	if token == "" {
		fail(errorf(http.StatusUnauthorized, "invalid_token", "no access token provided"), false)
		return
	}
	s.mu.Lock()
	at := s.liveAccessTokenLocked(token)
	var u *User
	if at != nil {
		u = s.users[at.userID]
	}
	if u == nil || u.Suspended {
		s.mu.Unlock()
		fail(invalidToken(), true)
		return
	}
	if !contains(at.scopes, "openid") {
		s.mu.Unlock()
		fail(errorf(http.StatusForbidden, "insufficient_scope", "access token missing openid scope").withScope("openid"), true)
		return
	}
	claims := s.scopeClaimsLocked(u, at.scopes, false)
	claims["sub"] = u.ID
	mutate := s.mutateUserInfo
	s.mu.Unlock()
	if mutate != nil {
		claims = roundTrip(claims)
		mutate(claims)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken extracts a Bearer token from the Authorization header.
func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
