package logtohttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

func TestErrorMessages(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("logto: refresh: %w", err) }
	tests := []struct {
		name   string
		err    error
		query  string
		status int
		msg    string
	}{
		{"cancelled", &logto.OAuthError{Endpoint: "callback", Code: "access_denied", Description: "<b>attacker text</b>"}, "", 400, msgCancelled},
		{"access_denied without state", logto.ErrSignInSessionNotFound, "error=access_denied", 400, msgCancelled},
		{"other error without state", logto.ErrSignInSessionNotFound, "error=invalid_scope", 400, msgRefused},
		{"stale link", logto.ErrSignInSessionNotFound, "code=x&state=y", 400, msgStale},
		{"server busy at callback", &logto.OAuthError{Endpoint: "callback", Code: "temporarily_unavailable"}, "", 400, msgUnreachable},
		{"code spent", wrap(&logto.OAuthError{Endpoint: "token", Code: "invalid_grant", StatusCode: 400}), "", 400, msgExpired},
		{"token endpoint down", wrap(&logto.OAuthError{Endpoint: "token", Code: "server_error", StatusCode: 503}), "", 502, msgUnreachable},
		{"discovery", wrap(logto.ErrDiscovery), "", 502, msgUnreachable},
		{"invalid response", wrap(logto.ErrInvalidResponse), "", 502, msgUnreachable},
		{"timeout", wrap(context.DeadlineExceeded), "", 502, msgUnreachable},
		{"network", &url.Error{Op: "Post", URL: "https://x", Err: errors.New("connection refused")}, "", 502, msgUnreachable},
		{"mix-up", logto.ErrIssuerMismatch, "", 400, msgInvalid},
		{"bad ID token", wrap(logto.ErrInvalidIDToken), "", 400, msgInvalid},
		{"storage", wrap(logto.ErrStorage), "", 500, msgSession},
		{"store down", fmt.Errorf("%w: down", errSessionStore), "", 500, msgSession},
		{"too large", &SessionSizeError{Bytes: 50000, Budget: 6144}, "", 500, msgSession},
		{"config", logto.ErrInvalidConfig, "", 500, msgMisconfigured},
		{"refused", &logto.OAuthError{Endpoint: "token", Code: "invalid_client", StatusCode: 401}, "", 400, msgRefused},
		{"unknown", errors.New("odd"), "", 400, msgOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			e := newError("callback", tt.err, q)
			assert.Equal(t, tt.status, e.Status)
			assert.Equal(t, tt.msg, e.Message)
			assert.ErrorIs(t, e, tt.err)
			assert.NotContains(t, e.Message, "logto:")
		})
	}
	assert.Equal(t, msgProfile, newError("auth", errors.New("odd"), nil).Message)
}

// TestErrorPagesAndLogs: a sign-in that cannot reach Logto and a
// cancelled callback without state each answer a short message and leave
// one log record with the cause, without the callback's query.
func TestErrorPagesAndLogs(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.idp.FailNext(logtotest.EndpointDiscovery, http.StatusBadGateway, "upstream down")
	resp, body := e.get(e.browser(), "/sign-in")
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	assert.Contains(t, body, msgUnreachable)
	assert.NotContains(t, body, "logto:")
	logs := e.logs.String()
	assert.Contains(t, logs, "level=ERROR")
	assert.Contains(t, logs, "logtohttp: sign-in failed")
	assert.Contains(t, logs, "status=502")
	assert.Contains(t, logs, "discovery")

	resp, body = e.get(e.browser(), "/callback?error=access_denied&error_description=Nope&code=secret-code")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, body, msgCancelled)
	assert.NotContains(t, body, "not found")
	assert.NotContains(t, body, "Nope")
	logs = strings.TrimPrefix(e.logs.String(), logs)
	assert.Contains(t, logs, "level=WARN")
	assert.Contains(t, logs, "logtohttp: callback failed")
	assert.Contains(t, logs, "path=/callback")
	assert.NotContains(t, logs, "secret-code", "the query is not logged")
}

func TestCallbackErrorHandlerGetsError(t *testing.T) {
	var got *Error
	e := newEnv(t, envOptions{config: func(c *Config) {
		c.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, status int, err error) {
			require.ErrorAs(t, err, &got)
			http.Error(w, "custom: "+got.Message, status)
		}
	}})
	resp, body := e.get(e.browser(), "/callback?state=nope&code=x")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "custom: "+msgStale+"\n", body)
	assert.Equal(t, "callback", got.Op)
	assert.ErrorIs(t, got, logto.ErrSignInSessionNotFound)
	assert.Contains(t, e.logs.String(), "logtohttp: callback failed", "logged with a custom page too")
}
