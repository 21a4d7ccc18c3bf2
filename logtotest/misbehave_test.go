package logtotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

func TestMutateTokenResponses(t *testing.T) {
	srv := newFixture(t)
	srv.MutateTokenResponses(func(resp map[string]any) {
		resp["id_token"] = logtotest.CorruptSignature(resp["id_token"].(string))
		delete(resp, "refresh_token")
		resp["expires_in"] = "3600"
		resp["error"] = "server_error"
	})
	body := signIn(t, srv, "u-alice", "openid offline_access", nil)
	assert.NotContains(t, body, "refresh_token")
	assert.Equal(t, "3600", body["expires_in"])
	assert.Equal(t, "server_error", body["error"])
	assert.NotEmpty(t, body["access_token"], "untouched members are kept")

	// The corrupted ID token keeps its header and payload but no longer verifies.
	idt := str(body["id_token"])
	jws, err := jose.ParseSignedCompact(idt, []jose.SignatureAlgorithm{jose.ES384})
	require.NoError(t, err)
	assert.Equal(t, srv.SigningKID(), jws.Signatures[0].Header.KeyID)
	resp, err := http.Get(srv.Issuer() + "/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	_, err = jws.Verify(set.Keys[0])
	assert.Error(t, err)

	// The server still knows the refresh token it left out of the response.
	srv.MutateTokenResponses(nil)
	status, body2 := refresh(t, srv, false, refreshTokenOf(t, srv, "u-alice"), nil)
	assert.Equal(t, 200, status, body2)
}

// refreshTokenOf signs user in again without mutation and returns the
// refresh token (the test above dropped the first one from the response).
func refreshTokenOf(t *testing.T, srv *logtotest.Server, user string) string {
	t.Helper()
	return str(signIn(t, srv, user, "openid offline_access", nil)["refresh_token"])
}

func TestMutateUserInfo(t *testing.T) {
	srv := newFixture(t)
	at := str(signIn(t, srv, "u-alice", "openid profile", nil)["access_token"])
	srv.MutateUserInfo(func(c map[string]any) { c["sub"] = "u-bob"; delete(c, "name") })
	status, _, claims := getJSON(t, srv.Issuer()+"/me", at)
	assert.Equal(t, 200, status)
	assert.Equal(t, "u-bob", claims["sub"])
	assert.NotContains(t, claims, "name")
	assert.Equal(t, "alice", claims["username"])
	srv.MutateUserInfo(nil)
	_, _, claims = getJSON(t, srv.Issuer()+"/me", at)
	assert.Equal(t, "u-alice", claims["sub"])
	assert.Equal(t, "Alice Liddell", claims["name"])
}

func TestCorruptSignature(t *testing.T) {
	srv := newFixture(t)
	tok := srv.Sign(nil, map[string]any{"sub": "x"})
	bad := logtotest.CorruptSignature(tok)
	assert.NotEqual(t, tok, bad)
	assert.Equal(t, tok[:strings.LastIndexByte(tok, '.')], bad[:strings.LastIndexByte(bad, '.')])
	unsigned := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
	assert.NotEqual(t, unsigned, logtotest.CorruptSignature(unsigned), "an empty signature gets a bogus one")
	assert.Equal(t, "garbage", logtotest.CorruptSignature("garbage"))
}

func TestStallAndResume(t *testing.T) {
	srv := newFixture(t)
	srv.Stall(logtotest.EndpointDiscovery)
	discovery := srv.Issuer() + "/.well-known/openid-configuration"

	// The client's deadline ends the wait; the request was logged.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, discovery, nil)
	start := time.Now()
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), err)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointDiscovery))

	// Resume releases a waiting request with the normal answer.
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(discovery)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	require.Eventually(t, func() bool { return srv.RequestCount(logtotest.EndpointDiscovery) == 2 }, 5*time.Second, 5*time.Millisecond)
	select {
	case <-done:
		t.Fatal("a stalled request was answered")
	case <-time.After(50 * time.Millisecond):
	}
	srv.Resume(logtotest.EndpointDiscovery)
	assert.Equal(t, 200, <-done)

	// Other endpoints were never stalled; Resume without Stall is a no-op.
	srv.Resume(logtotest.EndpointToken)
	status, _ := postForm(t, srv, "/oidc/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, webID, webSecret)
	assert.Equal(t, 400, status)
}

func TestCloseReleasesStalledRequests(t *testing.T) {
	srv, err := logtotest.Start()
	require.NoError(t, err)
	srv.Stall(logtotest.EndpointJWKS)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.Issuer() + "/jwks")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return srv.RequestCount(logtotest.EndpointJWKS) == 1 }, 5*time.Second, 5*time.Millisecond)
	srv.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the stalled request")
	}
}
