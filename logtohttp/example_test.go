package logtohttp_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtohttp"
	"github.com/gologto/logto/logtotest"
)

// A complete application: sign-in, callback, sign-out and a protected
// page, on a net/http ServeMux. A fake Logto stands in for the real one.
func Example() {
	// A fake Logto with one application and one user (use your Logto
	// endpoint instead).
	idp, err := logtotest.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	app := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + app.Listener.Addr().String()
	idp.AddApp(logtotest.App{ID: "my-app", Secret: "my-secret",
		RedirectURIs: []string{baseURL + "/callback"}, PostLogoutRedirectURIs: []string{baseURL + "/"}})
	idp.AddUser(logtotest.User{ID: "user-1", Username: "jane", Name: "Jane Doe"})
	idp.SetAutoLogin("user-1") // Logto's sign-in page, answered at once

	// One LogtoClient for the whole application.
	client, err := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint:  idp.URL(),
		AppId:     "my-app",
		AppSecret: "my-secret",
	}, nil, logto.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	key := make([]byte, 32) // in production: a secret from your configuration
	_, _ = rand.Read(key)
	sessions, err := logtohttp.NewCookieSessions(logtohttp.CookieOptions{Keys: [][]byte{key}})
	if err != nil {
		log.Fatal(err)
	}
	auth, err := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: baseURL})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	auth.Routes(mux)
	mux.Handle("GET /profile", auth.RequireAuth(logtohttp.AuthOptions{Redirect: true})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := logtohttp.IdTokenClaims(r.Context())
			fmt.Fprintf(w, "Hello, %s", claims.Name.Get())
		})))
	app.Config.Handler = auth.Sessions(mux)
	app.Start()
	defer app.Close()

	// A browser asks for the profile: sign-in, Logto, callback, profile.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(baseURL + "/profile")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Request.URL.Path, string(body))
	// Output: /profile Hello, Jane Doe
}

// RequireAuth without Redirect answers 401 with a JSON body, for APIs.
func ExampleHandler_RequireAuth() {
	client, _ := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: "https://my-tenant.logto.app", AppId: "my-app"}, nil)
	store := logtohttp.NewMemorySessionStore(24*time.Hour, 10000)
	sessions, _ := logtohttp.NewServerSessions(store, logtohttp.CookieOptions{})
	auth, _ := logtohttp.New(logtohttp.Config{Client: client, Sessions: sessions, BaseURL: "https://app.example.com"})

	api := auth.RequireAuth(logtohttp.AuthOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := logtohttp.IdTokenClaims(r.Context())
		fmt.Fprintf(w, `{"user":%q}`, claims.Subject)
	}))
	page := auth.RequireAuth(logtohttp.AuthOptions{Redirect: true})(http.NotFoundHandler())

	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/me", nil))
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	page.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/orders?page=2", nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// 401 {"error":"Not authenticated"}
	// 302 /sign-in?return_to=%2Forders%3Fpage%3D2
}

// Handlers behind RequireAuth read the user from the request context. In
// their tests, ContextWithIdTokenClaims provides one, decoded from the
// claims a token would carry.
func ExampleIdTokenClaims() {
	hello := func(w http.ResponseWriter, r *http.Request) {
		claims, ok := logtohttp.IdTokenClaims(r.Context())
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "Hello, %s (%s)", claims.Username.Get(), claims.Subject)
	}

	var claims logto.IdTokenClaims
	if err := json.Unmarshal([]byte(`{"sub":"user-1","username":"jane"}`), &claims); err != nil {
		log.Fatal(err)
	}
	ctx := logtohttp.ContextWithIdTokenClaims(context.Background(), claims)
	w := httptest.NewRecorder()
	hello(w, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	fmt.Println(w.Body.String())
	// Output: Hello, jane (user-1)
}

// Handler.Client gives a handler the LogtoClient of its request's
// session: here to call an API with an access token. Call it before
// writing the response, so that a refreshed token is saved.
func ExampleHandler_Client() {
	var auth *logtohttp.Handler // from logtohttp.New
	orders := func(w http.ResponseWriter, r *http.Request) {
		token, err := auth.Client(r).GetAccessToken(r.Context(), "https://api.example.com")
		if err != nil {
			http.Error(w, "sign in again", http.StatusUnauthorized)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "https://api.example.com/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		// ... send req and render the orders.
	}
	_ = orders
}

// Cookie sessions with key rotation: the first key encrypts, every key
// decrypts. Add the new key first, and remove the old one after MaxAge.
func ExampleNewCookieSessions() {
	newKey := make([]byte, 32) // e.g. base64-decoded from a secret store
	oldKey := make([]byte, 32)
	sessions, err := logtohttp.NewCookieSessions(logtohttp.CookieOptions{
		Keys:   [][]byte{newKey, oldKey},
		MaxAge: 7 * 24 * time.Hour,
	})
	fmt.Println(sessions != nil, err)
	// Output: true <nil>
}

// Server-side sessions in memory; implement SessionStore to keep them in
// Redis or SQL instead.
func ExampleNewServerSessions() {
	store := logtohttp.NewMemorySessionStore(24*time.Hour, 100_000)
	sessions, err := logtohttp.NewServerSessions(store, logtohttp.CookieOptions{Name: "sid"})
	fmt.Println(sessions != nil, err)
	// Output: true <nil>
}

// The sign-in handler takes the page to return to, and sign-in options,
// from its query: link to "/sign-in?interaction_mode=signUp" for a sign-up
// link.
func ExampleHandler_SignIn() {
	client, _ := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: "https://my-tenant.logto.app", AppId: "my-app"}, nil)
	sessions, _ := logtohttp.NewCookieSessions(logtohttp.CookieOptions{Keys: [][]byte{make([]byte, 32)}})
	auth, _ := logtohttp.New(logtohttp.Config{
		Client:          client,
		Sessions:        sessions,
		BaseURL:         "https://app.example.com",
		SignInPath:      "/login",
		CallbackPath:    "/login/callback",
		SignOutPath:     "/logout",
		DefaultReturnTo: "/home",
	})
	mux := http.NewServeMux()
	mux.Handle("GET /login", auth.SignIn())
	mux.Handle("GET /login/callback", auth.Callback())
	mux.Handle("POST /logout", auth.SignOut())
	fmt.Println(auth.CallbackURL(httptest.NewRequest(http.MethodGet, "/login", nil)))
	// Output: https://app.example.com/login/callback
}
