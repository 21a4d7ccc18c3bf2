package logto

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func testResult(rt, next string, at time.Time) *refreshResult {
	if next == "" {
		next = rt
	}
	return &refreshResult{refreshToken: next, at: at, stored: make(chan struct{})}
}

// TestRecentRefreshesKeepNewerResults: recording a result never drops a
// result recorded for a refresh that started later (issue 10 item 1: the
// old sweep deleted every entry whose time was not within the window of
// the new result's, newer ones included).
func TestRecentRefreshesKeepNewerResults(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var r recentRefreshes
	newer := testResult("rt-y", "", t0.Add(time.Second))
	r.mu.Lock()
	r.putLocked("rt-y", "api", newer, t0.Add(time.Second))
	r.putLocked("rt-x", "api", testResult("rt-x", "", t0), t0.Add(2*time.Second))
	got := r.resultLocked("rt-y", "api", t0.Add(2*time.Second))
	r.mu.Unlock()
	assert.Same(t, newer, got)
}

// TestRecentRefreshesExpire: entries go recentWindow after they were
// recorded, results and rotations alike, and a result replaced since stays
// until its own time.
func TestRecentRefreshesExpire(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var r recentRefreshes
	r.mu.Lock()
	defer r.mu.Unlock()
	r.putLocked("rt-a", "api", testResult("rt-a", "rt-b", t0), t0)
	assert.Len(t, r.results, 2, "under the spent and the new refresh token")
	assert.Equal(t, "rt-b", r.rotationLocked("rt-a", t0))

	later := testResult("rt-c", "", t0.Add(5*time.Second))
	r.putLocked("rt-c", "api", later, t0.Add(5*time.Second))
	r.putLocked("rt-a", "api", testResult("rt-a", "rt-b", t0.Add(6*time.Second)), t0.Add(6*time.Second)) // replaces rt-a's

	r.expireLocked(t0.Add(recentWindow))
	assert.NotNil(t, r.results[resultKey{"rt-a", "api"}], "replaced: kept until its own time")
	assert.NotNil(t, r.results[resultKey{"rt-b", "api"}], "and under the new refresh token")
	assert.Contains(t, r.rotated, "rt-a", "rotation recorded again at 6 s")
	assert.Same(t, later, r.results[resultKey{"rt-c", "api"}])

	r.expireLocked(t0.Add(recentWindow + 6*time.Second))
	assert.Empty(t, r.results)
	assert.Empty(t, r.rotated)
	assert.Empty(t, r.queue[r.head:])
}

// TestRecentRefreshesQueueIsCompacted: a steady stream of refreshes keeps
// the queue bounded by what the window holds.
func TestRecentRefreshesQueueIsCompacted(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var r recentRefreshes
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range 100_000 {
		now := t0.Add(time.Duration(i) * time.Millisecond) // 1000 refreshes a second
		rt := fmt.Sprint("rt-", i)
		r.putLocked(rt, "api", testResult(rt, "", now), now)
	}
	live := int(recentWindow / time.Millisecond)
	assert.LessOrEqual(t, len(r.results), live+1)
	assert.LessOrEqual(t, cap(r.queue), 4*live, "the queue does not grow with the total number of refreshes")
}

// BenchmarkRecentRefreshesPut records refresh results at a steady rate
// that keeps `live` results (each with a rotation) within the window: the
// cost per result does not grow with them (issue 10 item 2; the old sweep
// of both maps on every insert made it linear).
func BenchmarkRecentRefreshesPut(b *testing.B) {
	for _, live := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("live=", live), func(b *testing.B) {
			t0 := time.Unix(1_700_000_000, 0)
			step := recentWindow / time.Duration(live)
			// Results are made once and recorded again and again, so that
			// only the bookkeeping is measured.
			names := make([]string, 2*live)
			results := make([]*refreshResult, len(names))
			for i := range names {
				names[i] = fmt.Sprint("rt-", i)
				results[i] = testResult(names[i], names[i]+"'", t0)
			}
			var r recentRefreshes
			put := func(i int) {
				now := t0.Add(time.Duration(i) * step)
				rt, res := names[i%len(names)], results[i%len(names)]
				res.at = now
				r.mu.Lock()
				r.putLocked(rt, "api", res, now)
				r.mu.Unlock()
			}
			for i := 0; i < 2*live; i++ { // reach the steady state
				put(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				put(2*live + i)
			}
			b.StopTimer()
			b.ReportMetric(float64(len(r.results)), "results-held")
		})
	}
}
