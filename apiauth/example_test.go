package apiauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gologto/logto"
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

// ExampleIntrospection accepts the opaque token a web app holds for its
// user (the token of no API resource), checked at Logto's introspection
// endpoint with the API's machine-to-machine credentials.
func ExampleIntrospection() {
	srv, _ := logtotest.Start() // your Logto tenant in production
	defer srv.Close()
	srv.AddApp(logtotest.App{ID: "web", Secret: "web-secret", RedirectURIs: []string{"https://app.example/callback"}})
	srv.AddApp(logtotest.App{ID: "api-m2m", Secret: "m2m-secret", Type: logtotest.AppMachineToMachine})
	srv.AddUser(logtotest.User{ID: "user-1"})

	// The web app signs its user in and holds an opaque access token.
	ctx := context.Background()
	web, _ := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: "web", AppSecret: "web-secret"}, nil)
	signInURL, _ := web.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://app.example/callback"})
	callback, _ := srv.Authorize(signInURL, "user-1")
	if err := web.HandleCallback(ctx, callback); err != nil {
		panic(err)
	}
	opaque, _ := web.GetAccessToken(ctx, "")

	verifier, err := apiauth.NewVerifier(apiauth.Config{
		Endpoint: srv.URL(),
		Audience: "https://api.example.com",
		Introspection: &apiauth.Introspection{
			ClientID: "api-m2m", ClientSecret: "m2m-secret",
			Clients: []string{"web"},
		},
	})
	if err != nil {
		panic(err)
	}
	claims, err := verifier.Verify(ctx, opaque)
	if err != nil {
		panic(err)
	}
	fmt.Println(claims.Subject, claims.ClientID, claims.Introspected())
	_, err = verifier.Verify(ctx, "an-opaque-token-logto-never-issued")
	fmt.Println(err)
	// Output:
	// user-1 web true
	// apiauth: invalid_token: token is not active (unknown, expired or revoked)
}
