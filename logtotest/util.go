package logtotest

import (
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
)

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func contains(list []string, v string) bool { return slices.Contains(list, v) }

// appendUnique appends the values not yet in list.
func appendUnique(list []string, vals ...string) []string {
	for _, v := range vals {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// intersect returns the elements of a that are in b, in a's order.
func intersect(a, b []string) []string {
	out := []string{}
	for _, v := range a {
		if slices.Contains(b, v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// scopeList splits a space-separated scope string, dropping duplicates.
func scopeList(s string) []string {
	return appendUnique(nil, strings.Fields(s)...)
}

// looksLikeJWT reports whether a token is structured (a JWS compact form).
func looksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }
