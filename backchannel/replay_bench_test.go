package backchannel

import (
	"fmt"
	"testing"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/internal/ttlcache"
)

// BenchmarkReserveWhenFull (issue 9 item 13) records jtis in a replay
// cache full of live ones: each reservation forgets the jti expiring
// soonest. The cost per reservation is the same at 10,000 and 200,000.
func BenchmarkReserveWhenFull(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	claims := func(i int) *Claims {
		// iat spread over the last five minutes, as genuine tokens are.
		return &Claims{JWTID: fmt.Sprint("jti-", i), IssuedAt: logto.NumericDate(now.Unix() - int64(i%300))}
	}
	for _, n := range []int{10_000, 200_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			h := &Handler{cfg: Config{MaxAge: 5 * time.Minute, Leeway: time.Minute}, seen: ttlcache.New[string, struct{}](n)}
			for i := 0; i < n; i++ {
				if !h.reserve(claims(i), now) {
					b.Fatal("refused while filling")
				}
			}
			toks := make([]*Claims, b.N)
			for i := range toks {
				toks[i] = claims(n + i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if !h.reserve(toks[i], now) {
					b.Fatal("a genuine jti was refused")
				}
			}
		})
	}
}
