package httpx

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gologto/logto/internal/defaults"
)

func TestReadBounded(t *testing.T) {
	tests := []struct {
		body    string
		max     int64
		wantErr bool
	}{
		{"", 4, false},
		{"abc", 4, false},
		{"abcd", 4, false},
		{"abcde", 4, true},
		{strings.Repeat("x", 1<<20), 1 << 20, false},
		{strings.Repeat("x", 1<<20+1), 1 << 20, true},
	}
	for _, tt := range tests {
		b, err := ReadBounded(strings.NewReader(tt.body), tt.max)
		if tt.wantErr {
			if !errors.Is(err, ErrTooLarge) || b != nil {
				t.Errorf("len %d max %d: want ErrTooLarge and no bytes, got %v (%d bytes)", len(tt.body), tt.max, err, len(b))
			}
			continue
		}
		if err != nil || string(b) != tt.body {
			t.Errorf("len %d max %d: got %v, %d bytes", len(tt.body), tt.max, err, len(b))
		}
	}
}

func TestNoRedirects(t *testing.T) {
	c := NoRedirects(nil)
	if c.Timeout != defaults.HTTPTimeout || c == http.DefaultClient {
		t.Fatalf("default client must have a timeout and not be http.DefaultClient")
	}
	if err := c.CheckRedirect(nil, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Fatalf("redirects must not be followed, got %v", err)
	}
	mine := &http.Client{Timeout: 3}
	cp := NoRedirects(mine)
	if cp == mine || cp.Timeout != 3 || mine.CheckRedirect != nil {
		t.Fatalf("the caller's client must be copied, not modified")
	}
}
