package logtotest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func TestOptions(t *testing.T) {
	srv := newFixture(t, logtotest.WithAddr("127.0.0.1:0"), logtotest.WithAccessTokenTTL(10*time.Minute))
	assert.True(t, strings.HasPrefix(srv.URL(), "http://127.0.0.1:"), srv.URL())
	assert.False(t, strings.HasSuffix(srv.URL(), "/"))

	body := signIn(t, srv, "u-alice", "openid offline_access", url.Values{"resource": {apiA}})
	assert.EqualValues(t, 600, body["expires_in"])
	_, api := refresh(t, srv, false, str(body["refresh_token"]), url.Values{"resource": {apiA}})
	assert.EqualValues(t, 600, api["expires_in"], "resources without their own TTL use the default")

	// A wildcard listen address still yields a dialable URL.
	wild := logtotest.NewServer(t, logtotest.WithAddr(":0"))
	assert.True(t, strings.HasPrefix(wild.URL(), "http://127.0.0.1:"), wild.URL())
}

func TestWallClock(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := logtotest.NewServer(t, logtotest.WithWallClock(), logtotest.WithStartTime(start))
	time.Sleep(20 * time.Millisecond)
	assert.True(t, srv.Now().After(start))
	srv.Advance(time.Hour)
	assert.True(t, srv.Now().After(start.Add(time.Hour)))
}

func TestHandlerAndCORS(t *testing.T) {
	srv := newFixture(t)
	// The handler can be served elsewhere (tokens still name srv.Issuer()).
	other := httptest.NewServer(srv.Handler())
	t.Cleanup(other.Close)
	status, _, doc := getJSON(t, other.URL+"/oidc/.well-known/openid-configuration", "")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, srv.Issuer(), doc["issuer"])

	req, _ := http.NewRequest(http.MethodOptions, srv.Issuer()+"/token", nil)
	req.Header.Set("Origin", "http://spa.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "http://spa.example", resp.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, resp.Header.Get("Access-Control-Allow-Headers"), "Authorization")
}

func TestCodeExchangeWithResource(t *testing.T) {
	srv := newFixture(t)
	q := authorize(t, srv, "u-alice", func() url.Values {
		p := authParams(webID, "openid read")
		p.Set("resource", apiA)
		return p
	}())
	status, body := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"authorization_code"},
		"code": {q.Get("code")}, "redirect_uri": {redirectURI}, "resource": {apiA}}, webID, webSecret)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "read", body["scope"])
	_, claims := verifyJWT(t, srv, str(body["access_token"]))
	assert.Equal(t, apiA, claims["aud"])
	assert.NotEmpty(t, body["id_token"])
}
