package logto_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

// exampleManagement registers an M2M app for the Management API on srv
// and returns its client. On Logto, create the app in the Console and
// give it the Management API's "all" permission.
func exampleManagement(srv *logtotest.Server) *logto.M2MClient {
	srv.AddApp(logtotest.App{
		ID: "backend", Secret: "backend-secret", Type: logtotest.AppMachineToMachine,
		ResourceScopes: map[string][]string{logtotest.ManagementAPIResource: {"all"}},
	})
	m, err := logto.NewM2MClient(logto.M2MConfig{
		Endpoint: srv.URL(), AppId: "backend", AppSecret: "backend-secret",
		Resource: logto.DefaultManagementAPIResource, // ManagementAPIResource(tenant) on Logto Cloud
		Scopes:   []string{"all"},
	})
	if err != nil {
		panic(err)
	}
	return m
}

// ExampleLogtoClient_ExchangeToken shows impersonation: a support agent
// signed in to a support app acts as user u1. The back end creates a
// subject token for u1; the support app exchanges it, with the agent's
// own access token as the actor token, for u1's API token, which records
// the agent in its act claim. A subject token is accepted once.
func ExampleLogtoClient_ExchangeToken() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	srv.AddApp(logtotest.App{ID: "support", Secret: "support-secret", AllowTokenExchange: true,
		RedirectURIs: []string{"https://support.example/callback"}})
	srv.AddUser(logtotest.User{ID: "agent-7", Username: "grace"})
	mgmt := exampleManagement(srv)

	// The agent signs in to the support app as usual.
	support, _ := logto.NewLogtoClient(logto.LogtoConfig{Endpoint: srv.URL(), AppId: "support", AppSecret: "support-secret"}, nil)
	signInURL, _ := support.SignIn(ctx, logto.SignInOptions{RedirectURI: "https://support.example/callback"})
	callbackURL, _ := srv.Authorize(signInURL, "agent-7")
	if err := support.HandleCallback(ctx, callbackURL); err != nil {
		panic(err)
	}
	actor, _ := support.GetAccessToken(ctx, "")

	st, err := mgmt.CreateSubjectToken(ctx, "u1", map[string]any{"ticket": "T-42"})
	if err != nil {
		panic(err)
	}
	req := logto.TokenExchangeRequest{
		SubjectToken: st.Token, SubjectTokenType: logto.TokenTypeImpersonationToken,
		ActorToken: actor, Resource: "https://api.example.com", Scopes: []string{"read:data"},
	}
	tok, err := support.ExchangeToken(ctx, req)
	if err != nil {
		panic(err)
	}
	claims, _ := tok.Claims()
	fmt.Println("token of", claims.Subject, "acted on by", claims.Act.Subject, "with", tok.Scope)

	_, err = support.ExchangeToken(ctx, req)
	var oe *logto.OAuthError
	fmt.Println("second exchange:", errors.As(err, &oe) && oe.Code == "invalid_grant")
	// Output:
	// token of u1 acted on by agent-7 with read:data
	// second exchange: true
}

// ExampleM2MClient_CreatePersonalAccessToken gives a CI job a personal
// access token of user u1; the job exchanges it for u1's API token as
// often as it needs, until the token is deleted.
func ExampleM2MClient_CreatePersonalAccessToken() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	mgmt := exampleManagement(srv)
	srv.AddApp(logtotest.App{ID: "ci", Secret: "ci-secret", Type: logtotest.AppMachineToMachine, AllowTokenExchange: true})

	pat, err := mgmt.CreatePersonalAccessToken(ctx, "u1", "nightly build", time.Time{})
	if err != nil {
		panic(err)
	}
	fmt.Println(pat.Name, strings.HasPrefix(pat.Value, "pat_"), pat.ExpiresAt.IsZero())

	ci, _ := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: "ci", AppSecret: "ci-secret", Resource: "https://api.example.com"})
	req := logto.TokenExchangeRequest{
		SubjectToken: pat.Value, SubjectTokenType: logto.TokenTypePersonalAccessToken,
		Resource: "https://api.example.com", Scopes: []string{"read:data"},
	}
	for range 2 {
		tok, err := ci.ExchangeToken(ctx, req)
		if err != nil {
			panic(err)
		}
		claims, _ := tok.Claims()
		fmt.Println("API token of", claims.Subject, "with", tok.Scope)
	}

	if err := mgmt.DeletePersonalAccessToken(ctx, "u1", "nightly build"); err != nil {
		panic(err)
	}
	_, err = ci.ExchangeToken(ctx, req)
	var oe *logto.OAuthError
	fmt.Println("after deletion:", errors.As(err, &oe) && oe.Code == "invalid_grant")
	// Output:
	// nightly build true true
	// API token of u1 with read:data
	// API token of u1 with read:data
	// after deletion: true
}

// ExampleM2MClient_CreateOneTimeToken creates the token of a magic link
// (sign-in by email without a password) that lives 15 minutes.
func ExampleM2MClient_CreateOneTimeToken() {
	ctx := context.Background()
	srv := exampleProvider()
	defer srv.Close()
	mgmt := exampleManagement(srv)

	ott, err := mgmt.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: "ada@example.com", TTL: 15 * time.Minute})
	if err != nil {
		panic(err)
	}
	fmt.Println(ott.Email, ott.Status, ott.ExpiresAt.Sub(ott.CreatedAt), len(ott.Token))

	_, err = mgmt.CreatePersonalAccessToken(ctx, "nobody", "ci", time.Time{})
	var me *logto.ManagementError
	if errors.As(err, &me) {
		fmt.Println(me.StatusCode, me.Code)
	}
	// Output:
	// ada@example.com active 15m0s 32
	// 404 entity.relation_foreign_key_not_found
}
