// Command api is a JSON API protected with Logto access tokens (package
// apiauth): the "Protect your API" step that follows the quickstart.
//
//	go run ./examples/quickstart   # terminal 1: the app and its embedded Logto
//	go run ./examples/api          # terminal 2: this API, trusting that Logto
//
// Then open the quickstart, sign in as "demo" and follow "Call the API": the
// quickstart fetches an access token for https://api.example.com and calls
// this API with it. Settings:
//
//	LOGTO_ENDPOINT  Logto endpoint (default http://127.0.0.1:3001, the
//	                quickstart's embedded provider)
//	API_RESOURCE    this API's resource indicator (default https://api.example.com)
//	PORT            port to listen on (default 3002)
//
// Routes:
//
//	GET /api/data                     needs scope read:data
//	GET /api/organizations/{id}/data  needs an organization-scoped token for {id}
//	                                  with read:data, or an organization token for {id}
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gologto/logto/apiauth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	endpoint := orDefault(getenv("LOGTO_ENDPOINT"), "http://127.0.0.1:3001")
	resource := orDefault(getenv("API_RESOURCE"), "https://api.example.com")
	port := orDefault(getenv("PORT"), "3002")
	handler, err := newAPI(apiauth.Config{Endpoint: endpoint, Audience: resource, AcceptOrganizationTokens: true})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(out, "API: http://127.0.0.1:%s  (resource %s, Logto %s)\n", port, resource, endpoint)
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

// newAPI returns the API's routes behind token verification.
func newAPI(cfg apiauth.Config) (http.Handler, error) {
	verifier, err := apiauth.NewVerifier(cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/data", verifier.Middleware(apiauth.RequireScopes("read:data"))(http.HandlerFunc(data)))
	mux.Handle("GET /api/organizations/{id}/data", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The requirement depends on the path: build it per request.
		org := apiauth.RequireOrganization(r.PathValue("id"))
		verifier.Middleware(org)(http.HandlerFunc(organizationData)).ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux, nil
}

func data(w http.ResponseWriter, r *http.Request) {
	claims, _ := apiauth.FromContext(r.Context())
	writeJSON(w, map[string]any{
		"owner":  claims.Subject,
		"client": claims.ClientID,
		"scopes": claims.Scopes(),
		"items":  []string{"first item", "second item"},
	})
}

func organizationData(w http.ResponseWriter, r *http.Request) {
	claims, _ := apiauth.FromContext(r.Context())
	if _, isOrgToken := claims.IsOrganizationToken(); !isOrgToken && !claims.HasScope("read:data") {
		writeError(w, http.StatusForbidden, errors.New("read:data is required"))
		return
	}
	writeJSON(w, map[string]any{
		"organization": r.PathValue("id"),
		"member":       claims.Subject,
		"scopes":       claims.Scopes(),
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
