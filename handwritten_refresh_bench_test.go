package logto_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// The yardstick for the refresh benchmarks (bench_refresh_test.go): what
// an application would write by hand with go-oidc and x/oauth2 to keep one
// user's tokens fresh, against the same logtotest provider. The user-info
// token is refreshed through oauth2.Config.TokenSource; an API-resource
// token with a hand-rolled form POST, since x/oauth2 cannot send the
// resource parameter on a refresh. Every refreshed ID token is verified
// with go-oidc; concurrent callers share one refresh through singleflight;
// the session lives in memory.

// handRefresher is one session of the hand-written client.
type handRefresher struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	http     *http.Client
	ctx      context.Context // carries http for x/oauth2
	resource string          // "" for the user-info token
	flight   singleflight.Group

	mu      sync.RWMutex
	tok     *oauth2.Token
	idToken string
}

// newHandRefresher discovers srv's configuration with go-oidc and takes
// over the refresh token of an SDK session signed in on the web app.
func newHandRefresher(tb testing.TB, srv *logtotest.Server, refreshToken, resource string) *handRefresher {
	tb.Helper()
	hc := &http.Client{Timeout: 30 * time.Second}
	ctx := oidc.ClientContext(context.Background(), hc)
	provider, err := oidc.NewProvider(ctx, srv.Issuer())
	if err != nil {
		tb.Fatal(err)
	}
	ep := provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	return &handRefresher{
		oauth:    oauth2.Config{ClientID: appID, ClientSecret: appSecret, Endpoint: ep},
		verifier: provider.Verifier(&oidc.Config{ClientID: appID, Now: srv.Now}),
		http:     hc,
		ctx:      ctx,
		resource: resource,
		tok:      &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Second)},
	}
}

// expire makes the held access token stale, as time passing would (x/oauth2
// reads the wall clock, the provider runs on its own).
func (h *handRefresher) expire() {
	h.mu.Lock()
	t := *h.tok
	t.Expiry = time.Now().Add(-time.Second)
	h.tok = &t
	h.mu.Unlock()
}

// token returns a valid access token, refreshing once for all concurrent
// callers when the held one is stale.
func (h *handRefresher) token(ctx context.Context) (string, error) {
	h.mu.RLock()
	t := h.tok
	h.mu.RUnlock()
	if t.Valid() {
		return t.AccessToken, nil
	}
	v, err, _ := h.flight.Do("refresh", func() (any, error) {
		h.mu.RLock()
		t := h.tok
		h.mu.RUnlock()
		if t.Valid() {
			return t, nil
		}
		nt, err := h.refresh(ctx, t)
		if err != nil {
			return nil, err
		}
		raw, _ := nt.Extra("id_token").(string)
		if raw != "" {
			if _, err := h.verifier.Verify(ctx, raw); err != nil {
				return nil, err
			}
		}
		h.mu.Lock()
		h.tok = nt
		if raw != "" {
			h.idToken = raw
		}
		h.mu.Unlock()
		return nt, nil
	})
	if err != nil {
		return "", err
	}
	return v.(*oauth2.Token).AccessToken, nil
}

func (h *handRefresher) refresh(ctx context.Context, t *oauth2.Token) (*oauth2.Token, error) {
	if h.resource == "" {
		return h.oauth.TokenSource(h.ctx, t).Token()
	}
	body, err := postRefresh(ctx, h.http, h.oauth.Endpoint.TokenURL, t.RefreshToken, h.resource)
	if err != nil {
		return nil, err
	}
	var tr handTokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, errors.New("no access_token")
	}
	nt := &oauth2.Token{
		AccessToken: tr.AccessToken, TokenType: tr.TokenType, RefreshToken: t.RefreshToken,
		Expiry: time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second),
	}
	if tr.RefreshToken != "" {
		nt.RefreshToken = tr.RefreshToken
	}
	return nt.WithExtra(map[string]any{"id_token": tr.IDToken, "scope": tr.Scope}), nil
}

// handTokenResponse is the token response as a hand-written client
// decodes it.
type handTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// postRefresh sends one refresh_token grant for resource with the web
// app's client_secret_basic credentials and returns the body: the bare
// round trip.
func postRefresh(ctx context.Context, hc *http.Client, tokenURL, refreshToken, resource string) ([]byte, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "resource": {resource}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(appID), url.QueryEscape(appSecret))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token endpoint: HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// sdkSession signs a user in on the web app through the SDK and returns
// the client and its refresh token (to hand to a handRefresher).
func sdkSession(tb testing.TB, srv *logtotest.Server, opts ...logto.Option) (*logto.LogtoClient, string) {
	tb.Helper()
	c, err := logto.NewLogtoClient(webAppConfig(srv), nil, append([]logto.Option{logto.WithClock(srv.Now)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	signInAs(tb, srv, c, aliceID)
	rt, err := c.GetRefreshToken(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return c, rt
}
