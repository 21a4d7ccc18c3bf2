package timecheck

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	now := time.Unix(1_700_000_000, 500_000_000) // half a second past
	sec := now.Unix()
	idToken := Rules{Leeway: time.Minute, Required: Exp | Iat}
	logout := Rules{Leeway: time.Minute, Required: Iat, MaxAge: 5 * time.Minute}
	none := Rules{}
	tests := []struct {
		name   string
		c      Claims
		r      Rules
		claim  string
		reason Reason
		by     time.Duration
		msg    string
	}{
		{name: "valid", c: Claims{Expiry: sec + 3600, IssuedAt: sec, NotBefore: sec}, r: idToken},
		{name: "nothing required, nothing present", r: none},
		{name: "exp within the leeway", c: Claims{Expiry: sec - 59, IssuedAt: sec - 3600}, r: idToken},
		{name: "exp at the leeway's end", c: Claims{Expiry: sec - 60, IssuedAt: sec - 3600}, r: idToken,
			claim: "exp", reason: Expired, by: 500 * time.Millisecond, msg: "token expired (exp 1s beyond the leeway)"},
		{name: "exp an hour past", c: Claims{Expiry: sec - 3600, IssuedAt: sec - 7200}, r: idToken,
			claim: "exp", reason: Expired, by: 59*time.Minute + 500*time.Millisecond, msg: "token expired (exp 59m1s beyond the leeway)"},
		{name: "exp passed, no leeway", c: Claims{Expiry: sec}, r: none,
			claim: "exp", reason: Expired, by: 500 * time.Millisecond},
		{name: "exp missing", c: Claims{IssuedAt: sec}, r: idToken, claim: "exp", reason: Missing, msg: "exp is missing"},
		{name: "exp missing is first", c: Claims{}, r: idToken, claim: "exp", reason: Missing},
		{name: "exp optional", c: Claims{IssuedAt: sec}, r: logout},
		{name: "iat missing", c: Claims{Expiry: sec + 60}, r: idToken, claim: "iat", reason: Missing, msg: "iat is missing"},
		{name: "iat optional", c: Claims{Expiry: sec + 60}, r: Rules{Required: Exp}},
		{name: "iat within the leeway", c: Claims{Expiry: sec + 3600, IssuedAt: sec + 60}, r: idToken},
		{name: "iat in the future", c: Claims{Expiry: sec + 7200, IssuedAt: sec + 3600}, r: idToken,
			claim: "iat", reason: Future, by: 59*time.Minute - 500*time.Millisecond, msg: "token issued in the future (iat 59m0s beyond the leeway)"},
		{name: "nbf within the leeway", c: Claims{Expiry: sec + 3600, IssuedAt: sec, NotBefore: sec + 60}, r: idToken},
		{name: "nbf in the future", c: Claims{Expiry: sec + 7200, IssuedAt: sec, NotBefore: sec + 3600}, r: idToken,
			claim: "nbf", reason: Future, by: 59*time.Minute - 500*time.Millisecond, msg: "token not valid yet (nbf 59m0s beyond the leeway)"},
		{name: "iat within the maximum age", c: Claims{IssuedAt: sec - 359}, r: logout},
		{name: "huge maximum age and leeway", c: Claims{IssuedAt: math.MinInt64 + 1}, r: Rules{Leeway: math.MaxInt64, MaxAge: math.MaxInt64}, claim: "iat", reason: TooOld},
		{name: "iat too old", c: Claims{IssuedAt: sec - 3600}, r: logout,
			claim: "iat", reason: TooOld, by: 54*time.Minute + 500*time.Millisecond, msg: "token issued too long ago (iat 54m1s beyond the maximum age and the leeway)"},
		{name: "exp checked before the age", c: Claims{IssuedAt: sec - 3600, Expiry: sec - 3000}, r: logout, claim: "exp", reason: Expired},
		{name: "huge exp is far future", c: Claims{Expiry: math.MaxInt64, IssuedAt: sec}, r: idToken},
		{name: "huge iat is in the future", c: Claims{Expiry: math.MaxInt64, IssuedAt: math.MaxInt64}, r: idToken, claim: "iat", reason: Future},
		{name: "huge nbf is in the future", c: Claims{Expiry: sec + 60, IssuedAt: sec, NotBefore: math.MaxInt64}, r: idToken, claim: "nbf", reason: Future},
		{name: "most negative exp has passed", c: Claims{Expiry: math.MinInt64, IssuedAt: sec}, r: idToken, claim: "exp", reason: Expired},
		{name: "most negative iat is too old", c: Claims{IssuedAt: math.MinInt64}, r: logout, claim: "iat", reason: TooOld},
		{name: "most negative iat, no maximum age", c: Claims{Expiry: sec + 60, IssuedAt: math.MinInt64}, r: idToken},
		{name: "huge leeway", c: Claims{Expiry: sec - 3600, IssuedAt: sec}, r: Rules{Leeway: math.MaxInt64, Required: Exp | Iat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Check(tt.c, now, tt.r)
			if tt.claim == "" {
				assert.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			assert.Equal(t, tt.claim, e.Claim)
			assert.Equal(t, tt.reason, e.Reason)
			assert.GreaterOrEqual(t, e.By, time.Duration(0))
			if tt.by != 0 {
				assert.Equal(t, tt.by, e.By)
			}
			if tt.msg != "" {
				assert.Equal(t, tt.msg, e.Error())
			}
		})
	}
}

func TestSummary(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{Claim: "exp", Reason: Missing}, "exp is missing"},
		{Error{Claim: "exp", Reason: Expired}, "token expired"},
		{Error{Claim: "iat", Reason: Future}, "token issued in the future"},
		{Error{Claim: "nbf", Reason: Future}, "token not valid yet"},
		{Error{Claim: "iat", Reason: TooOld}, "token issued too long ago"},
	} {
		assert.Equal(t, tt.want, tt.e.Summary())
	}
}
