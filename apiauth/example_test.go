package apiauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gologto/logto/apiauth"
	"github.com/gologto/logto/logtotest"
)

// Example protects a JSON API route: read:data is required, the caller's
// subject is read from the context.
func Example() {
	srv, _ := logtotest.Start() // your Logto tenant in production
	defer srv.Close()

	verifier, err := apiauth.NewVerifier(apiauth.Config{
		Endpoint: srv.URL(),
		Audience: "https://api.example.com",
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /data", verifier.Middleware(apiauth.RequireScopes("read:data"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := apiauth.FromContext(r.Context())
			fmt.Fprintf(w, `{"owner":%q}`, claims.Subject)
		})))
	api := httptest.NewServer(mux)
	defer api.Close()

	get := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/data", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body))
	}
	now := srv.Now().Unix()
	token := func(scope string) string {
		return srv.Sign(map[string]any{"typ": "at+jwt"}, map[string]any{
			"iss": srv.Issuer(), "aud": "https://api.example.com", "sub": "user-1",
			"client_id": "app", "scope": scope, "iat": now, "exp": now + 3600,
		})
	}
	get(token("read:data"))
	get(token("other"))
	get("")
	// Output:
	// 200  {"owner":"user-1"}
	// 403 Bearer realm="https://api.example.com", error="insufficient_scope", error_description="the token lacks a required scope", scope="read:data" {"error":"insufficient_scope","error_description":"the token lacks a required scope","scope":"read:data"}
	//
	// 401 Bearer realm="https://api.example.com" {"error":"unauthorized","error_description":"a bearer token is required"}
}
