package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// exitTimeout bounds a quickstart that must refuse to start.
const exitTimeout = 20 * time.Second

// holdPort keeps a free loopback address busy until the test ends.
func holdPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln.Addr().String()
}

// TestQuickstartStartupHints runs the quickstart binary as a person would
// with a busy port or a bad setting: it exits with status 1, says on
// standard error which variable to change, and prints no URL. It needs no
// browser.
func TestQuickstartStartupHints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the quickstart; skipped in -short mode")
	}
	bin := quickstartBinary(t)
	real := []string{"LOGTO_ENDPOINT=https://tenant.logto.app", "LOGTO_APP_ID=app", "LOGTO_APP_SECRET=s"}
	tests := []struct {
		name string
		env  func(free []string) []string
		want []string
	}{
		{
			name: "busy app port only",
			env: func(free []string) []string {
				return []string{"PORT=" + port(holdPort(t)), "LOGTO_PROVIDER_ADDR=" + free[0], "API_ADDR=" + free[1]}
			},
			want: []string{"is already in use", "set PORT to a free port, e.g. PORT="},
		},
		{
			name: "busy provider port",
			env: func(free []string) []string {
				return []string{"PORT=" + port(free[0]), "LOGTO_PROVIDER_ADDR=" + holdPort(t), "API_ADDR=" + free[1]}
			},
			want: []string{"embedded provider:", "set LOGTO_PROVIDER_ADDR to a free port"},
		},
		{
			name: "busy API port",
			env: func(free []string) []string {
				return []string{"PORT=" + port(free[0]), "LOGTO_PROVIDER_ADDR=" + free[1], "API_ADDR=" + holdPort(t)}
			},
			want: []string{"demo API:", "set API_ADDR to a free port", "API_URL"},
		},
		{
			name: "endpoint not http(s)",
			env:  func(free []string) []string { return append(real, "LOGTO_ENDPOINT=ftp://x", "PORT="+port(holdPort(t))) },
			want: []string{"LOGTO_ENDPOINT", "http or https"},
		},
		{
			name: "missing app id",
			env:  func(free []string) []string { return append(real, "LOGTO_APP_ID=", "PORT="+port(holdPort(t))) },
			want: []string{"LOGTO_APP_ID is required"},
		},
		{
			name: "unknown session store",
			env: func(free []string) []string {
				return []string{"LOGTO_SESSION_STORE=redis", "PORT=" + port(holdPort(t)), "LOGTO_PROVIDER_ADDR=" + free[0]}
			},
			want: []string{`LOGTO_SESSION_STORE="redis" is unknown`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), exitTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = quickstartEnv(tt.env(freeAddrs(t, 2))...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("the quickstart started instead of refusing to:\nstdout:\n%s\nstderr:\n%s", indent(stdout.String()), indent(stderr.String()))
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Errorf("exit: %v, want status 1", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed on standard output (no URL may come before the error):\n%s", indent(stdout.String()))
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("standard error lacks %q:\n%s", w, indent(stderr.String()))
				}
			}
		})
	}
}

// port is the port of a host:port.
func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
