package logto

import (
	"sync"
	"time"
)

// testClock is a settable clock for tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func fixedClock() *testClock { return &testClock{t: time.Unix(1_700_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
