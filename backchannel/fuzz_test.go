package backchannel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gologto/logto/backchannel"
	"github.com/gologto/logto/logtotest"
)

// FuzzVerify feeds arbitrary strings (and mutations of a genuine logout
// token) to the verifier: it must never panic, failures must wrap
// ErrInvalidLogoutToken, and anything accepted must satisfy every rule.
func FuzzVerify(f *testing.F) {
	srv := logtotest.NewServer(f)
	h, err := backchannel.NewHandler(backchannel.Config{
		Endpoint: srv.URL(), AppId: "web-app", Now: srv.Now,
		OnLogout: func(context.Context, string, string) error { return nil },
	})
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	f.Add(logoutToken(srv, nil))
	f.Add(logoutToken(srv, func(h, c map[string]any) { delete(c, "sub"); delete(c, "sid") }))
	f.Add(logoutToken(srv, func(h, c map[string]any) { h["alg"] = "none" }))
	f.Add(logoutToken(srv, func(h, c map[string]any) { c["events"] = []any{backchannel.EventType} }))
	f.Add("eyJhbGciOiJFUzM4NCJ9.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := h.Verify(ctx, token)
		if err != nil {
			if !errors.Is(err, backchannel.ErrInvalidLogoutToken) {
				t.Fatalf("untyped failure: %v", err)
			}
			return
		}
		if c.Issuer != srv.Issuer() || !c.Audience.Contains("web-app") || c.JWTID == "" ||
			(c.Subject == "" && c.SessionID == "") || c.Nonce != nil {
			t.Fatalf("accepted an invalid logout token: %+v", c)
		}
	})
}
