package apiauth

import (
	"errors"
	"strings"
)

// Sentinels for errors.Is.
var (
	// ErrInvalidToken: the token is missing, malformed, not signed by the
	// tenant, expired, or meant for another API (RFC 6750 invalid_token).
	ErrInvalidToken = errors.New("apiauth: invalid token")
	// ErrInsufficientScope: the token is valid but lacks a required scope
	// or organization (RFC 6750 insufficient_scope).
	ErrInsufficientScope = errors.New("apiauth: insufficient scope")
	// ErrUnavailable: the tenant's keys could not be fetched; the token
	// may be fine (Middleware answers 503).
	ErrUnavailable = errors.New("apiauth: keys unavailable")
)

// Error is a verification failure with what RFC 6750 needs to answer it.
type Error struct {
	// Code is "invalid_token" or "insufficient_scope".
	Code string
	// Description is a short human-readable reason (no token content).
	Description string
	// Scope lists the scopes the request needed, for insufficient_scope.
	Scope []string
	err   error
}

func (e *Error) Error() string {
	msg := "apiauth: " + e.Code + ": " + e.Description
	if len(e.Scope) > 0 {
		msg += " (needs " + strings.Join(e.Scope, " ") + ")"
	}
	return msg
}

// Unwrap returns the matching sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	s := ErrInvalidToken
	if e.Code == "insufficient_scope" {
		s = ErrInsufficientScope
	}
	if e.err != nil {
		return []error{s, e.err}
	}
	return []error{s}
}

func invalid(desc string, cause error) *Error {
	return &Error{Code: "invalid_token", Description: desc, err: cause}
}
