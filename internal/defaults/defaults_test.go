package defaults

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestOr(t *testing.T) {
	assert.Equal(t, Leeway, Or(time.Duration(0), Leeway), "zero means the default")
	assert.Equal(t, -time.Second, Or(-time.Second, Leeway), "a negative value is kept, for the check to refuse")
	assert.Equal(t, 3, Or(3, 10))
	assert.Equal(t, "realm", Or("", "realm"))
}

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // "" means accepted
	}{
		{"NotNegative zero", NotNegative(time.Duration(0)), ""},
		{"NotNegative negative", NotNegative(-time.Nanosecond), "must not be negative"},
		{"NotNegative int", NotNegative(-1), "must not be negative"},
		{"Positive zero", Positive(int64(0)), "must be positive"},
		{"Positive one", Positive(1), ""},
		{"JWKSMaxAgeRange zero", JWKSMaxAgeRange(0), "must be positive and at most 24h0m0s"},
		{"JWKSMaxAgeRange ceiling", JWKSMaxAgeRange(JWKSMaxAgeCeiling), ""},
		{"JWKSMaxAgeRange over", JWKSMaxAgeRange(JWKSMaxAgeCeiling + 1), "must be positive and at most 24h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "" {
				assert.NoError(t, tt.err)
			} else {
				assert.EqualError(t, tt.err, tt.want)
			}
		})
	}
	assert.NoError(t, Field("Config.Leeway", time.Second, nil))
	assert.EqualError(t, Field("Config.Leeway", -time.Second, NotNegative(-time.Second)), "Config.Leeway -1s: must not be negative")
}

func TestVerification(t *testing.T) {
	var leeway, cooldown, maxAge time.Duration
	assert.NoError(t, Verification(&leeway, &cooldown, &maxAge))
	assert.Equal(t, []time.Duration{Leeway, JWKSRefreshCooldown, JWKSMaxAge}, []time.Duration{leeway, cooldown, maxAge}, "zero values get the defaults")

	tests := []struct {
		name                     string
		leeway, cooldown, maxAge time.Duration
		want                     string
	}{
		{"set values are kept", 2 * time.Second, 3 * time.Second, 4 * time.Second, ""},
		{"negative leeway", -time.Second, 0, 0, "Config.Leeway -1s: must not be negative"},
		{"negative cooldown", 0, -time.Second, 0, "Config.JWKSRefreshCooldown -1s: must not be negative"},
		{"negative max age", 0, 0, -time.Second, "Config.JWKSMaxAge -1s: must be positive and at most 24h0m0s"},
		{"max age over a day", 0, 0, 25 * time.Hour, "Config.JWKSMaxAge 25h0m0s: must be positive and at most 24h0m0s"},
		{"the first bad field is named", -time.Second, -time.Second, -time.Second, "Config.Leeway -1s: must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, c, m := tt.leeway, tt.cooldown, tt.maxAge
			err := Verification(&l, &c, &m)
			if tt.want != "" {
				assert.EqualError(t, err, tt.want)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, []time.Duration{tt.leeway, tt.cooldown, tt.maxAge}, []time.Duration{l, c, m})
		})
	}
}
