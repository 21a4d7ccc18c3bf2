package jwks

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Lifetime is how long a key set fetched with response header h is held,
// for a configured maximum age maxAge:
//   - maxAge when the response sets no freshness (no Cache-Control
//     max-age, no-cache or no-store);
//   - otherwise the response's freshness lifetime (max-age less the Age a
//     cache in between reports; no-cache and no-store count as zero),
//     raised to MaxAgeFloor and capped at maxAge.
//
// Only Cache-Control is read: Expires depends on the two clocks agreeing,
// and s-maxage is meant for shared caches.
func Lifetime(h http.Header, maxAge time.Duration) time.Duration {
	fresh, ok := freshness(h)
	if !ok {
		return maxAge
	}
	return min(max(fresh, MaxAgeFloor), maxAge)
}

// freshness reads the response's freshness lifetime; ok is false when the
// response names none.
func freshness(h http.Header) (time.Duration, bool) {
	var (
		lifetime int64
		ok       bool
	)
	for _, line := range h.Values("Cache-Control") {
		for _, directive := range strings.Split(line, ",") {
			name, value, hasValue := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store":
				lifetime, ok = 0, true
			case "no-cache":
				// no-cache="field" restricts fields only.
				if !hasValue {
					lifetime, ok = 0, true
				}
			case "max-age":
				n, valid := seconds(value)
				if valid && (!ok || n < lifetime) {
					lifetime, ok = n, true
				}
			}
		}
	}
	if !ok {
		return 0, false
	}
	if age, valid := seconds(h.Get("Age")); valid {
		lifetime = max(lifetime-age, 0)
	}
	return time.Duration(lifetime) * time.Second, true
}

// maxSeconds keeps a number of seconds within a time.Duration.
const maxSeconds = math.MaxInt64 / int64(time.Second)

// seconds parses delta-seconds (RFC 9111 1.2.2), quoted or not; values
// too large for a time.Duration saturate.
func seconds(s string) (int64, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxSeconds {
		return maxSeconds, true // digits only: too large
	}
	return n, true
}
