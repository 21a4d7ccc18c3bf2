package logtotest_test

import (
	"fmt"
	"go/build"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// fakeTB is a TB that is not a testing.TB: what a program that is not a
// test can pass to NewServer.
type fakeTB struct {
	helpers  int
	fatal    string
	cleanups []func()
}

func (f *fakeTB) Helper()                           { f.helpers++ }
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }
func (f *fakeTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }

// TestNewServerTakesSmallTB checks that NewServer needs only Helper, Fatalf
// and Cleanup, so that a non-test program can use it, and that it reports
// a start failure through Fatalf.
func TestNewServerTakesSmallTB(t *testing.T) {
	tb := &fakeTB{}
	srv := logtotest.NewServer(tb)
	require.NotNil(t, srv)
	assert.Empty(t, tb.fatal)
	assert.Positive(t, tb.helpers)
	require.Len(t, tb.cleanups, 1, "Close is registered with Cleanup")
	resp, err := http.Get(srv.Issuer() + "/.well-known/openid-configuration")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	tb.cleanups[0]() // the test ends: the server is closed
	_, err = http.Get(srv.Issuer() + "/.well-known/openid-configuration")
	assert.Error(t, err, "closed by the registered cleanup")

	bad := &fakeTB{}
	assert.Nil(t, logtotest.NewServer(bad, logtotest.WithAddr("256.0.0.1:bad")))
	assert.Contains(t, bad.fatal, "logtotest: listen on")
	assert.Empty(t, bad.cleanups)

	// A *testing.T still satisfies TB.
	var _ logtotest.TB = t
}

// TestPackageDoesNotImportTesting keeps package testing out of programs
// that embed the fake (the quickstart): no non-test file may import it.
func TestPackageDoesNotImportTesting(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	assert.False(t, slices.Contains(pkg.Imports, "testing"), "non-test imports: %v", pkg.Imports)
	assert.False(t, slices.Contains(pkg.Imports, "net/http/httptest"), "httptest registers a flag in every program")
}
