// Command quickstart is the Logto sample web application in Go: a home
// page with sign-in, sign-up and sign-out, a page with the user info, and
// one with the user's organization tokens.
//
//	go run ./examples/quickstart
//
// Without LOGTO_ENDPOINT it starts an embedded test provider (package
// logtotest) with a demo user, so that it works at once: open the printed
// URL and sign in as "demo". With a real Logto, create a "Traditional web"
// application, register the redirect URI <base URL>/callback and the post
// sign-out redirect URI <base URL>/, and set:
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
//	API_URL              base URL of the protected API of examples/api, called
//	                     with the user's token by the "Call the API" page
//	                     (default http://127.0.0.1:3002 with the embedded provider)
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run starts the app (and the embedded provider when no endpoint is set)
// and serves until ctx is done.
func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	port := orDefault(getenv("PORT"), "3000")
	cfg := appConfig{
		Logto: logto.LogtoConfig{
			Endpoint:  getenv("LOGTO_ENDPOINT"),
			AppId:     getenv("LOGTO_APP_ID"),
			AppSecret: getenv("LOGTO_APP_SECRET"),
			Scopes:    splitList(getenv("LOGTO_SCOPES")),
			Resources: splitList(getenv("LOGTO_RESOURCES")),
		},
		BaseURL:      strings.TrimRight(orDefault(getenv("LOGTO_BASE_URL"), "http://127.0.0.1:"+port), "/"),
		SessionStore: orDefault(getenv("LOGTO_SESSION_STORE"), "cookie"),
		APIURL:       strings.TrimRight(getenv("API_URL"), "/"),
	}
	if k := getenv("LOGTO_COOKIE_KEY"); k != "" {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(k, "="))
		}
		if err != nil || len(key) != 32 {
			return errors.New("LOGTO_COOKIE_KEY must be the base64 encoding of 32 bytes (openssl rand -base64 32)")
		}
		cfg.CookieKey = key
	} else {
		cfg.CookieKey = make([]byte, 32)
		_, _ = rand.Read(cfg.CookieKey)
		log.Print("LOGTO_COOKIE_KEY is not set: using a random key, so sessions end when the app restarts")
	}

	listen := ":" + port
	if cfg.Logto.Endpoint == "" {
		// No Logto configured: start the embedded test provider.
		provider, err := logtotest.Start(
			logtotest.WithAddr(orDefault(getenv("LOGTO_PROVIDER_ADDR"), "127.0.0.1:3001")),
			logtotest.WithLoginPage(),
			logtotest.WithWallClock(),
		)
		if err != nil {
			return fmt.Errorf("start the embedded provider: %w", err)
		}
		defer provider.Close()
		seedProvider(provider, cfg.BaseURL)
		cfg.Logto = demoLogtoConfig(provider.URL())
		if cfg.APIURL == "" {
			cfg.APIURL = "http://127.0.0.1:3002" // go run ./examples/api
		}
		listen = "127.0.0.1:" + port // the demo provider signs anyone in: stay local
		fmt.Fprintf(out, "Logto (embedded test provider): %s\n", provider.URL())
		fmt.Fprintf(out, "Quickstart: %s  (sign in as %q)\n", cfg.BaseURL, demoUsername)
	} else {
		fmt.Fprintf(out, "Quickstart: %s\n", cfg.BaseURL)
	}

	handler, err := newApp(cfg)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: listen, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
