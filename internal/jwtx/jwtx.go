// Package jwtx decodes JWT payloads without verifying them. It is used only
// for tokens the SDK verified earlier, or for access tokens the SDK merely
// relays (their audience is an API, which verifies them).
package jwtx

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformed reports a string that is not a compact JWS with a JSON
// object payload.
var ErrMalformed = errors.New("malformed JWT")

// MaxLen caps the size of a token the decoder accepts.
const MaxLen = 64 << 10

// Payload returns the decoded payload bytes of a compact JWS (three
// base64url parts). Header and payload must be JSON objects whose numbers
// all fit a float64 (see CheckNumbers).
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
	if err := CheckNumbers(b); err != nil {
		return nil, err
	}
	return b, nil
}

// CheckNumbers reports, as ErrMalformed, a number in the valid JSON
// document b that does not fit a float64 (such as 1e700). encoding/json
// refuses to decode such a number into float64 or any, so a token that
// carried one would pass verification and then fail every Claims(&v) into
// a map: it is refused up front instead. The scan makes no allocation
// unless a number has an exponent or more than 308 digits.
func CheckNumbers(b []byte) error {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case c == '-' || (c >= '0' && c <= '9'):
			j, exp := i, false
			for ; j < len(b) && strings.IndexByte("0123456789+-.eE", b[j]) >= 0; j++ {
				exp = exp || b[j] == 'e' || b[j] == 'E'
			}
			if exp || j-i > 308 {
				if _, err := strconv.ParseFloat(string(b[i:j]), 64); err != nil {
					n := string(b[i:min(j, i+32)])
					return fmt.Errorf("%w: number %s does not fit a float64", ErrMalformed, n)
				}
			}
			i = j - 1
		}
	}
	return nil
}
