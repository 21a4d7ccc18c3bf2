package logto

import (
	"context"
	"sync"
)

// Storage persists one user's session: the tokens and the pending sign-in
// transactions. A web application gives each browser session its own
// Storage (a cookie or server-side session store, see package logtohttp).
//
// Get returns "" and a nil error when the key is absent. Implementations
// must be safe for the concurrent use the application makes of them; the
// SDK serialises its own read-modify-write sequences per LogtoClient.
type Storage interface {
	Get(ctx context.Context, key string) (string, error)
	Set(ctx context.Context, key, value string) error
	Delete(ctx context.Context, key string) error
}

// Keys the SDK writes through Storage, and the format of each value.
const (
	// StorageKeyIDToken holds the raw ID token (a compact JWT), written only
	// after it passed verification.
	StorageKeyIDToken = "idToken"

	// StorageKeyRefreshToken holds the raw refresh token. A refresh
	// response without a new refresh token keeps the stored one.
	StorageKeyRefreshToken = "refreshToken"

	// StorageKeyAccessTokens holds the access-token cache as a JSON object
	// from cache key to {"token":"…","expiresAt":<unix seconds>,
	// "issuedAtMs":<unix milliseconds>,"scope":"…"}; issuedAtMs is when the
	// token was requested (absent in entries written by older versions).
	// Cache keys: "" for the default token (user info), the API resource
	// indicator, "urn:logto:organization:<id>" for an organization token,
	// and "<resource>#urn:logto:organization:<id>" for an
	// organization-scoped API token. A token narrowed to some scopes
	// (AccessTokenRequest.Scopes) has its token's key followed by
	// "#scope=" and the scopes, sorted and space-separated.
	StorageKeyAccessTokens = "accessTokenMap"

	// StorageKeySignInSession holds the pending sign-in transactions as a
	// JSON array of {"state","nonce","codeVerifier","redirectUri","issuer",
	// "createdAt"} (createdAt in unix seconds). Several can be pending at
	// once (two browser tabs); they expire after the transaction TTL and
	// each is removed when its callback is handled.
	StorageKeySignInSession = "signInSession"
)

// MemoryStorage is a Storage kept in process memory, safe for concurrent
// use. It suits tests, command-line tools and one-user programs; a web
// application serving many users needs one Storage per session.
// The zero value is ready to use.
type MemoryStorage struct {
	mu sync.RWMutex
	m  map[string]string
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage { return &MemoryStorage{} }

// Get returns the value of key, or "" when absent.
func (s *MemoryStorage) Get(_ context.Context, key string) (string, error) {
	s.mu.RLock()
	v := s.m[key]
	s.mu.RUnlock()
	return v, nil
}

// Set stores value under key.
func (s *MemoryStorage) Set(_ context.Context, key, value string) error {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string]string)
	}
	s.m[key] = value
	s.mu.Unlock()
	return nil
}

// Delete removes key.
func (s *MemoryStorage) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}
