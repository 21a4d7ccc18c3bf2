package logto

// Test-only helpers, for the tests of this package and of package
// logto_test; they are not part of the API.

// ClaimOf returns a Claim set to v.
func ClaimOf[T any](v T) Claim[T] { return Claim[T]{value: v, state: claimSet} }

// NullClaim returns a Claim that is present with the value null.
func NullClaim[T any]() Claim[T] { return Claim[T]{state: claimNull} }

// Len reports how many keys are stored.
func (s *MemoryStorage) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}
