package logtotest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gologto/logto/logtotest"
)

// In tests, use logtotest.NewServer(t), which also registers Close with
// t.Cleanup; Start is its counterpart for programs without a testing.TB.
func ExampleStart() {
	srv, err := logtotest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	resp, err := http.Get(srv.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		panic(err)
	}
	fmt.Println(doc.Issuer == srv.URL()+"/oidc")
	fmt.Println(strings.TrimPrefix(doc.TokenEndpoint, srv.URL()))
	fmt.Println(srv.RequestCount(logtotest.EndpointDiscovery))
	// Output:
	// true
	// /oidc/token
	// 1
}

func ExampleServer_Authorize() {
	srv, err := logtotest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.AddApp(logtotest.App{ID: "my-app", Secret: "my-secret", RedirectURIs: []string{"http://localhost:3000/callback"}})
	srv.AddUser(logtotest.User{ID: "user-1", Username: "jane", Name: "Jane"})

	authURL := srv.Issuer() + "/auth?" + url.Values{
		"client_id":     {"my-app"},
		"redirect_uri":  {"http://localhost:3000/callback"},
		"response_type": {"code"},
		"scope":         {"openid offline_access profile"},
		"prompt":        {"consent"},
		"state":         {"xyz"},
	}.Encode()
	callback, err := srv.Authorize(authURL, "user-1")
	if err != nil {
		panic(err)
	}
	cb, _ := url.Parse(callback)
	fmt.Println(cb.Query().Get("state"), cb.Query().Get("iss") == srv.Issuer())

	req, _ := http.NewRequest(http.MethodPost, srv.Issuer()+"/token", strings.NewReader(url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {cb.Query().Get("code")},
		"redirect_uri": {"http://localhost:3000/callback"},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("my-app", "my-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var tok struct {
		TokenType    string `json:"token_type"`
		Scope        string `json:"scope"`
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	fmt.Println(resp.StatusCode, tok.TokenType, tok.Scope)
	fmt.Println(tok.RefreshToken != "", tok.IDToken != "")
	// Output:
	// xyz true
	// 200 Bearer openid offline_access profile
	// true true
}

func ExampleServer_FailNext() {
	srv, err := logtotest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.FailNext(logtotest.EndpointJWKS, http.StatusServiceUnavailable, `{"error":"unavailable"}`)

	for i := 0; i < 2; i++ {
		resp, err := http.Get(srv.Issuer() + "/jwks")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 503
	// 200
}

func ExampleServer_EndSession() {
	srv, err := logtotest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.AddApp(logtotest.App{ID: "my-app", Secret: "my-secret", RedirectURIs: []string{"http://localhost:3000/callback"},
		PostLogoutRedirectURIs: []string{"http://localhost:3000/"}})

	// The URL a client's sign-out sends the browser to. A browser gets a
	// page whose script posts the logout form; EndSession does both steps.
	endSessionURL := srv.Issuer() + "/session/end?" + url.Values{
		"client_id":                {"my-app"},
		"post_logout_redirect_uri": {"http://localhost:3000/"},
		"state":                    {"bye"},
	}.Encode()
	landing, err := srv.EndSession(endSessionURL)
	if err != nil {
		panic(err)
	}
	fmt.Println(landing)
	fmt.Println(srv.RequestCount(logtotest.EndpointEndSession), srv.RequestCount(logtotest.EndpointEndSessionConfirm))
	// Output:
	// http://localhost:3000/?state=bye
	// 1 1
}

// A command-line tool's device sign-in tested without a browser: the test
// approves the user code the tool would show, as the user would at
// verification_uri.
func ExampleServer_ApproveDevice() {
	srv, err := logtotest.Start()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.AddApp(logtotest.App{ID: "my-cli", Type: logtotest.AppNative, DeviceFlow: true})
	srv.AddUser(logtotest.User{ID: "user-1", Username: "jane"})

	// What the tool sends first (logto.LogtoClient.StartDeviceSignIn).
	resp, err := http.PostForm(srv.Issuer()+"/device/auth", url.Values{
		"client_id": {"my-cli"}, "scope": {"openid offline_access profile"},
	})
	if err != nil {
		panic(err)
	}
	var da struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&da)
	resp.Body.Close()
	fmt.Println(strings.TrimPrefix(da.VerificationURI, srv.URL()))

	// What the tool then polls (logto.LogtoClient.WaitDeviceSignIn).
	poll := func() string {
		resp, err := http.PostForm(srv.Issuer()+"/token", url.Values{
			"client_id": {"my-cli"}, "grant_type": {logtotest.DeviceCodeGrantType}, "device_code": {da.DeviceCode},
		})
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if e, ok := body["error"]; ok {
			return fmt.Sprint(resp.StatusCode, " ", e)
		}
		return fmt.Sprint(resp.StatusCode, " tokens, refresh token: ", body["refresh_token"] != nil)
	}
	fmt.Println(poll())
	fmt.Println(srv.PendingDeviceCodes()[0] == da.UserCode)
	if err := srv.ApproveDevice(da.UserCode, "jane"); err != nil {
		panic(err)
	}
	fmt.Println(poll())
	fmt.Println(poll())
	// Output:
	// /device
	// 400 authorization_pending
	// true
	// 200 tokens, refresh token: true
	// 400 invalid_grant
}
