package logtocli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gologto/logto"
)

// Defaults of LoopbackOptions.
const (
	// DefaultCallbackPath is the path of the loopback redirect URI.
	DefaultCallbackPath = "/callback"
	// DefaultLoopbackTimeout bounds a loopback sign-in: the time the user
	// has to sign in in the browser.
	DefaultLoopbackTimeout = 5 * time.Minute
)

// loopbackHost is the address the listener binds and the redirect URI
// names: the IP literal RFC 8252 section 7.3 recommends over "localhost",
// which may resolve elsewhere or to IPv6 first.
const loopbackHost = "127.0.0.1"

// shutdownGrace bounds the wait for the browser to receive the result
// page before the listener closes.
const shutdownGrace = 5 * time.Second

// LoopbackOptions shape LoopbackSignIn.
type LoopbackOptions struct {
	// Port is the loopback port to listen on; 0 (the default) takes a free
	// one, which Logto accepts for Native apps whatever the port
	// registered. A port that is taken fails with ErrPortInUse.
	Port int
	// Path is the path of the redirect URI; DefaultCallbackPath when
	// empty. The redirect URI is http://127.0.0.1:<port><Path>; register
	// http://127.0.0.1<Path> in Logto.
	Path string
	// OpenBrowser opens the authorization URL; OpenSystemBrowser when nil.
	// It runs in its own goroutine while the listener already waits. The
	// URL is printed to Out first, and when OpenBrowser fails its error
	// too, so that the user opens the URL. A function that does nothing
	// leaves the URL to the user; tests set one that plays the browser.
	OpenBrowser func(url string) error
	// Out receives what the user must read: the URL to open when no
	// browser could be opened. os.Stderr when nil; io.Discard silences it.
	Out io.Writer
	// Timeout bounds the whole sign-in; DefaultLoopbackTimeout when zero.
	// It ends with ErrLoopbackTimeout.
	Timeout time.Duration
	// AppName names the tool on the page the browser shows at the end
	// ("return to AppName"); "the application" when empty.
	AppName string
	// SignIn shapes the authorization request (prompt, first screen,
	// login hint, …). Its RedirectURI must be empty: LoopbackSignIn sets
	// it.
	SignIn logto.SignInOptions
}

// LoopbackSignIn signs the user in with the native-app flow of RFC 8252:
// it listens on 127.0.0.1, starts a sign-in (PKCE, state, nonce) whose
// redirect URI is the listener, opens the browser at the authorization
// URL, completes the sign-in with the first request that reaches the
// redirect path, answers the browser with a short page, and closes the
// listener.
//
// The pending sign-in (state, nonce, PKCE verifier) stays in memory, never
// in the client's Storage; only a completed sign-in writes its tokens
// there, replacing the previous session. On any error the client's Storage
// is left as it was. The errors are those of HandleCallback for what the
// redirect carried (errors.As *logto.OAuthError for access_denied,
// logto.ErrSignInSessionNotFound for a request whose state is not this
// sign-in's, logto.ErrInvalidIDToken for a nonce mismatch, …),
// ErrPortInUse, ErrLoopbackTimeout, or the context's error.
//
// Requests to other paths get 404 and requests naming another Host than
// the listener (DNS rebinding) get 400; neither ends the sign-in.
func LoopbackSignIn(ctx context.Context, client *logto.LogtoClient, opts LoopbackOptions) error {
	if client == nil {
		return fmt.Errorf("%w: LoopbackSignIn needs a client", logto.ErrInvalidConfig)
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return fmt.Errorf("%w: LoopbackOptions.Port %d is out of range", logto.ErrInvalidConfig, opts.Port)
	}
	path := opts.Path
	if path == "" {
		path = DefaultCallbackPath
	}
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#% ") {
		return fmt.Errorf("%w: LoopbackOptions.Path must start with / and hold no query, fragment, escape or space", logto.ErrInvalidConfig)
	}
	if opts.SignIn.RedirectURI != "" {
		return fmt.Errorf("%w: LoopbackOptions.SignIn.RedirectURI must be empty: LoopbackSignIn sets it", logto.ErrInvalidConfig)
	}
	if opts.Timeout < 0 {
		return fmt.Errorf("%w: LoopbackOptions.Timeout is negative", logto.ErrInvalidConfig)
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultLoopbackTimeout
	}
	out := opts.Out
	if out == nil {
		out = os.Stderr
	}
	open := opts.OpenBrowser
	if open == nil {
		open = OpenSystemBrowser
	}

	ctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrLoopbackTimeout)
	defer cancel()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp4", net.JoinHostPort(loopbackHost, strconv.Itoa(opts.Port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w: %s:%d is taken by another program (choose another port, or 0 for any free one): %w",
				ErrPortInUse, loopbackHost, opts.Port, err)
		}
		return fmt.Errorf("logtocli: cannot listen on %s:%d: %w", loopbackHost, opts.Port, err)
	}
	defer ln.Close()
	host := ln.Addr().String()
	redirectURI := "http://" + host + path

	// The pending sign-in lives in a private storage: nothing of it is
	// written to the client's Storage, and a failed sign-in leaves that
	// Storage untouched.
	pending := logto.NewMemoryStorage()
	signer := client.WithStorage(pending)
	so := opts.SignIn
	so.RedirectURI = redirectURI
	authURL, err := signer.SignIn(ctx, so)
	if err != nil {
		return fmt.Errorf("logtocli: loopback sign-in: %w", err)
	}

	results := make(chan error, 1)
	h := &callbackHandler{ctx: ctx, signer: signer, host: host, path: path, redirectURI: redirectURI, app: opts.AppName, results: results}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	fmt.Fprintf(out, "Sign in in a browser on this computer at:\n\n  %s\n\n", authURL)
	opened := make(chan error, 1)
	go func() { opened <- open(authURL) }()

	for {
		select {
		case err := <-opened:
			opened = nil
			if err != nil {
				fmt.Fprintf(out, "Could not open a browser (%v): open the URL above yourself.\n", err)
			}
		case err := <-results:
			// Let the browser receive its page before the listener goes.
			sctx, scancel := context.WithTimeout(context.Background(), shutdownGrace)
			_ = srv.Shutdown(sctx)
			scancel()
			if err != nil {
				return fmt.Errorf("logtocli: loopback sign-in: %w", err)
			}
			return copySession(ctx, pending, client.Storage())
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), ErrLoopbackTimeout) {
				return fmt.Errorf("%w: no redirect reached %s within %s: %w", ErrLoopbackTimeout, redirectURI, timeout, ctx.Err())
			}
			return fmt.Errorf("logtocli: loopback sign-in: %w", ctx.Err())
		}
	}
}

// callbackHandler receives the redirect on the loopback listener; the
// first request to the redirect path decides the sign-in.
type callbackHandler struct {
	ctx         context.Context
	signer      *logto.LogtoClient
	host, path  string
	redirectURI string
	app         string
	done        atomic.Bool
	results     chan<- error
}

func (h *callbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Host != h.host {
		http.Error(w, "wrong host", http.StatusBadRequest)
		return
	}
	if r.URL.Path != h.path {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.done.CompareAndSwap(false, true) {
		writePage(w, http.StatusConflict, page{Title: "Already handled", Message: "This sign-in is already complete. You can close this window."})
		return
	}
	err := h.signer.HandleCallback(h.ctx, h.redirectURI+"?"+r.URL.RawQuery)
	status := http.StatusOK
	if err != nil {
		status = http.StatusBadRequest
	}
	writePage(w, status, resultPage(h.app, err))
	h.results <- err
}

// valuesSetter is a Storage that writes several keys in one step
// (FileStorage and its WithLock view: one atomic file replacement).
type valuesSetter interface {
	setValues(ctx context.Context, kv map[string]string) error
}

// sessionKeys are the keys of a signed-in session, in the order the SDK
// writes them: the ID token last, since IsAuthenticated keys on it.
var sessionKeys = [...]string{logto.StorageKeyRefreshToken, logto.StorageKeyAccessTokens, logto.StorageKeyIDToken}

// copySession replaces the session in to with the one in from. If a write
// fails, the previous values are restored (best effort), so that the
// session is never half replaced.
func copySession(ctx context.Context, from *logto.MemoryStorage, to logto.Storage) error {
	kv := make(map[string]string, len(sessionKeys))
	for _, k := range sessionKeys {
		kv[k], _ = from.Get(ctx, k)
	}
	if vs, ok := to.(valuesSetter); ok {
		if err := vs.setValues(ctx, kv); err != nil {
			return fmt.Errorf("%w: store the session: %w", logto.ErrStorage, err)
		}
		return nil
	}
	prev := make(map[string]string, len(sessionKeys))
	for _, k := range sessionKeys {
		v, err := to.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("%w: read %s: %w", logto.ErrStorage, k, err)
		}
		prev[k] = v
	}
	for i, k := range sessionKeys {
		if err := put(ctx, to, k, kv[k]); err != nil {
			for _, done := range sessionKeys[:i+1] {
				_ = put(ctx, to, done, prev[done])
			}
			return fmt.Errorf("%w: write %s: %w", logto.ErrStorage, k, err)
		}
	}
	return nil
}

// put writes value, or deletes the key when value is empty.
func put(ctx context.Context, s logto.Storage, key, value string) error {
	if value == "" {
		return s.Delete(ctx, key)
	}
	return s.Set(ctx, key, value)
}
