// Package jwtx decodes JWT payloads without verifying them. It is used only
// for tokens the SDK verified earlier, or for access tokens the SDK merely
// relays (their audience is an API, which verifies them).
package jwtx

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// ErrMalformed reports a string that is not a compact JWS with a JSON
// object payload.
var ErrMalformed = errors.New("malformed JWT")

// MaxLen caps the size of a token the decoder accepts.
const MaxLen = 64 << 10

// Payload returns the decoded payload bytes of a compact JWS (three
// base64url parts). Header and payload must be JSON objects.
func Payload(token string) ([]byte, error) {
	if len(token) > MaxLen {
		return nil, ErrMalformed
	}
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return nil, ErrMalformed
	}
	rest := token[first+1:]
	second := strings.IndexByte(rest, '.')
	if second < 0 || strings.IndexByte(rest[second+1:], '.') >= 0 {
		return nil, ErrMalformed
	}
	if _, err := object(token[:first]); err != nil {
		return nil, err
	}
	return object(rest[:second])
}

// object decodes one base64url part that must hold a JSON object.
func object(part string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil || len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return nil, ErrMalformed
	}
	return b, nil
}
