// Package ttlcache holds values until they expire, in at most a fixed
// number of entries. When it is full, the entry that expires soonest makes
// room: expired entries go first, then live ones in expiry order.
//
// Every operation costs the same whatever the number of entries: entries
// are kept in one-second slots by expiry, each slot a list in insertion
// order, and the slots in a min-heap. A heap operation happens only when
// a slot is created or emptied, and costs the logarithm of the number of
// distinct expiry seconds held, not of the number of entries.
package ttlcache

import (
	"container/heap"
	"sync"
	"time"
)

// Cache is safe for concurrent use.
type Cache[K comparable, V any] struct {
	limit int

	mu      sync.RWMutex
	entries map[K]*entry[K, V]
	slots   map[int64]*slot[K, V]
	order   slotHeap[K, V]
}

type entry[K comparable, V any] struct {
	key        K
	value      V
	until      time.Time
	slot       *slot[K, V]
	prev, next *entry[K, V]
}

// slot holds the entries expiring within one second, oldest first.
type slot[K comparable, V any] struct {
	second      int64
	index       int // in the heap
	first, last *entry[K, V]
}

// New returns a cache holding at most limit entries (at least one).
func New[K comparable, V any](limit int) *Cache[K, V] {
	return &Cache[K, V]{
		limit:   max(limit, 1),
		entries: map[K]*entry[K, V]{},
		slots:   map[int64]*slot[K, V]{},
	}
}

// Get returns the value of key if it has not expired at now.
func (c *Cache[K, V]) Get(key K, now time.Time) (V, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put stores value for key until the given time, replacing what key held.
// It reports whether a live entry of another key was dropped to make room.
func (c *Cache[K, V]) Put(key K, value V, until, now time.Time) (evictedLive bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.putLocked(key, value, until, now)
}

// Add stores value for key until the given time unless key holds a live
// entry, and reports whether it did; evictedLive as for Put.
func (c *Cache[K, V]) Add(key K, value V, until, now time.Time) (added, evictedLive bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && now.Before(e.until) {
		return false, false
	}
	return true, c.putLocked(key, value, until, now)
}

// Delete forgets key.
func (c *Cache[K, V]) Delete(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
}

// Len reports how many entries are held, expired ones included until they
// make room.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// sweep is how many expired entries each insertion drops on its way, so
// that expired entries do not linger while the cache is not full.
const sweep = 2

func (c *Cache[K, V]) putLocked(key K, value V, until, now time.Time) bool {
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
	for i := 0; i < sweep; i++ {
		e := c.soonest()
		if e == nil || now.Before(e.until) {
			break
		}
		c.remove(e)
	}
	evictedLive := false
	if len(c.entries) >= c.limit {
		e := c.soonest()
		evictedLive = now.Before(e.until)
		c.remove(e)
	}
	e := &entry[K, V]{key: key, value: value, until: until}
	c.entries[key] = e
	c.link(e)
	return evictedLive
}

// soonest returns the oldest entry of the earliest slot, nil when empty.
func (c *Cache[K, V]) soonest() *entry[K, V] {
	if len(c.order) == 0 {
		return nil
	}
	return c.order[0].first
}

func (c *Cache[K, V]) link(e *entry[K, V]) {
	sec := e.until.Unix() // the slot: the second the expiry falls in
	s, ok := c.slots[sec]
	if !ok {
		s = &slot[K, V]{second: sec}
		c.slots[sec] = s
		heap.Push(&c.order, s)
	}
	e.slot = s
	e.prev = s.last
	if s.last != nil {
		s.last.next = e
	} else {
		s.first = e
	}
	s.last = e
}

func (c *Cache[K, V]) remove(e *entry[K, V]) {
	delete(c.entries, e.key)
	s := e.slot
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.first = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.last = e.prev
	}
	e.prev, e.next, e.slot = nil, nil, nil
	if s.first == nil {
		delete(c.slots, s.second)
		heap.Remove(&c.order, s.index)
	}
}

// slotHeap orders slots by second (container/heap).
type slotHeap[K comparable, V any] []*slot[K, V]

func (h slotHeap[K, V]) Len() int           { return len(h) }
func (h slotHeap[K, V]) Less(i, j int) bool { return h[i].second < h[j].second }
func (h slotHeap[K, V]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *slotHeap[K, V]) Push(x any) {
	s := x.(*slot[K, V])
	s.index = len(*h)
	*h = append(*h, s)
}

func (h *slotHeap[K, V]) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}
