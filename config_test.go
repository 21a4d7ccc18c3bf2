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
