package apiauth

import (
	"sync"
	"time"
)

// tokenCache holds verified tokens by the SHA-256 of their text until they
// expire. It is bounded: a full cache first drops expired entries, then an
// arbitrary one.
type tokenCache struct {
	mu    sync.RWMutex
	m     map[[32]byte]cacheEntry
	limit int
}

type cacheEntry struct {
	claims *Claims
	until  time.Time
}

func (c *tokenCache) get(key [32]byte, now time.Time) (*Claims, bool) {
	if c.limit < 0 {
		return nil, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.claims, true
}

func (c *tokenCache) put(key [32]byte, claims *Claims, until, now time.Time) {
	if c.limit <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.limit {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.limit {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cacheEntry{claims: claims, until: until}
}

// CacheLen reports how many verified tokens the cache holds.
func (v *Verifier) CacheLen() int {
	v.cache.mu.RLock()
	defer v.cache.mu.RUnlock()
	return len(v.cache.m)
}
