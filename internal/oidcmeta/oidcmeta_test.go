package oidcmeta

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAllowed(t *testing.T) {
	tests := []struct {
		url       string
		allowHTTP bool
		want      bool
	}{
		{"https://t.logto.app/oidc/token", false, true},
		{"http://127.0.0.1:3001/oidc/token", false, true},
		{"http://localhost/x", false, true},
		{"http://[::1]:80/x", false, true},
		{"http://t.logto.app/oidc/token", false, false},
		{"http://t.logto.app/oidc/token", true, true},
		{"https://user:pw@t.logto.app/x", false, false},
		{"/oidc/token", false, false},
		{"javascript:alert(1)", true, false},
		{"ftp://t.logto.app/x", true, false},
		{"https:///x", false, false},
	}
	for _, tt := range tests {
		if got := Allowed(tt.url, tt.allowHTTP); got != tt.want {
			t.Errorf("Allowed(%q, %v) = %v", tt.url, tt.allowHTTP, got)
		}
	}
}

func TestFetchBoundsTheBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"` + strings.Repeat("x", 2000) + `"}`))
	}))
	defer srv.Close()
	_, err := Fetch(context.Background(), srv.Client(), srv.URL, 1000, false)
	if !errors.Is(err, ErrDiscovery) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("want a too-large discovery error, got %v", err)
	}
}
