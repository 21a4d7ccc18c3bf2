package logto_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// exampleProvider starts a fake Logto with one app, one user, one API and
// one organization. Real applications point Endpoint at their tenant.
func exampleProvider() *logtotest.Server {
	srv, err := logtotest.Start()
	if err != nil {
		panic(err)
	}
	srv.AddApp(logtotest.App{
		ID: "my-app", Secret: "my-secret", Type: logtotest.AppTraditional,
		RedirectURIs:           []string{"https://app.example/callback"},
		PostLogoutRedirectURIs: []string{"https://app.example/"},
	})
	srv.AddResource(logtotest.Resource{Indicator: "https://api.example.com", Scopes: []string{"read:data"}})
	srv.AddRole("reader", "https://api.example.com", "read:data")
	srv.AddOrganization(logtotest.Organization{ID: "acme", Name: "Acme"})
	srv.AddOrganizationRole("member", "read:org")
	srv.AddUser(logtotest.User{
		ID: "u1", Username: "ada", Name: "Ada Lovelace", Email: "ada@example.com",
		Roles:         []string{"reader"},
		Organizations: []logtotest.Membership{{OrganizationID: "acme", Roles: []string{"member"}}},
	})
	return srv
}

// Example walks the whole life of a session: sign-in, callback, claims,
// user info, an API token, an organization token, a refresh and sign-out.
func Example() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()

	client, err := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint:  srv.URL(),
		AppId:     "my-app",
		AppSecret: "my-secret",
		Scopes:    []string{logto.ScopeEmail, logto.ScopeOrganizations, "read:data", "read:org"},
		Resources: []string{"https://api.example.com"},
	}, logto.NewMemoryStorage(), logto.WithClock(srv.Now))
	if err != nil {
		panic(err)
	}

	// 1. Send the browser to Logto.
	signInURL, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://app.example/callback"})
	if err != nil {
		panic(err)
	}
	// 2. Logto redirects back; here the fake signs "u1" in directly.
	callbackURL, err := srv.Authorize(signInURL, "u1")
	if err != nil {
		panic(err)
	}
	if err := client.HandleCallback(ctx, callbackURL); err != nil {
		panic(err)
	}

	claims, _ := client.GetIdTokenClaims(ctx)
	fmt.Println("signed in:", client.IsAuthenticated(ctx), claims.Subject, claims.Name.Get())

	info, _ := client.FetchUserInfo(ctx)
	fmt.Println("email:", info.Email.Get())

	api, _ := client.GetAccessTokenClaims(ctx, "https://api.example.com")
	fmt.Println("API token:", api.Audience[0], api.Scope)

	org, _ := client.GetOrganizationTokenClaims(ctx, "acme")
	fmt.Println("organization token:", org.Audience[0], org.Scope)

	// An hour later the API token has expired: it is refreshed on demand.
	srv.Advance(time.Hour)
	srv.ResetRequests()
	_, _ = client.GetAccessToken(ctx, "https://api.example.com")
	fmt.Println("refresh requests:", srv.RequestCount(logtotest.EndpointToken))

	endSession, _ := client.SignOut(ctx, "https://app.example/")
	u, _ := url.Parse(endSession)
	fmt.Println("end session:", u.Path, u.Query().Get("post_logout_redirect_uri"))
	fmt.Println("signed in:", client.IsAuthenticated(ctx))

	// Output:
	// signed in: true u1 Ada Lovelace
	// email: ada@example.com
	// API token: https://api.example.com read:data
	// organization token: urn:logto:organization:acme read:org
	// refresh requests: 1
	// end session: /oidc/session/end https://app.example/
	// signed in: false
}

// ExampleClaim shows the three states of a claim: absent (scope not
// requested), null (requested, no value) and set.
func ExampleClaim() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	client, _ := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: "my-app", AppSecret: "my-secret",
		Scopes: []string{logto.ScopeEmail},
	}, nil)
	signInURL, _ := client.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://app.example/callback"})
	callbackURL, _ := srv.Authorize(signInURL, "u1")
	_ = client.HandleCallback(ctx, callbackURL)

	claims, _ := client.GetIdTokenClaims(ctx)
	// email was requested and set; picture is in profile but ada has none;
	// phone_number was not requested.
	for _, c := range []struct {
		name  string
		claim logto.Claim[string]
	}{{"email", claims.Email}, {"picture", claims.Picture}, {"phone_number", claims.PhoneNumber}} {
		fmt.Printf("%s present=%v null=%v value=%q\n", c.name, c.claim.Present(), c.claim.Null(), c.claim.Get())
	}
	// Output:
	// email present=true null=false value="ada@example.com"
	// picture present=true null=true value=""
	// phone_number present=false null=false value=""
}

// ExampleOAuthError shows how to branch on an error Logto returned.
func ExampleOAuthError() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	client, _ := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: "my-app", AppSecret: "my-secret",
	}, nil)
	srv.DenyNextAuthorization("access_denied", "the user cancelled")
	signInURL, _ := client.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://app.example/callback"})
	callbackURL, _ := srv.Authorize(signInURL, "u1")

	err := client.HandleCallback(ctx, callbackURL)
	var oe *logto.OAuthError
	if errors.As(err, &oe) {
		fmt.Println(oe.Code, "-", oe.Description)
	}
	// Output:
	// access_denied - the user cancelled
}

// ExampleLogtoClient_WithStorage shows the web-app pattern: one shared
// client, one cheap view per request bound to that request's session.
func ExampleLogtoClient_WithStorage() {
	srv := exampleProvider()
	defer srv.Close()
	base, _ := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: "my-app", AppSecret: "my-secret"}, nil)

	sessions := map[string]*logto.MemoryStorage{"alice": logto.NewMemoryStorage(), "bob": logto.NewMemoryStorage()}
	for _, name := range []string{"alice", "bob"} {
		view := base.WithStorage(sessions[name])
		fmt.Println(name, view.IsAuthenticated(context.Background()))
	}
	// Output:
	// alice false
	// bob false
}

// ExampleM2MClient calls an API as a machine-to-machine app: the client
// credentials token is fetched once, cached, and added to every request.
func ExampleM2MClient() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	srv.AddApp(logtotest.App{
		ID: "reporting-job", Secret: "job-secret", Type: logtotest.AppMachineToMachine,
		ResourceScopes: map[string][]string{"https://api.example.com": {"read:data"}},
	})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("API called with a bearer token:", strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey"))
	}))
	defer api.Close()

	m2m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint:  srv.URL(),
		AppId:     "reporting-job",
		AppSecret: "job-secret",
		Resource:  "https://api.example.com", // logto.ManagementAPIResource(tenant) for the Management API
		Scopes:    []string{"read:data"},
	})
	if err != nil {
		panic(err)
	}
	hc := m2m.HTTPClient(ctx)
	for i := 0; i < 3; i++ {
		resp, err := hc.Get(api.URL)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	fmt.Println("token requests:", srv.RequestCount(logtotest.EndpointToken))
	// Output:
	// API called with a bearer token: true
	// API called with a bearer token: true
	// API called with a bearer token: true
	// token requests: 1
}

// ExampleLogtoClient_TokenSource calls an API on the signed-in user's
// behalf with an oauth2 client whose token refreshes itself.
func ExampleLogtoClient_TokenSource() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	client, _ := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: "my-app", AppSecret: "my-secret",
		Scopes: []string{"read:data"}, Resources: []string{"https://api.example.com"},
	}, nil)
	signInURL, _ := client.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://app.example/callback"})
	callbackURL, _ := srv.Authorize(signInURL, "u1")
	if err := client.HandleCallback(ctx, callbackURL); err != nil {
		panic(err)
	}

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims, _ := client.GetAccessTokenClaims(r.Context(), "https://api.example.com")
		fmt.Println("API token for", claims.Subject, "with", claims.Scope, token != "")
	}))
	defer api.Close()

	hc := oauth2.NewClient(ctx, client.TokenSource(ctx, "https://api.example.com"))
	resp, err := hc.Get(api.URL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	// Output:
	// API token for u1 with read:data true
}
