package apiauth

import (
	"time"

	"github.com/gologto/logto/internal/ttlcache"
)

// tokenCache holds verified tokens by the SHA-256 of their text until they
// expire. It is bounded, and each insertion costs the same however full it
// is: a full cache drops the entry expiring soonest (expired ones first).
type tokenCache struct {
	c *ttlcache.Cache[[32]byte, *Claims] // nil when disabled
}

func newTokenCache(limit int) tokenCache {
	if limit <= 0 {
		return tokenCache{}
	}
	return tokenCache{ttlcache.New[[32]byte, *Claims](limit)}
}

func (c tokenCache) get(key [32]byte, now time.Time) (*Claims, bool) {
	if c.c == nil {
		return nil, false
	}
	return c.c.Get(key, now)
}

func (c tokenCache) put(key [32]byte, claims *Claims, until, now time.Time) {
	if c.c != nil {
		c.c.Put(key, claims, until, now)
	}
}

// CacheLen reports how many verified tokens the cache holds.
func (v *Verifier) CacheLen() int {
	if v.cache.c == nil {
		return 0
	}
	return v.cache.c.Len()
}
