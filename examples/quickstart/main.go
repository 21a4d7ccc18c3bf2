// Command quickstart is the Logto sample web application in Go: a home
// page with sign-in, sign-up and sign-out, a page with the user info, one
// with the user's organizations, and one that calls a protected API with
// the user's token.
//
//	go run ./examples/quickstart
//
// Without LOGTO_ENDPOINT it starts an embedded test provider (package
// logtotest) with a demo user, and the demo API of examples/api, so that
// everything works at once: open the printed URL and sign in as "demo".
// With a real Logto, create a "Traditional web" application, register the
// redirect URI <base URL>/callback and the post sign-out redirect URI
// <base URL>/, and set:
//
//	LOGTO_ENDPOINT       your Logto endpoint, e.g. https://my-tenant.logto.app
//	LOGTO_APP_ID         the application ID
//	LOGTO_APP_SECRET     the application secret
//	LOGTO_RESOURCES      API resource indicators, comma-separated (optional)
//	LOGTO_SCOPES         extra scopes (API and organization permissions),
//	                     comma-separated (optional)
//	LOGTO_BASE_URL       the app's public URL (default http://127.0.0.1:$PORT)
//	PORT                 the port to listen on (default 3000)
//	LOGTO_SESSION_STORE  "cookie" (default) or "server" (in memory)
//	LOGTO_COOKIE_KEY     base64 of 32 random bytes that encrypt the session
//	                     cookies (random per start when unset)
//	LOGTO_PROVIDER_ADDR  listen address of the embedded provider
//	                     (default 127.0.0.1:3001)
//	API_URL              base URL of an API like examples/api, called with the
//	                     user's token for the first resource by the "Call the
//	                     API" page; with a real Logto the page is shown only
//	                     when it is set
//	API_ADDR             listen address of the demo API the quickstart starts
//	                     with the embedded provider when API_URL is unset
//	                     (default 127.0.0.1:3002)
//
// Every setting is checked before anything is bound or printed; a busy
// port names the variable to change. Sign-in failures and other errors are
// logged to standard error.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/examples/internal/demoapi"
	"github.com/gologto/logto/examples/internal/listen"
	"github.com/gologto/logto/logtotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err := run(ctx, os.Getenv, os.Stdout, logger)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, startError(err))
		os.Exit(1)
	}
}

// startError formats why the quickstart could not start, one problem a
// line.
func startError(err error) string {
	lines := strings.Split(err.Error(), "\n")
	if len(lines) == 1 {
		return "quickstart: " + lines[0]
	}
	return "quickstart: cannot start:\n  - " + strings.Join(lines, "\n  - ")
}

// run checks the settings, binds every listener (the app's, and the
// embedded provider's and demo API's when LOGTO_ENDPOINT is unset), and only
// then prints the URLs; it serves until ctx is done. out receives the URLs,
// logger everything else.
func run(ctx context.Context, getenv func(string) string, out io.Writer, logger *slog.Logger) error {
	s, err := loadSettings(getenv)
	if err != nil {
		return err
	}
	if s.randomKey {
		s.cookieKey = make([]byte, 32)
		_, _ = rand.Read(s.cookieKey)
	}
	// A dry run with the settings as they will be, so that an error of the
	// SDK (endpoint, base URL) comes before any port is bound.
	if _, err := newApp(s.appConfig(plannedEndpoint(s), s.plannedBaseURL(s.port), s.apiURL, logger)); err != nil {
		return err
	}

	st := &stack{}
	defer st.close()

	reserved := []int{s.port}
	if s.embedded() {
		reserved = append(reserved, portOf(s.providerAddr), portOf(s.apiAddr))
	}
	appAddr := ":" + strconv.Itoa(s.port)
	if s.embedded() {
		appAddr = "127.0.0.1:" + strconv.Itoa(s.port) // the demo provider signs anyone in: stay local
	}
	appLn, err := listen.TCP(appAddr, listen.Setting{Name: "PORT", PortOnly: true, Reserved: reserved})
	if err != nil {
		if !s.embedded() && errors.Is(err, syscall.EADDRINUSE) {
			err = fmt.Errorf("%w (and register the new <base URL>/callback in Logto, or set LOGTO_BASE_URL)", err)
		}
		return err
	}
	st.push(func() { _ = appLn.Close() })
	baseURL := s.plannedBaseURL(appLn.Addr().(*net.TCPAddr).Port)

	var lines []string
	endpoint, apiURL := s.logto.Endpoint, s.apiURL
	if s.embedded() {
		provider, err := logtotest.Start(
			logtotest.WithAddr(s.providerAddr),
			logtotest.WithLoginPage(),
			logtotest.WithSignInHint(signInHint),
			logtotest.WithWallClock(),
		)
		if err != nil {
			return fmt.Errorf("embedded provider: %w",
				listen.Explain(err, s.providerAddr, listen.Setting{Name: "LOGTO_PROVIDER_ADDR", Reserved: reserved}))
		}
		st.push(provider.Close)
		seedProvider(provider, baseURL)
		endpoint = provider.URL()
		lines = append(lines, "Logto (embedded test provider): "+endpoint)

		if apiURL == "" {
			apiLn, err := listen.TCP(s.apiAddr, listen.Setting{Name: "API_ADDR", Reserved: reserved})
			if err != nil {
				return fmt.Errorf("demo API: %w (or set API_URL to an API you started yourself)", err)
			}
			st.push(func() { _ = apiLn.Close() })
			api, err := demoapi.New(apiauth.Config{Endpoint: endpoint, Audience: demoAPI, AcceptOrganizationTokens: true})
			if err != nil {
				return fmt.Errorf("demo API: %w", err)
			}
			apiURL = "http://" + apiLn.Addr().String()
			st.serve(api, apiLn, logger.With("server", "demo API"))
			lines = append(lines, "API (examples/api, for \"Call the API\"): "+apiURL)
		}
	}

	handler, err := newApp(s.appConfig(endpoint, baseURL, apiURL, logger))
	if err != nil {
		return err
	}
	errc := st.serve(handler, appLn, logger.With("server", "quickstart"))

	// Everything is bound and served: now tell the person.
	for _, name := range s.ignored {
		logger.Warn(name + " is ignored: LOGTO_ENDPOINT is set, so no embedded provider or demo API is started")
	}
	if s.randomKey {
		logger.Warn("LOGTO_COOKIE_KEY is not set: using a random key, so sessions end when the app restarts")
	}
	if s.embedded() {
		lines = append(lines, fmt.Sprintf("Quickstart: %s  (sign in as %q)", baseURL, demoUsername))
	} else {
		lines = append(lines, "Quickstart: "+baseURL)
	}
	fmt.Fprintln(out, strings.Join(lines, "\n"))

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return st.shutdown()
	}
}

// plannedEndpoint is the Logto endpoint of the dry run: the embedded
// provider's URL is known only once it listens, and any loopback URL
// checks the rest.
func plannedEndpoint(s settings) string {
	if s.embedded() {
		return "http://127.0.0.1"
	}
	return s.logto.Endpoint
}

// plannedBaseURL is LOGTO_BASE_URL, or the local URL of port.
func (s settings) plannedBaseURL(port int) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// appConfig is the app's configuration for a Logto endpoint, base URL and
// API URL.
func (s settings) appConfig(endpoint, baseURL, apiURL string, logger *slog.Logger) appConfig {
	cfg := s.logto
	if s.embedded() {
		cfg = demoLogtoConfig(endpoint)
	}
	return appConfig{
		Logto:        cfg,
		BaseURL:      baseURL,
		SessionStore: s.sessionStore,
		CookieKey:    s.cookieKey,
		APIURL:       apiURL,
		Logger:       logger,
		Embedded:     s.embedded(),
	}
}

// stack holds what run started, to stop it in reverse order.
type stack struct {
	closers []func()
	servers []*http.Server
	errc    chan error
}

func (st *stack) push(f func()) { st.closers = append(st.closers, f) }

// serve serves h on ln in the background; the returned channel receives
// the first server that stops by itself.
func (st *stack) serve(h http.Handler, ln net.Listener, logger *slog.Logger) <-chan error {
	if st.errc == nil {
		st.errc = make(chan error, 4)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	st.servers = append(st.servers, srv)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			st.errc <- fmt.Errorf("serve on %s: %w", ln.Addr(), err)
		}
	}()
	return st.errc
}

// shutdown stops the servers, letting requests in flight finish.
func (st *stack) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for i := len(st.servers) - 1; i >= 0; i-- {
		errs = append(errs, st.servers[i].Shutdown(ctx))
	}
	st.servers = nil
	return errors.Join(errs...)
}

// close stops what is still running.
func (st *stack) close() {
	for _, srv := range st.servers {
		_ = srv.Close()
	}
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
}
