// Package randx generates the random values of a sign-in transaction.
package randx

import (
	"crypto/rand"
	"encoding/base64"
)

// Token returns 32 bytes from crypto/rand, base64url-encoded without
// padding (43 characters). It is used for state, nonce and PKCE verifier.
func Token() string {
	var b [32]byte
	// crypto/rand.Read never returns an error since Go 1.24; it crashes
	// the program instead when the system's randomness is broken.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
