package oidcmeta

import (
	"net/url"
	"testing"
)

// FuzzAllowed: the endpoint URL guard of discovery documents. An allowed
// URL is absolute, names a host, carries no user info, and is https, or
// http only for loopback hosts or when plain http is allowed.
func FuzzAllowed(f *testing.F) {
	for _, s := range []string{
		"https://t.logto.app/oidc/token", "http://127.0.0.1:3001/x", "http://[::1]/x", "http://localhost./x",
		"http://127.0.0.1.evil.example/x", "javascript:alert(1)", "https:///x", "//evil.example/x",
		"https://user@t.logto.app/", "HTTPS://T.LOGTO.APP/", "http://0x7f.1/x", "https://t.logto.app\\@evil.example/",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, allowHTTP bool) {
		ok := Allowed(raw, allowHTTP)
		if ok && !Allowed(raw, true) {
			t.Fatal("allowing plain http made a URL unacceptable")
		}
		if !ok {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Hostname() == "" || u.User != nil {
			t.Fatalf("allowed %q (%v)", raw, err)
		}
		switch u.Scheme {
		case "https":
		case "http":
			if !allowHTTP && !IsLoopback(u.Hostname()) {
				t.Fatalf("allowed plain http to %q", u.Hostname())
			}
		default:
			t.Fatalf("allowed scheme %q", u.Scheme)
		}
	})
}
