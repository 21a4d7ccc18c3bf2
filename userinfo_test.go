package logto_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// answerWith makes the provider's next answers at e the given status,
// WWW-Authenticate challenge (if any) and body.
func answerWith(srv *logtotest.Server, e logtotest.Endpoint, status int, challenge, body string) {
	srv.Intercept(e, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if challenge != "" {
			w.Header().Set("WWW-Authenticate", challenge)
		}
		if body != "" && body[0] == '{' {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

// TestUserInfoErrorReporting: an answer in the OAuth format (error member
// in the body, whatever the status, or an RFC 6750 Bearer challenge) is an
// *OAuthError; any other failure is ErrInvalidResponse, naming the status
// when it is not 200.
func TestUserInfoErrorReporting(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		challenge string
		body      string
		oauth     *logto.OAuthError // nil: must be ErrInvalidResponse and no *OAuthError
		message   string            // in the error text
	}{
		{name: "oauth error body", status: 500, body: `{"error":"server_error","error_description":"oops"}`,
			oauth: &logto.OAuthError{Code: "server_error", Description: "oops", StatusCode: 500, Endpoint: "userinfo"}},
		{name: "bearer challenge only", status: 401,
			challenge: `Bearer realm="logto", error="invalid_token", error_description="access token expired"`,
			oauth:     &logto.OAuthError{Code: "invalid_token", Description: "access token expired", StatusCode: 401, Endpoint: "userinfo"}},
		{name: "body wins over challenge", status: 403, challenge: `Bearer error="invalid_token"`,
			body:  `{"error":"insufficient_scope","error_description":"openid"}`,
			oauth: &logto.OAuthError{Code: "insufficient_scope", Description: "openid", StatusCode: 403, Endpoint: "userinfo"}},
		{name: "oauth error in 200", status: 200, body: `{"error":"invalid_token"}`,
			oauth: &logto.OAuthError{Code: "invalid_token", StatusCode: 200, Endpoint: "userinfo"}},
		{name: "oauth error in 200 with claims of the wrong type", status: 200, body: `{"name":5,"error":"invalid_token"}`,
			oauth: &logto.OAuthError{Code: "invalid_token", StatusCode: 200, Endpoint: "userinfo"}},
		{name: "401 without body or challenge", status: 401, message: "userinfo endpoint answered HTTP 401"},
		{name: "401 with a challenge without error", status: 401, challenge: `Bearer realm="logto"`,
			message: "userinfo endpoint answered HTTP 401"},
		{name: "502 html", status: 502, body: "<html>bad gateway</html>", message: "userinfo endpoint answered HTTP 502"},
		{name: "203 with a user info body", status: 203, body: `{"sub":"` + aliceID + `"}`,
			message: "userinfo endpoint answered HTTP 203"},
		{name: "200 html", status: 200, body: "<html>hi</html>", message: "userinfo response is not valid JSON"},
		{name: "200 claims of the wrong type", status: 200, body: `{"sub":"` + aliceID + `","name":5}`,
			message: "userinfo response is not valid JSON"},
	}
	f := newFixture(t)
	f.signIn(t, aliceID)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answerWith(f.srv, logtotest.EndpointUserInfo, tt.status, tt.challenge, tt.body)
			defer f.srv.Intercept(logtotest.EndpointUserInfo, nil)
			_, err := f.client.FetchUserInfo(ctx)
			require.Error(t, err)
			var oe *logto.OAuthError
			if tt.oauth != nil {
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tt.oauth, oe)
				assert.NotErrorIs(t, err, logto.ErrInvalidResponse)
				return
			}
			assert.ErrorIs(t, err, logto.ErrInvalidResponse)
			assert.False(t, errors.As(err, &oe), "not an OAuth error: %v", err)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
}

// TestUserInfoNullErrorMember: a 200 body whose error member is null or
// empty is user info, as before decoding in one pass.
func TestUserInfoNullErrorMember(t *testing.T) {
	f := newFixture(t)
	f.signIn(t, aliceID)
	for _, body := range []string{
		`{"sub":"` + aliceID + `","error":null,"name":"A"}`,
		`{"sub":"` + aliceID + `","error":"","name":"A"}`,
	} {
		answerWith(f.srv, logtotest.EndpointUserInfo, 200, "", body)
		info, err := f.client.FetchUserInfo(context.Background())
		require.NoError(t, err, body)
		assert.Equal(t, "A", info.Name.Get())
	}
}

// TestTokenEndpointErrorReporting: the token endpoint's answers are judged
// the same way (here through a code exchange).
func TestTokenEndpointErrorReporting(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		challenge string
		body      string
		oauth     string // OAuthError code, "" for ErrInvalidResponse
		message   string
	}{
		{name: "oauth error body", status: 400, body: `{"error":"invalid_grant"}`, oauth: "invalid_grant"},
		{name: "oauth error in 200", status: 200, body: `{"error":"invalid_grant","access_token":"a","token_type":"Bearer"}`, oauth: "invalid_grant"},
		{name: "401 with a Basic challenge only", status: 401, challenge: `Basic realm="logto"`,
			message: "token endpoint answered HTTP 401"},
		{name: "503 html", status: 503, body: "<html>maintenance</html>", message: "token endpoint answered HTTP 503"},
		{name: "200 garbage", status: 200, body: "garbage", message: "token response is not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			cb := f.callbackFor(t, aliceID)
			answerWith(f.srv, logtotest.EndpointToken, tt.status, tt.challenge, tt.body)
			err := f.client.HandleCallback(context.Background(), cb)
			require.Error(t, err)
			var oe *logto.OAuthError
			if tt.oauth != "" {
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, tt.oauth, oe.Code)
				assert.Equal(t, tt.status, oe.StatusCode)
				assert.Equal(t, "token", oe.Endpoint)
				return
			}
			assert.ErrorIs(t, err, logto.ErrInvalidResponse)
			assert.False(t, errors.As(err, &oe), "not an OAuth error: %v", err)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
}
