package backchannel

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

func validConfig() Config {
	return Config{Endpoint: "https://t.logto.app", AppId: "app", OnLogout: func(context.Context, string, string) error { return nil }}
}

// TestZeroConfigGetsTheSharedDefaults: a Config that sets only what is
// required gets the root package's defaults, which are the SDK's shared
// ones, and this package's own.
func TestZeroConfigGetsTheSharedDefaults(t *testing.T) {
	h, err := NewHandler(validConfig())
	require.NoError(t, err)
	assert.Equal(t, logto.DefaultLeeway, h.cfg.Leeway)
	assert.Equal(t, logto.DefaultJWKSRefreshCooldown, h.cfg.JWKSRefreshCooldown)
	assert.Equal(t, logto.DefaultJWKSMaxAge, h.cfg.JWKSMaxAge)
	assert.Equal(t, DefaultMaxAge, h.cfg.MaxAge)
	assert.Equal(t, DefaultReplayCacheSize, h.cfg.ReplayCacheSize)
	assert.NotNil(t, h.cfg.Now)
}

// TestConfigErrorsNameTheField: a Config field with a value it cannot
// take is refused with a message naming the field and the value.
func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" means accepted
	}{
		{"negative Leeway", func(c *Config) { c.Leeway = -time.Second }, "backchannel: Config.Leeway -1s: must not be negative"},
		{"negative MaxAge", func(c *Config) { c.MaxAge = -time.Second }, "backchannel: Config.MaxAge -1s: must not be negative"},
		{"negative JWKSRefreshCooldown", func(c *Config) { c.JWKSRefreshCooldown = -time.Second }, "backchannel: Config.JWKSRefreshCooldown -1s: must not be negative"},
		{"negative JWKSMaxAge", func(c *Config) { c.JWKSMaxAge = -time.Second }, "backchannel: Config.JWKSMaxAge -1s: must be positive and at most 24h0m0s"},
		{"JWKSMaxAge over a day", func(c *Config) { c.JWKSMaxAge = 25 * time.Hour }, "backchannel: Config.JWKSMaxAge 25h0m0s: must be positive and at most 24h0m0s"},
		{"negative ReplayCacheSize", func(c *Config) { c.ReplayCacheSize = -1 }, "backchannel: Config.ReplayCacheSize -1: must not be negative"},
		{"set values", func(c *Config) { c.Leeway, c.MaxAge, c.ReplayCacheSize = time.Second, time.Minute, 10 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.edit(&cfg)
			_, err := NewHandler(cfg)
			if tt.want == "" {
				assert.NoError(t, err)
			} else {
				assert.EqualError(t, err, tt.want)
			}
		})
	}
}
