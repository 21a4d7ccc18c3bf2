package logto

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestCachedTokenFreshness: the millisecond rule of the cached path
// (fresh) against the instants it must divide, with a 60 s early-expiry
// window, and stored entries whose times are corrupt.
func TestCachedTokenFreshness(t *testing.T) {
	c := &core{set: settings{earlyExpiry: time.Minute}}
	base := time.Unix(1_800_000_000, 0)
	ms := func(d time.Duration) int64 { return base.Add(d).UnixMilli() }
	entry := func(issuedMs int64, expiry time.Duration) cachedToken {
		return cachedToken{Token: "t", IssuedAtMs: issuedMs, ExpiresAt: base.Add(expiry).Unix()}
	}
	for _, tt := range []struct {
		name  string
		t     cachedToken
		now   time.Duration
		fresh bool
	}{
		{"an hour's token, well before the window", entry(ms(0), time.Hour), 58 * time.Minute, true},
		{"an hour's token, 1 ms before the window", entry(ms(0), time.Hour), 59*time.Minute - time.Millisecond, true},
		{"an hour's token, at the window", entry(ms(0), time.Hour), 59 * time.Minute, false},
		{"30 s token: used for its first half", entry(ms(0), 30*time.Second), 14*time.Second + 999*time.Millisecond, true},
		{"30 s token: due at its half", entry(ms(0), 30*time.Second), 15 * time.Second, false},
		{"unknown issue time: the whole window", entry(0, 30*time.Second), 0, false},
		{"unknown issue time, long token", entry(0, time.Hour), 58 * time.Minute, true},
		{"issued after its expiry: no window, expired", entry(ms(time.Hour), 30*time.Second), 30 * time.Second, false},
		{"issued after its expiry: until expiry", entry(ms(time.Hour), 30*time.Second), 29 * time.Second, true},
		{"no token", cachedToken{ExpiresAt: base.Add(time.Hour).Unix()}, 0, false},
		{"negative expiry", cachedToken{Token: "t", ExpiresAt: -5}, 0, false},
		{"expiry beyond int64 milliseconds", cachedToken{Token: "t", ExpiresAt: math.MaxInt64}, 0, true},
		{"issue time beyond range", cachedToken{Token: "t", IssuedAtMs: math.MaxInt64, ExpiresAt: math.MinInt64}, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fresh, c.fresh(tt.t, base.Add(tt.now)))
		})
	}
}
