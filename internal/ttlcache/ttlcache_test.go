package ttlcache

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestGetHonoursExpiry(t *testing.T) {
	c := New[string, int](10)
	c.Put("a", 1, t0.Add(time.Minute), t0)
	v, ok := c.Get("a", t0.Add(time.Minute-time.Nanosecond))
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	_, ok = c.Get("a", t0.Add(time.Minute))
	assert.False(t, ok, "expired at its until")
	_, ok = c.Get("missing", t0)
	assert.False(t, ok)
}

func TestPutReplaces(t *testing.T) {
	c := New[string, int](2)
	c.Put("a", 1, t0.Add(time.Minute), t0)
	c.Put("a", 2, t0.Add(time.Hour), t0)
	assert.Equal(t, 1, c.Len())
	v, ok := c.Get("a", t0.Add(30*time.Minute))
	assert.True(t, ok)
	assert.Equal(t, 2, v)
}

func TestAddRefusesLiveKey(t *testing.T) {
	c := New[string, struct{}](10)
	added, _ := c.Add("jti", struct{}{}, t0.Add(time.Minute), t0)
	require.True(t, added)
	added, _ = c.Add("jti", struct{}{}, t0.Add(time.Hour), t0.Add(time.Second))
	assert.False(t, added, "a live key is not replaced")
	added, _ = c.Add("jti", struct{}{}, t0.Add(time.Hour), t0.Add(time.Minute))
	assert.True(t, added, "an expired one is")
}

func TestDelete(t *testing.T) {
	c := New[string, int](10)
	for i, k := range []string{"a", "b", "c"} {
		c.Put(k, i, t0.Add(time.Minute), t0) // one slot holding three entries
	}
	c.Delete("b")
	c.Delete("missing")
	assert.Equal(t, 2, c.Len())
	for _, k := range []string{"a", "c"} {
		_, ok := c.Get(k, t0)
		assert.True(t, ok, k)
	}
	c.Delete("a")
	c.Delete("c")
	assert.Equal(t, 0, c.Len())
	assert.Empty(t, c.order, "the emptied slot left the heap")
	assert.Empty(t, c.slots)
}

// TestFullEvictsBySoonestExpiry: a full cache drops expired entries first,
// then the live entry that expires soonest, never a later one.
func TestFullEvictsBySoonestExpiry(t *testing.T) {
	tests := []struct {
		name        string
		untils      []time.Duration // of keys k0, k1, … inserted in order at t0
		now         time.Duration
		evicted     string
		evictedLive bool
	}{
		{"expired first even if inserted last", []time.Duration{time.Hour, 2 * time.Hour, time.Second}, time.Minute, "k2", false},
		{"then the soonest live one", []time.Duration{time.Hour, 10 * time.Minute, 2 * time.Hour}, 0, "k1", true},
		{"same second: the oldest", []time.Duration{time.Minute, time.Minute, time.Hour}, 0, "k0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, int](len(tt.untils))
			for i, u := range tt.untils {
				c.Put(fmt.Sprint("k", i), i, t0.Add(u), t0)
			}
			now := t0.Add(tt.now)
			// No sweep may drop anything before the cache is full: insert
			// the new key with a later expiry and see which one left.
			evictedLive := c.Put("new", 0, now.Add(3*time.Hour), now)
			assert.Equal(t, len(tt.untils), c.Len())
			assert.Equal(t, tt.evictedLive, evictedLive)
			_, held := c.entries[tt.evicted]
			assert.False(t, held, "%s must have made room", tt.evicted)
		})
	}
}

// TestFloodOfLiveEntriesStaysBounded: far more live entries than the
// limit keep it, and the latest ones are held.
func TestFloodOfLiveEntriesStaysBounded(t *testing.T) {
	c := New[int, int](100)
	for i := 0; i < 10_000; i++ {
		c.Put(i, i, t0.Add(time.Hour+time.Duration(i)*time.Millisecond), t0)
		require.LessOrEqual(t, c.Len(), 100)
	}
	for i := 9_900; i < 10_000; i++ {
		_, ok := c.Get(i, t0)
		assert.True(t, ok, "the latest-expiring entries are kept")
	}
}

// TestExpiredEntriesAreSwept: insertions drop expired entries on their
// way, so a cache that never fills does not keep them.
func TestExpiredEntriesAreSwept(t *testing.T) {
	c := New[int, int](1000)
	for i := 0; i < 100; i++ {
		c.Put(i, i, t0.Add(time.Second), t0)
	}
	later := t0.Add(time.Minute)
	for i := 100; i < 200; i++ {
		c.Put(i, i, later.Add(time.Hour), later)
	}
	assert.Equal(t, 100, c.Len(), "the 100 expired entries were swept by 100 insertions (two each)")
}

// BenchmarkPutWhenFull inserts into a full cache of live entries whose
// expiries spread over an hour: each insertion evicts one. The cost per
// insertion stays the same from 10,000 to 200,000 entries.
func BenchmarkPutWhenFull(b *testing.B) {
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := New[int, struct{}](n)
			until := func(i int) time.Time { return t0.Add(time.Hour + time.Duration(i%3600)*time.Second) }
			for i := 0; i < n; i++ {
				c.Put(i, struct{}{}, until(i), t0)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.Put(n+i, struct{}{}, until(n+i), t0)
			}
			b.StopTimer()
			if c.Len() != n {
				b.Fatalf("len %d, want %d", c.Len(), n)
			}
		})
	}
}
