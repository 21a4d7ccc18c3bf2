package logto

import "sync"

// rawCache maps a raw stored string (a token or a serialised value) to its
// decoded form. It is bounded: when full, an arbitrary entry is dropped.
type rawCache[V any] struct {
	mu    sync.RWMutex
	m     map[string]V
	limit int
}

func newRawCache[V any](limit int) rawCache[V] {
	return rawCache[V]{m: make(map[string]V), limit: limit}
}

func (c *rawCache[V]) get(k string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *rawCache[V]) put(k string, v V) {
	if c.limit <= 0 {
		return
	}
	c.mu.Lock()
	if len(c.m) >= c.limit {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
	c.mu.Unlock()
}
