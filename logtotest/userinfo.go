package logtotest

import (
	"net/http"
	"strings"
)

// handleUserInfo is the userinfo endpoint: it takes an opaque access token
// (Authorization: Bearer, or access_token in a POST body) and returns every
// claim of the token's scopes.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	token := bearerToken(r)
	if token == "" && r.Method == http.MethodPost {
		form, e := readBody(w, r)
		if e != nil {
			writeOAuthError(w, r, e)
			return
		}
		token = form.Get("access_token")
	}
	if token == "" {
		writeOAuthError(w, r, invalidRequest("no access token provided"))
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
		writeOAuthError(w, r, invalidToken())
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
