package apiauth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

// FuzzVerify feeds arbitrary strings (and mutations of a genuine token) to
// the verifier: it must never panic, every failure must be a typed
// invalid_token error, and anything accepted must be a token of this issuer
// for this API.
func FuzzVerify(f *testing.F) {
	srv := logtotest.NewServer(f)
	v, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), Audience: api, Now: srv.Now, CacheSize: -1})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Add(accessToken(srv, nil))
	f.Add(accessToken(srv, func(h, c map[string]any) { h["alg"] = "none" }))
	f.Add(accessToken(srv, func(h, c map[string]any) { h["alg"] = "HS256" }))
	f.Add(accessToken(srv, func(h, c map[string]any) { c["aud"] = []any{1, api} }))
	f.Add("eyJhbGciOiJFUzM4NCIsInR5cCI6ImF0K2p3dCJ9.e30.")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(ctx, token, apiauth.RequireScopes("read:data"))
		if err != nil {
			var e *apiauth.Error
			if !errors.As(err, &e) || (e.Code != "invalid_token" && e.Code != "insufficient_scope") {
				t.Fatalf("untyped failure: %v", err)
			}
			return
		}
		if c.Issuer != v.Issuer() || !c.Audience.Contains(api) || !c.HasScope("read:data") {
			t.Fatalf("accepted a token that is not for this API: %+v", c.AccessTokenClaims)
		}
	})
}
