package logto

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBearerChallenge(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   *OAuthError // nil: no OAuth error
	}{
		{"oidc-provider's challenge", []string{`Bearer realm="https://t.logto.app/oidc", error="invalid_token", error_description="invalid token provided"`},
			&OAuthError{Code: "invalid_token", Description: "invalid token provided"}},
		{"token values, no spaces", []string{`Bearer error=insufficient_scope,scope=openid`}, &OAuthError{Code: "insufficient_scope"}},
		{"case-insensitive scheme and names, white space around =", []string{`bearer ERROR = "invalid_token" , Error_URI="https://e/x"`},
			&OAuthError{Code: "invalid_token", URI: "https://e/x"}},
		{"escapes in a quoted string", []string{`Bearer error="invalid_token", error_description="a \"quoted\" \\ word"`},
			&OAuthError{Code: "invalid_token", Description: `a "quoted" \ word`}},
		{"after another challenge in the same value", []string{`Basic realm="x", Bearer error="invalid_token"`}, &OAuthError{Code: "invalid_token"}},
		{"after a token68 challenge", []string{`Negotiate a/b+c==, Bearer error="invalid_token"`}, &OAuthError{Code: "invalid_token"}},
		{"in a second header", []string{`Basic realm="x"`, `Bearer error="invalid_token"`}, &OAuthError{Code: "invalid_token"}},
		{"first Bearer with an error wins", []string{`Bearer realm="x", Bearer error="a", Bearer error="b"`}, &OAuthError{Code: "a"}},
		{"no error", []string{`Bearer realm="logto"`}, nil},
		{"empty error", []string{`Bearer error=""`}, nil},
		{"error of another scheme", []string{`Basic error="invalid_token"`}, nil},
		{"nothing", nil, nil},
		{"empty value", []string{""}, nil},
		{"unterminated quote", []string{`Bearer error="invalid_token`}, nil},
		{"garbage", []string{`"Bearer error=x"`, `=`, `,,,`, `Bearer ,=,`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseBearerChallenge(tt.values, 401, "userinfo")
			if tt.want == nil {
				assert.Nil(t, got)
				return
			}
			tt.want.StatusCode, tt.want.Endpoint = 401, "userinfo"
			assert.Equal(t, tt.want, got)
		})
	}
}

// FuzzParseBearerChallenge: any header value is read without panic or
// endless loop, and an error found has a code.
func FuzzParseBearerChallenge(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="x", error="invalid_token", error_description="d"`, `Basic realm="x", Bearer error=a`,
		`Negotiate abc==, Bearer error="a\"b"`, `Bearer error="`, `Bearer ,=, error`, `==, Bearer`, "Bearer\terror=\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if oe := parseBearerChallenge([]string{v}, 401, "userinfo"); oe != nil && oe.Code == "" {
			t.Fatalf("%q: OAuth error without code", v)
		}
	})
}

// twoPassTokenAnswer is how postToken judged an answer before decoding it
// once: the body read as an OAuth error first, then the status, then the
// body decoded as a token response.
func twoPassTokenAnswer(a answer) (tokenResponse, error) {
	if oe := parseOAuthError(a.body, a.status, "token"); oe != nil {
		return tokenResponse{}, oe
	}
	if a.status != http.StatusOK {
		return tokenResponse{}, ErrInvalidResponse
	}
	var tr tokenResponse
	if err := json.Unmarshal(a.body, &tr); err != nil {
		return tokenResponse{}, ErrInvalidResponse
	}
	return tr, nil
}

var answerSeeds = []string{
	`{"access_token":"a","token_type":"Bearer","expires_in":3600}`,
	`{"error":"invalid_grant"}`, `{"error":"invalid_grant","error_description":"d","error_uri":"u"}`,
	`{"access_token":"a","error":"invalid_grant"}`, `{"error":null,"access_token":"a"}`, `{"error":"","access_token":"a"}`,
	`{"ERROR":"x"}`, `{"error":"x","error":null}`, `{"error":5,"access_token":"a"}`, `{"error":"x","error_description":5}`,
	`{"error":"x","expires_in":"soon"}`, `{"expires_in":"soon"}`, `{"access_token":5}`, `null`, `[]`, `[{"error":"x"}]`,
	``, `garbage`, `{"error":"x"`, `{"error":{"code":"x"}}`,
}

// TestDecodeAnswerMatchesTwoPass: for a 200 answer, decoding once gives
// the same token response or the same kind of error (the same OAuth error)
// as the two readings did.
func TestDecodeAnswerMatchesTwoPass(t *testing.T) {
	for _, body := range answerSeeds {
		t.Run(body, func(t *testing.T) { checkDecodeAnswer(t, []byte(body)) })
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, body := range answerSeeds {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDecodeAnswer(t, body) })
}

func checkDecodeAnswer(t *testing.T, body []byte) {
	t.Helper()
	a := answer{status: http.StatusOK, body: body}
	want, wantErr := twoPassTokenAnswer(a)
	var got tokenResponse
	gotErr := decodeAnswer(a, "token", &got, func() bool { return got.Error != nil })
	var wantOE, gotOE *OAuthError
	switch {
	case errors.As(wantErr, &wantOE):
		require.ErrorAs(t, gotErr, &gotOE, "%q", body)
		assert.Equal(t, wantOE, gotOE, "%q", body)
	case wantErr != nil:
		require.ErrorIs(t, gotErr, ErrInvalidResponse, "%q", body)
		assert.False(t, errors.As(gotErr, &gotOE), "%q", body)
	default:
		require.NoError(t, gotErr, "%q", body)
		assert.Equal(t, want, got, "%q", body)
	}
}

// TestFailedAnswer: a status other than 200 is reported one way whatever
// the endpoint: *OAuthError for the OAuth format, else ErrInvalidResponse
// with the status.
func TestFailedAnswer(t *testing.T) {
	bearer := http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}
	tests := []struct {
		a     answer
		oauth string
		text  string
	}{
		{a: answer{status: 400, body: []byte(`{"error":"invalid_request"}`)}, oauth: "invalid_request"},
		{a: answer{status: 401, header: bearer}, oauth: "invalid_token"},
		{a: answer{status: 401}, text: "logto: invalid response: token endpoint answered HTTP 401"},
		{a: answer{status: 500, body: []byte(`{"error":""}`)}, text: "logto: invalid response: token endpoint answered HTTP 500"},
		{a: answer{status: 302, body: []byte(`<a href="x">`)}, text: "logto: invalid response: token endpoint answered HTTP 302"},
	}
	for _, tt := range tests {
		err := failedAnswer(tt.a, "token")
		var oe *OAuthError
		if tt.oauth != "" {
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tt.oauth, oe.Code)
			assert.Equal(t, tt.a.status, oe.StatusCode)
			continue
		}
		assert.ErrorIs(t, err, ErrInvalidResponse)
		assert.EqualError(t, err, tt.text)
	}
}

// TestCheckAnswer: an endpoint whose body is not read (revocation) is
// judged as the others: failedAnswer for a status other than 200, an
// OAuth error member even in a 200 answer, nothing else.
func TestCheckAnswer(t *testing.T) {
	bearer := http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}
	tests := []struct {
		name  string
		a     answer
		oauth string
		text  string
	}{
		{name: "200, empty body", a: answer{status: 200}},
		{name: "200, not JSON", a: answer{status: 200, body: []byte("OK")}},
		{name: "200 with an error member", a: answer{status: 200, body: []byte(`{"error":"unsupported_token_type"}`)}, oauth: "unsupported_token_type"},
		{name: "400 OAuth error", a: answer{status: 400, body: []byte(`{"error":"invalid_client"}`)}, oauth: "invalid_client"},
		{name: "401 Bearer challenge", a: answer{status: 401, header: bearer}, oauth: "invalid_token"},
		{name: "503 HTML", a: answer{status: 503, body: []byte("<html>")}, text: "logto: invalid response: revocation endpoint answered HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkAnswer(tt.a, "revocation")
			var oe *OAuthError
			switch {
			case tt.oauth != "":
				require.ErrorAs(t, err, &oe)
				assert.Equal(t, OAuthError{Code: tt.oauth, StatusCode: tt.a.status, Endpoint: "revocation"}, *oe)
			case tt.text != "":
				assert.ErrorIs(t, err, ErrInvalidResponse)
				assert.EqualError(t, err, tt.text)
			default:
				assert.NoError(t, err)
			}
		})
	}
}
