package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunBusyPort: a busy port names PORT and nothing is printed.
func TestRunBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	var out bytes.Buffer
	err = run(context.Background(), func(k string) string { return map[string]string{"PORT": port}[k] }, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "127.0.0.1:"+port+" is already in use")
	assert.Contains(t, err.Error(), "set PORT to a free port")
	assert.Empty(t, out.String())
}

// TestRunBadEndpoint: a bad LOGTO_ENDPOINT is named before the port is bound.
func TestRunBadEndpoint(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), func(k string) string {
		return map[string]string{"LOGTO_ENDPOINT": "ftp://x", "PORT": "0"}[k]
	}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "LOGTO_ENDPOINT")
	assert.Empty(t, out.String())
}

// servedOut checks that the printed URL answers when it is printed.
type servedOut struct {
	t    *testing.T
	mu   sync.Mutex
	text string
}

func (w *servedOut) Write(p []byte) (int, error) {
	f := strings.Fields(string(p))
	if assert.GreaterOrEqual(w.t, len(f), 2) {
		resp, err := http.Get(f[1] + "/healthz")
		if assert.NoError(w.t, err, "printed before served") {
			resp.Body.Close()
			assert.Equal(w.t, http.StatusOK, resp.StatusCode)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text += string(p)
	return len(p), nil
}

func (w *servedOut) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text
}

// TestRunServes prints the URL once it answers, and stops on cancel.
func TestRunServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &servedOut{t: t}
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return map[string]string{"PORT": "0"}[k] }, out) }()
	require.Eventually(t, func() bool { return out.String() != "" }, 5*time.Second, 10*time.Millisecond)
	assert.Regexp(t, `^API: http://127\.0\.0\.1:\d+  \(resource https://api\.example\.com, Logto http://127\.0\.0\.1:3001\)\n$`, out.String())
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop")
	}
}
