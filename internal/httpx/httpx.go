// Package httpx holds the SDK's HTTP plumbing: bounded body reads and a
// client that never follows redirects.
package httpx

import (
	"errors"
	"io"
	"net/http"

	"github.com/gologto/logto/internal/defaults"
)

// ErrTooLarge reports a response body longer than the allowed cap.
var ErrTooLarge = errors.New("logto: response body too large")

// ReadBounded reads all of r, up to max bytes. A longer body is an error
// wrapping ErrTooLarge, never a silent truncation.
func ReadBounded(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}

// NoRedirects returns a shallow copy of c (or of a default client with a
// timeout when c is nil) that returns redirects to the caller instead of
// following them: an OAuth endpoint that redirects is misbehaving.
func NoRedirects(c *http.Client) *http.Client {
	var cp http.Client
	if c != nil {
		cp = *c
	} else {
		cp.Timeout = defaults.HTTPTimeout
	}
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}
