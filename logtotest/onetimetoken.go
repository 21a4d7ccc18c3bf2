package logtotest

import (
	"encoding/json"
	"net/http"
	"time"
)

// OneTimeToken is a one-time token for a magic link, as Logto's
// Management API creates it (POST /api/one-time-tokens): an authorization
// request carrying it (one_time_token) with its Email (login_hint) signs
// the user with that email in, without a password, and consumes it.
type OneTimeToken struct {
	// Email is the address the token is for. The user signed in is the one
	// whose Email it is; as in Logto, a new user with this email is created
	// when there is none.
	Email string
	// Token is the token's value; empty means a new random one (32
	// characters).
	Token string
	// TTL is how long the token is valid; zero means Logto's default, 10
	// minutes.
	TTL time.Duration
}

// Statuses of a one-time token (OneTimeTokenStatus), as in Logto.
const (
	OneTimeTokenActive   = "active"
	OneTimeTokenConsumed = "consumed"
	OneTimeTokenExpired  = "expired"
	OneTimeTokenRevoked  = "revoked"
)

// defaultOneTimeTokenTTL is Logto's default lifetime of one-time tokens.
const defaultOneTimeTokenTTL = 10 * time.Minute

// oneTimeLink is a stored one-time token.
type oneTimeLink struct {
	email     string
	status    string
	expiresAt time.Time
}

// AddOneTimeToken stores t and returns its token value. It panics if
// t.Email is empty.
func (s *Server) AddOneTimeToken(t OneTimeToken) string {
	if t.Email == "" {
		panic("logtotest: AddOneTimeToken: empty Email")
	}
	if t.TTL == 0 {
		t.TTL = defaultOneTimeTokenTTL
	}
	if t.Token == "" {
		t.Token = randomToken(24)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addOneTimeTokenLocked(t.Email, t.Token, s.nowLocked().Add(t.TTL))
	return t.Token
}

// addOneTimeTokenLocked stores a one-time token (replacing one of the same
// value).
func (s *Server) addOneTimeTokenLocked(email, token string, expiresAt time.Time) {
	if s.oneTimeTokens == nil {
		s.oneTimeTokens = map[string]*oneTimeLink{}
	}
	s.oneTimeTokens[token] = &oneTimeLink{email: email, status: OneTimeTokenActive, expiresAt: expiresAt}
}

// OneTimeTokenStatus returns the status of a one-time token (one of the
// OneTimeToken* statuses), or "" for an unknown token. A token past its
// expiry is expired.
func (s *Server) OneTimeTokenStatus(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.oneTimeTokens[token]
	if l == nil {
		return ""
	}
	if l.status == OneTimeTokenActive && !s.nowLocked().Before(l.expiresAt) {
		return OneTimeTokenExpired
	}
	return l.status
}

// RevokeOneTimeToken revokes an active one-time token and reports whether
// it did.
func (s *Server) RevokeOneTimeToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.oneTimeTokens[token]
	if l == nil || l.status != OneTimeTokenActive {
		return false
	}
	l.status = OneTimeTokenRevoked
	return true
}

// experienceError is an error of Logto's sign-in experience, in the shape
// of its Experience API: {"code":...,"message":...} with an HTTP status.
type experienceError struct {
	status        int
	code, message string
}

// Errors of one-time token verification (Logto's
// libraries/one-time-token.ts and its phrases).
var (
	errOTTNotFound      = &experienceError{http.StatusNotFound, "one_time_token.token_not_found", "Token not found."}
	errOTTEmailMismatch = &experienceError{http.StatusBadRequest, "one_time_token.email_mismatch", "Email mismatch with given token."}
	errOTTExpired       = &experienceError{http.StatusBadRequest, "one_time_token.token_expired", "The token is expired."}
	errOTTConsumed      = &experienceError{http.StatusBadRequest, "one_time_token.token_consumed", "The token has been consumed."}
	errOTTRevoked       = &experienceError{http.StatusBadRequest, "one_time_token.token_revoked", "The token has been revoked."}
)

func (e *experienceError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": e.code, "message": e.message})
}

// oneTimeSignInLocked does what Logto's sign-in page does with a magic
// link: it verifies token for email in Logto's order (known, same email,
// not expired, not consumed, not revoked), consumes it, and returns the
// user with that email, created when there is none (Logto then registers
// the user, even where registration is off).
func (s *Server) oneTimeSignInLocked(token, email string) (string, *experienceError) {
	l := s.oneTimeTokens[token]
	switch {
	case l == nil:
		return "", errOTTNotFound
	case l.email != email:
		return "", errOTTEmailMismatch
	case l.status == OneTimeTokenExpired || (l.status == OneTimeTokenActive && !s.nowLocked().Before(l.expiresAt)):
		l.status = OneTimeTokenExpired
		return "", errOTTExpired
	case l.status == OneTimeTokenConsumed:
		return "", errOTTConsumed
	case l.status == OneTimeTokenRevoked:
		return "", errOTTRevoked
	}
	l.status = OneTimeTokenConsumed
	for id, u := range s.users {
		if u.Email == email {
			return id, nil
		}
	}
	now := s.nowLocked()
	u := &User{ID: "user-" + randomToken(9), Email: email, CreatedAt: now, UpdatedAt: now}
	s.users[u.ID] = u
	return u.ID, nil
}

// magicLink reports whether req carries a one-time token sign-in: a token
// and the email it is for (Logto ignores a token without login_hint).
func (req *authRequest) magicLink() bool {
	return req.experience.oneTimeToken != "" && req.experience.loginHint != ""
}
