package logto_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// ExampleLogtoClient_GetAccessTokenWith narrows an API token to one scope,
// then forces a refresh after an administrator took a role away: Logto
// reads the user's roles again at every refresh, and the forced token
// replaces the cached one.
func ExampleLogtoClient_GetAccessTokenWith() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	srv.AddResource(logtotest.Resource{Indicator: "https://api.example.com", Scopes: []string{"read:data", "write:data"}})
	srv.AddRole("writer", "https://api.example.com", "write:data")
	srv.UpdateUser("u1", func(u *logtotest.User) { u.Roles = append(u.Roles, "writer") })

	client, err := logto.NewLogtoClient(logto.LogtoConfig{
		Endpoint: srv.URL(), AppId: "my-app", AppSecret: "my-secret",
		Scopes: []string{"read:data", "write:data"}, Resources: []string{"https://api.example.com"},
	}, nil)
	if err != nil {
		panic(err)
	}
	signInURL, err := client.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://app.example/callback"})
	if err != nil {
		panic(err)
	}
	callbackURL, err := srv.Authorize(signInURL, "u1")
	if err != nil {
		panic(err)
	}
	if err := client.HandleCallback(ctx, callbackURL); err != nil {
		panic(err)
	}
	scopes := func(req logto.AccessTokenRequest) string {
		tok, err := client.GetAccessTokenWith(ctx, req)
		if err != nil {
			return err.Error()
		}
		// The payload of the JWT, unverified: the API verifies it (apiauth).
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		var claims struct{ Scope string }
		_ = json.Unmarshal(payload, &claims)
		return claims.Scope
	}
	api := "https://api.example.com"
	fmt.Println("full:    ", scopes(logto.AccessTokenRequest{Resource: api}))
	fmt.Println("narrowed:", scopes(logto.AccessTokenRequest{Resource: api, Scopes: []string{"read:data"}}))

	srv.UpdateUser("u1", func(u *logtotest.User) {
		u.Roles = slices.DeleteFunc(u.Roles, func(r string) bool { return r == "writer" })
	})
	fmt.Println("cached:  ", scopes(logto.AccessTokenRequest{Resource: api}))
	fmt.Println("forced:  ", scopes(logto.AccessTokenRequest{Resource: api, ForceRefresh: true}))
	// Output:
	// full:     read:data write:data
	// narrowed: read:data
	// cached:   read:data write:data
	// forced:   read:data
}
