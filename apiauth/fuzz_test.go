package apiauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

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

// FuzzIntrospectionAnswer feeds arbitrary introspection answers for an
// opaque token: the verifier never panics, a failure is a typed
// invalid_token error or ErrUnavailable, and an accepted answer is an
// active access token of this issuer, of an accepted app, with a subject
// and an expiry ahead.
func FuzzIntrospectionAnswer(f *testing.F) {
	srv := logtotest.NewServer(f)
	in := &apiauth.Introspection{ClientID: "m2m", ClientSecret: "s", Clients: []string{"web"}}
	v, err := apiauth.NewVerifier(apiauth.Config{Endpoint: srv.URL(), Audience: api, Now: srv.Now, CacheSize: -1, Introspection: in})
	if err != nil {
		f.Fatal(err)
	}
	var body atomic.Value
	srv.Intercept(logtotest.EndpointIntrospection, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body.Load().([]byte))
	})
	now := srv.Now().Unix()
	f.Add([]byte(fmt.Sprintf(`{"active":true,"token_type":"Bearer","sub":"u1","client_id":"web","iss":%q,"exp":%d,"iat":%d,"scope":"openid"}`,
		srv.Issuer(), now+3600, now)))
	f.Add([]byte(fmt.Sprintf(`{"active":true,"sub":"u1","client_id":"web","exp":%d}`, now+3600)))
	f.Add([]byte(fmt.Sprintf(`{"active":true,"token_type":"bearer","sub":"u1","aud":[%q],"exp":%d}`, api, now+60)))
	f.Add([]byte(`{"active":false}`))
	f.Add([]byte(`{"active":"true"}`))
	f.Add([]byte(`[]`))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, answer []byte) {
		body.Store(answer)
		c, err := v.Verify(ctx, "opaque-token")
		if err != nil {
			var e *apiauth.Error
			if !errors.Is(err, apiauth.ErrUnavailable) && (!errors.As(err, &e) || e.Code != "invalid_token") {
				t.Fatalf("untyped failure: %v", err)
			}
			return
		}
		if !c.Introspected() || c.Subject == "" || (c.Issuer != "" && c.Issuer != v.Issuer()) ||
			!c.Expiry.Time().After(srv.Now().Add(-time.Minute)) ||
			!(c.Audience.Contains(api) || (len(c.Audience) == 0 && c.ClientID == "web")) {
			t.Fatalf("accepted an unusable answer %s: %+v", answer, c.AccessTokenClaims)
		}
	})
}
