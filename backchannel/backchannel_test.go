package backchannel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/backchannel"
	"github.com/gologto/logto/logtotest"
)

type logouts struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (l *logouts) hook(_ context.Context, sub, sid string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.calls = append(l.calls, sub+"/"+sid)
	return nil
}

func setup(t *testing.T) (*logtotest.Server, *backchannel.Handler, *logouts, *httptest.Server) {
	t.Helper()
	srv := logtotest.NewServer(t)
	l := &logouts{}
	h, err := backchannel.NewHandler(backchannel.Config{Endpoint: srv.URL(), AppId: "web-app", OnLogout: l.hook, Now: srv.Now})
	require.NoError(t, err)
	app := httptest.NewServer(h)
	t.Cleanup(app.Close)
	srv.AddApp(logtotest.App{ID: "web-app", Secret: "s", Type: logtotest.AppTraditional, RedirectURIs: []string{"https://app.example/cb"}, BackchannelLogoutURI: app.URL})
	return srv, h, l, app
}

func logoutToken(srv *logtotest.Server, edit func(h, c map[string]any)) string {
	now := srv.Now().Unix()
	h := map[string]any{"typ": "logout+jwt"}
	c := map[string]any{
		"iss": srv.Issuer(), "aud": "web-app", "iat": now, "exp": now + 120, "jti": fmt.Sprint(time.Now().UnixNano()),
		"sub": "user-1", "sid": "sid-1", "events": map[string]any{backchannel.EventType: map[string]any{}},
	}
	if edit != nil {
		edit(h, c)
	}
	return srv.Sign(h, c)
}

func post(t *testing.T, app *httptest.Server, token string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(app.URL, url.Values{"logout_token": {token}})
	require.NoError(t, err)
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b, resp.Header.Get("Cache-Control"))
	return resp.StatusCode, b.String()
}

func TestLogoutTokenFromLogto(t *testing.T) {
	srv, _, l, _ := setup(t)
	require.NoError(t, srv.SendBackchannelLogout("web-app", "user-1", "sid-9"))
	require.NoError(t, srv.SendBackchannelLogout("web-app", "user-2", ""))
	assert.Equal(t, []string{"user-1/sid-9", "user-2/"}, l.calls)
}

func TestLogoutTokenRules(t *testing.T) {
	tests := []struct {
		name string
		edit func(h, c map[string]any)
		ok   bool
	}{
		{"valid", nil, true},
		{"no typ (accepted)", func(h, c map[string]any) { h["typ"] = "" }, true},
		{"sid only", func(h, c map[string]any) { delete(c, "sub") }, true},
		{"typ JWT (an ID token)", func(h, c map[string]any) { h["typ"] = "JWT" }, false},
		{"another issuer", func(h, c map[string]any) { c["iss"] = "https://evil.example/oidc" }, false},
		{"another audience", func(h, c map[string]any) { c["aud"] = "other-app" }, false},
		{"no iat", func(h, c map[string]any) { delete(c, "iat") }, false},
		{"iat in the future", func(h, c map[string]any) { c["iat"] = c["iat"].(int64) + 3600 }, false},
		{"too old", func(h, c map[string]any) { c["iat"] = c["iat"].(int64) - 3600; c["exp"] = c["iat"].(int64) + 7200 }, false},
		{"expired", func(h, c map[string]any) { c["exp"] = c["iat"].(int64) - 120 }, false},
		{"no events", func(h, c map[string]any) { delete(c, "events") }, false},
		{"other event", func(h, c map[string]any) { c["events"] = map[string]any{"urn:other": map[string]any{}} }, false},
		{"event not an object", func(h, c map[string]any) { c["events"] = map[string]any{backchannel.EventType: true} }, false},
		{"neither sub nor sid", func(h, c map[string]any) { delete(c, "sub"); delete(c, "sid") }, false},
		{"nonce present", func(h, c map[string]any) { c["nonce"] = "n" }, false},
		{"no jti", func(h, c map[string]any) { delete(c, "jti") }, false},
		{"alg none", func(h, c map[string]any) { h["alg"] = "none" }, false},
		{"HMAC with the public key", func(h, c map[string]any) { h["alg"] = "HS256" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, l, app := setup(t)
			status, cache := post(t, app, logoutToken(srv, tt.edit))
			assert.Equal(t, "no-store", cache)
			if tt.ok {
				assert.Equal(t, http.StatusOK, status)
				assert.Len(t, l.calls, 1)
			} else {
				assert.Equal(t, http.StatusBadRequest, status)
				assert.Empty(t, l.calls, "the hook is not called")
			}
		})
	}
}

func TestReplayIsRefused(t *testing.T) {
	srv, _, l, app := setup(t)
	tok := logoutToken(srv, nil)
	status, _ := post(t, app, tok)
	assert.Equal(t, 200, status)
	status, _ = post(t, app, tok)
	assert.Equal(t, 400, status)
	assert.Len(t, l.calls, 1)
}

func TestHookFailureAllowsRetry(t *testing.T) {
	srv, _, l, app := setup(t)
	tok := logoutToken(srv, nil)
	l.err = errors.New("store down")
	status, _ := post(t, app, tok)
	assert.Equal(t, 400, status)
	l.err = nil
	status, _ = post(t, app, tok)
	assert.Equal(t, 200, status, "a token whose logout failed may be sent again")
}

func TestRequestShape(t *testing.T) {
	_, _, _, app := setup(t)
	resp, err := http.Get(app.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	resp, err = http.Post(app.URL, "application/json", strings.NewReader(`{"logout_token":"x"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, err = http.PostForm(app.URL, url.Values{})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestNewHandlerValidates(t *testing.T) {
	_, err := backchannel.NewHandler(backchannel.Config{Endpoint: "https://t.logto.app", AppId: "a"})
	assert.Error(t, err, "OnLogout is required")
	_, err = backchannel.NewHandler(backchannel.Config{Endpoint: "http://t.logto.app", AppId: "a", OnLogout: func(context.Context, string, string) error { return nil }})
	assert.Error(t, err, "http only for loopback")
}

func TestConcurrentDeliveriesCallTheHookOnce(t *testing.T) {
	srv, h, l, _ := setup(t)
	tok := logoutToken(srv, nil)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h.Handle(context.Background(), tok)
		}()
	}
	wg.Wait()
	assert.Len(t, l.calls, 1)
}

func TestJSONSerializationRefused(t *testing.T) {
	srv, _, l, app := setup(t)
	parts := strings.Split(logoutToken(srv, nil), ".")
	status, _ := post(t, app, `{"protected":"`+parts[0]+`","payload":"`+parts[1]+`","signature":"`+parts[2]+`"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Empty(t, l.calls)
}
