package apiauth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestZeroConfigGetsTheSharedDefaults: a Config that sets only what is
// required gets the root package's defaults, which are the SDK's shared
// ones.
func TestZeroConfigGetsTheSharedDefaults(t *testing.T) {
	v, err := NewVerifier(Config{Endpoint: "https://t.logto.app", Audience: "https://api.example.com"})
	require.NoError(t, err)
	assert.Equal(t, logto.DefaultLeeway, v.cfg.Leeway)
	assert.Equal(t, logto.DefaultJWKSRefreshCooldown, v.cfg.JWKSRefreshCooldown)
	assert.Equal(t, logto.DefaultJWKSMaxAge, v.cfg.JWKSMaxAge)
	assert.Equal(t, DefaultCacheSize, v.cfg.CacheSize)
	assert.Equal(t, "https://api.example.com", v.cfg.Realm)
	assert.NotNil(t, v.cfg.Now)
}

// TestConfigErrorsNameTheField: a Config field with a value it cannot
// take is refused with a message naming the field and the value.
func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" means accepted
	}{
		{"negative Leeway", func(c *Config) { c.Leeway = -time.Second }, "apiauth: Config.Leeway -1s: must not be negative"},
		{"negative JWKSRefreshCooldown", func(c *Config) { c.JWKSRefreshCooldown = -time.Minute }, "apiauth: Config.JWKSRefreshCooldown -1m0s: must not be negative"},
		{"negative JWKSMaxAge", func(c *Config) { c.JWKSMaxAge = -time.Second }, "apiauth: Config.JWKSMaxAge -1s: must be positive and at most 24h0m0s"},
		{"JWKSMaxAge over a day", func(c *Config) { c.JWKSMaxAge = 25 * time.Hour }, "apiauth: Config.JWKSMaxAge 25h0m0s: must be positive and at most 24h0m0s"},
		{"JWKSMaxAge of a day", func(c *Config) { c.JWKSMaxAge = 24 * time.Hour }, ""},
		{"negative CacheSize disables the cache", func(c *Config) { c.CacheSize = -1 }, ""},
		{"no Audience", func(c *Config) { c.Audience = "" }, "apiauth: Audience is required (or AcceptOrganizationTokens)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Endpoint: "https://t.logto.app", Audience: "https://api.example.com"}
			tt.edit(&cfg)
			_, err := NewVerifier(cfg)
			if tt.want == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.want)
			}
		})
	}
}
