// Command api is a JSON API protected with Logto access tokens (package
// apiauth): the "Protect your API" step that follows the quickstart.
//
// The quickstart starts this API itself next to its embedded provider, so
// that its "Call the API" page works at once. Run it on its own to protect
// an API of a real Logto tenant, or to try it beside a quickstart started
// with API_URL:
//
//	LOGTO_ENDPOINT=https://my-tenant.logto.app API_RESOURCE=https://api.example.com \
//	  go run ./examples/api
//
// Settings:
//
//	LOGTO_ENDPOINT  Logto endpoint (default http://127.0.0.1:3001, the
//	                quickstart's embedded provider)
//	API_RESOURCE    this API's resource indicator (default https://api.example.com)
//	PORT            port to listen on, on 127.0.0.1 (default 3002)
//
// Routes: see package examples/internal/demoapi.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/examples/internal/demoapi"
	"github.com/gologto/logto/examples/internal/listen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "api: %v\n", err)
		os.Exit(1)
	}
}

// run validates the settings, binds the port, and only then prints the
// API's URL; it serves until ctx is done.
func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	endpoint := orDefault(getenv("LOGTO_ENDPOINT"), "http://127.0.0.1:3001")
	resource := orDefault(getenv("API_RESOURCE"), demoapi.Resource)
	port := orDefault(getenv("PORT"), "3002")
	handler, err := demoapi.New(apiauth.Config{Endpoint: endpoint, Audience: resource, AcceptOrganizationTokens: true})
	if err != nil {
		return fmt.Errorf("LOGTO_ENDPOINT or API_RESOURCE: %w", err)
	}
	ln, err := listen.TCP("127.0.0.1:"+port, listen.Setting{Name: "PORT", PortOnly: true})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(out, "API: http://%s  (resource %s, Logto %s)\n", ln.Addr(), resource, endpoint)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
