package logtotest

import "time"

// grant is what one successful code exchange creates: the refresh tokens and
// access tokens derived from it are revoked together.
type grant struct {
	id              string
	clientID        string
	userID          string
	sessionID       string // the session it was authorized in
	sid             string // the ID tokens' sid (empty: none)
	nonce           string
	authTime        time.Time
	includeAuthTime bool     // the ID tokens carry auth_time
	scopes          []string // granted at /auth
	resources       []string // requested at /auth
	rtExpiry        time.Time
	revoked         bool
	// resourceScopes are the scopes granted at /auth per resource: the
	// most a token for the resource may carry, whatever roles the user
	// gains later. nil (grants made without a consent) means no limit.
	resourceScopes map[string][]string
}

// refreshToken is an opaque refresh token.
type refreshToken struct {
	value      string
	grantID    string
	clientID   string
	scopes     []string
	issuedAt   time.Time
	expiresAt  time.Time
	iiat       time.Time // when the first token of the rotation chain was issued
	consumedAt time.Time // zero while not rotated away
}

// accessToken is an opaque access token (for /oidc/me).
type accessToken struct {
	value     string
	grantID   string
	clientID  string
	userID    string
	scopes    []string
	issuedAt  time.Time
	expiresAt time.Time
}

// revokeGrantLocked revokes a grant and forgets its tokens.
func (s *Server) revokeGrantLocked(id string) {
	g := s.grants[id]
	if g == nil {
		return
	}
	g.revoked = true
	for v, rt := range s.refreshTokens {
		if rt.grantID == id {
			delete(s.refreshTokens, v)
		}
	}
	for v, at := range s.accessTokens {
		if at.grantID == id {
			delete(s.accessTokens, v)
		}
	}
}

// liveRefreshTokenLocked returns the refresh token and its grant if the token
// is known, not expired and its grant not revoked (it may be consumed).
func (s *Server) liveRefreshTokenLocked(value string) (*refreshToken, *grant) {
	rt := s.refreshTokens[value]
	if rt == nil {
		return nil, nil
	}
	g := s.grants[rt.grantID]
	if g == nil || g.revoked || !s.nowLocked().Before(rt.expiresAt) {
		return nil, nil
	}
	return rt, g
}

// reusableLocked reports whether a consumed refresh token is still within
// the reuse interval.
func (s *Server) reusableLocked(rt *refreshToken) bool {
	return rt.consumedAt.IsZero() || s.nowLocked().Sub(rt.consumedAt) < s.opts.reuseInterval
}

// liveAccessTokenLocked returns an unexpired opaque access token.
func (s *Server) liveAccessTokenLocked(value string) *accessToken {
	at := s.accessTokens[value]
	if at == nil || !s.nowLocked().Before(at.expiresAt) {
		return nil
	}
	if g := s.grants[at.grantID]; g == nil || g.revoked {
		return nil
	}
	return at
}

// RefreshTokenActive reports whether token is a refresh token the token
// endpoint would accept now: known, not expired, not revoked and not rotated
// away (past the reuse interval).
func (s *Server) RefreshTokenActive(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, _ := s.liveRefreshTokenLocked(token)
	return rt != nil && s.reusableLocked(rt)
}

// RevokeGrantsOf revokes every grant of the user: all its refresh tokens
// and opaque access tokens become invalid (JWT access tokens, being
// self-contained, stay valid until they expire).
func (s *Server) RevokeGrantsOf(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, g := range s.grants {
		if g.userID == userID {
			s.revokeGrantLocked(id)
		}
	}
}
