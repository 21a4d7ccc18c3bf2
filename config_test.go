package logto

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewLogtoClientValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  LogtoConfig
		opts []Option
		ok   bool
	}{
		{"https endpoint", LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, nil, true},
		{"trailing slash trimmed", LogtoConfig{Endpoint: "https://t.logto.app/", AppId: "a"}, nil, true},
		{"http loopback", LogtoConfig{Endpoint: "http://127.0.0.1:3001", AppId: "a"}, nil, true},
		{"http localhost", LogtoConfig{Endpoint: "http://localhost:3001", AppId: "a"}, nil, true},
		{"http ipv6 loopback", LogtoConfig{Endpoint: "http://[::1]:3001", AppId: "a"}, nil, true},
		{"http remote refused", LogtoConfig{Endpoint: "http://t.logto.app", AppId: "a"}, nil, false},
		{"http remote with insecure option", LogtoConfig{Endpoint: "http://logto.internal", AppId: "a"}, []Option{InsecureAllowHTTP()}, true},
		{"empty endpoint", LogtoConfig{AppId: "a"}, nil, false},
		{"relative endpoint", LogtoConfig{Endpoint: "t.logto.app", AppId: "a"}, nil, false},
		{"ftp endpoint", LogtoConfig{Endpoint: "ftp://t.logto.app", AppId: "a"}, nil, false},
		{"endpoint with query", LogtoConfig{Endpoint: "https://t.logto.app?x=1", AppId: "a"}, nil, false},
		{"endpoint with user info", LogtoConfig{Endpoint: "https://u:p@t.logto.app", AppId: "a"}, nil, false},
		{"no app id", LogtoConfig{Endpoint: "https://t.logto.app"}, nil, false},
		{"scope with space", LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a", Scopes: []string{"a b"}}, nil, false},
		{"relative resource", LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a", Resources: []string{"api"}}, nil, false},
		{"negative leeway", LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, []Option{WithLeeway(-time.Second)}, false},
		{"zero body cap", LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, []Option{WithMaxResponseBytes(0)}, false},
		{"nil clock", LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, []Option{WithClock(nil)}, false},
		{"nil option skipped", LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, []Option{nil}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLogtoClient(tt.cfg, nil, tt.opts...)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.True(t, errors.Is(err, ErrInvalidConfig), "got %v", err)
			}
		})
	}
}

func TestNewLogtoClientNeverMutatesCaller(t *testing.T) {
	scopes := []string{ScopeOrganizations, ScopeEmail}
	resources := make([]string, 1, 8) // spare capacity must not be written
	resources[0] = "https://api.example.com"
	cfg := LogtoConfig{Endpoint: "https://t.logto.app/", AppId: "a", AppSecret: "s", Scopes: scopes, Resources: resources}
	c, err := NewLogtoClient(cfg, nil)
	require.NoError(t, err)
	assert.Equal(t, "https://t.logto.app/", cfg.Endpoint)
	assert.Equal(t, []string{ScopeOrganizations, ScopeEmail}, scopes)
	assert.Equal(t, "https://api.example.com", resources[0])
	assert.Equal(t, "", resources[:2][1])
	assert.Equal(t, Prompt(""), cfg.Prompt)

	got := c.Config()
	assert.Equal(t, "https://t.logto.app", got.Endpoint)
	assert.Equal(t, []string{ScopeOrganizations, ScopeEmail, ScopeOpenID, ScopeOfflineAccess, ScopeProfile}, got.Scopes)
	assert.Equal(t, []string{"https://api.example.com", ResourceOrganizations}, got.Resources)
	assert.Equal(t, PromptConsent, got.Prompt)
	assert.Empty(t, got.AppSecret, "Config never hands the secret out")
	assert.Equal(t, "https://t.logto.app/oidc", c.Issuer())

	got.Scopes[0] = "changed"
	assert.Equal(t, ScopeOrganizations, c.Config().Scopes[0], "Config returns a copy")
}

func TestDefaultHTTPClientHasTimeoutAndNoRedirects(t *testing.T) {
	c, err := NewLogtoClient(LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, nil)
	require.NoError(t, err)
	assert.NotSame(t, http.DefaultClient, c.core.http)
	assert.Equal(t, DefaultHTTPTimeout, c.core.http.Timeout)
	assert.ErrorIs(t, c.core.http.CheckRedirect(nil, nil), http.ErrUseLastResponse)

	mine := &http.Client{Timeout: 5 * time.Second}
	c, err = NewLogtoClient(LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, nil, WithHTTPClient(mine))
	require.NoError(t, err)
	assert.Equal(t, 5*time.Second, c.core.http.Timeout)
	assert.Nil(t, mine.CheckRedirect, "the caller's client is not modified")
}

// TestOptionErrorsNameTheOption: an option given a value it cannot take
// makes NewLogtoClient and NewM2MClient fail with ErrInvalidConfig and a
// message naming the option and the value; the bounds themselves are
// accepted.
func TestOptionErrorsNameTheOption(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want string // the whole message; "" means accepted
	}{
		{"WithClock nil", WithClock(nil), "logto: invalid configuration: WithClock(nil): must not be nil"},
		{"WithSleep nil", WithSleep(nil), "logto: invalid configuration: WithSleep(nil): must not be nil"},
		{"WithLeeway negative", WithLeeway(-time.Second), "logto: invalid configuration: WithLeeway(-1s): must not be negative"},
		{"WithLeeway zero", WithLeeway(0), ""},
		{"WithEarlyExpiry negative", WithEarlyExpiry(-time.Millisecond), "logto: invalid configuration: WithEarlyExpiry(-1ms): must not be negative"},
		{"WithEarlyExpiry zero", WithEarlyExpiry(0), ""},
		{"WithTransactionTTL zero", WithTransactionTTL(0), "logto: invalid configuration: WithTransactionTTL(0s): must be positive"},
		{"WithTransactionTTL negative", WithTransactionTTL(-time.Minute), "logto: invalid configuration: WithTransactionTTL(-1m0s): must be positive"},
		{"WithTransactionTTL one ns", WithTransactionTTL(time.Nanosecond), ""},
		{"WithJWKSRefreshCooldown negative", WithJWKSRefreshCooldown(-time.Second), "logto: invalid configuration: WithJWKSRefreshCooldown(-1s): must not be negative"},
		{"WithJWKSRefreshCooldown zero", WithJWKSRefreshCooldown(0), ""},
		{"WithJWKSMaxAge zero", WithJWKSMaxAge(0), "logto: invalid configuration: WithJWKSMaxAge(0s): must be positive and at most 24h0m0s"},
		{"WithJWKSMaxAge negative", WithJWKSMaxAge(-time.Second), "logto: invalid configuration: WithJWKSMaxAge(-1s): must be positive and at most 24h0m0s"},
		{"WithJWKSMaxAge over a day", WithJWKSMaxAge(24*time.Hour + time.Second), "logto: invalid configuration: WithJWKSMaxAge(24h0m1s): must be positive and at most 24h0m0s"},
		{"WithJWKSMaxAge a day", WithJWKSMaxAge(24 * time.Hour), ""},
		{"WithMaxResponseBytes zero", WithMaxResponseBytes(0), "logto: invalid configuration: WithMaxResponseBytes(0): must be positive"},
		{"WithMaxResponseBytes negative", WithMaxResponseBytes(-1), "logto: invalid configuration: WithMaxResponseBytes(-1): must be positive"},
		{"WithMaxResponseBytes one", WithMaxResponseBytes(1), ""},
		{"WithHTTPClient nil", WithHTTPClient(nil), ""},
		{"WithLogger nil", WithLogger(nil), ""},
		{"InsecureAllowHTTP", InsecureAllowHTTP(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLogtoClient(LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}, nil, tt.opt)
			_, m2mErr := NewM2MClient(M2MConfig{Endpoint: "https://t.logto.app", AppId: "a", AppSecret: "s", Resource: "https://api.example.com"}, tt.opt)
			if tt.want == "" {
				assert.NoError(t, err)
				assert.NoError(t, m2mErr)
				return
			}
			for _, err := range []error{err, m2mErr} {
				require.ErrorIs(t, err, ErrInvalidConfig)
				assert.EqualError(t, err, tt.want)
			}
		})
	}
}

// TestFirstOptionErrorWins: options apply in order and the first bad one
// is reported, before the LogtoConfig is looked at.
func TestFirstOptionErrorWins(t *testing.T) {
	_, err := NewLogtoClient(LogtoConfig{}, nil, WithLeeway(time.Second), WithEarlyExpiry(-time.Second), WithLeeway(-time.Second))
	assert.EqualError(t, err, "logto: invalid configuration: WithEarlyExpiry(-1s): must not be negative")
}

// TestOptionsApply: each option's value reaches the client, and without
// options the client has the exported defaults.
func TestOptionsApply(t *testing.T) {
	cfg := LogtoConfig{Endpoint: "https://t.logto.app", AppId: "a"}
	c, err := NewLogtoClient(cfg, nil)
	require.NoError(t, err)
	got := c.core.set
	assert.Equal(t, DefaultLeeway, got.leeway)
	assert.Equal(t, DefaultEarlyExpiry, got.earlyExpiry)
	assert.Equal(t, DefaultTransactionTTL, got.transactionTTL)
	assert.Equal(t, DefaultJWKSRefreshCooldown, got.jwksCooldown)
	assert.Equal(t, DefaultJWKSMaxAge, got.jwksMaxAge)
	assert.Equal(t, int64(DefaultMaxResponseBytes), got.maxBody)
	assert.Equal(t, DefaultMaxPendingSignIns, got.maxPending)
	assert.False(t, got.insecureHTTP)

	at := time.Unix(1_700_000_000, 0)
	c, err = NewLogtoClient(cfg, nil,
		WithClock(func() time.Time { return at }),
		WithLeeway(2*time.Second), WithEarlyExpiry(3*time.Second), WithTransactionTTL(4*time.Second),
		WithJWKSRefreshCooldown(5*time.Second), WithJWKSMaxAge(6*time.Second), WithMaxResponseBytes(7),
		InsecureAllowHTTP())
	require.NoError(t, err)
	got = c.core.set
	assert.Equal(t, at, got.now())
	assert.Equal(t, 2*time.Second, got.leeway)
	assert.Equal(t, 3*time.Second, got.earlyExpiry)
	assert.Equal(t, 4*time.Second, got.transactionTTL)
	assert.Equal(t, 5*time.Second, got.jwksCooldown)
	assert.Equal(t, 6*time.Second, got.jwksMaxAge)
	assert.Equal(t, int64(7), got.maxBody)
	assert.True(t, got.insecureHTTP)
}

// TestDefaultValues pins the defaults to the values their doc comments
// and the README's configuration table state.
func TestDefaultValues(t *testing.T) {
	assert.Equal(t, 30*time.Second, DefaultHTTPTimeout)
	assert.Equal(t, time.Minute, DefaultLeeway)
	assert.Equal(t, time.Minute, DefaultEarlyExpiry)
	assert.Equal(t, 10*time.Minute, DefaultTransactionTTL)
	assert.Equal(t, time.Minute, DefaultJWKSRefreshCooldown)
	assert.Equal(t, 10*time.Minute, DefaultJWKSMaxAge)
	assert.Equal(t, 1<<20, DefaultMaxResponseBytes)
	assert.Equal(t, 5, DefaultMaxPendingSignIns)
}
