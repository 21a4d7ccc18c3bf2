package apiauth

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

func cacheKey(i int) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[:], uint64(i))
	return k
}

// BenchmarkCachePutWhenFull (issue 9 item 13) inserts verified tokens into
// a full cache of live ones whose expiries spread over an hour, as when
// the cache is at its bound: each insertion evicts one entry. The cost
// per insertion is the same at 10,000 and 200,000 entries.
func BenchmarkCachePutWhenFull(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	until := func(i int) time.Time { return now.Add(time.Hour + time.Duration(i%3600)*time.Second) }
	claims := &Claims{}
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := newTokenCache(n)
			for i := 0; i < n; i++ {
				c.put(cacheKey(i), claims, until(i), now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.put(cacheKey(n+i), claims, until(n+i), now)
			}
		})
	}
}
