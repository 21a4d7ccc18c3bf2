package logtotest

import (
	"fmt"
	"io"
	"net/url"
	"strings"
)

// backchannelEvent is the events member of logout tokens.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// SendBackchannelLogout POSTs a logout token (form field logout_token) to the
// app's BackchannelLogoutURI, as Logto does when a session ends. The token
// has header typ "logout+jwt" and claims iss, aud (appID), iat, exp (iat +
// 120 s), jti, sub (userID), sid (omitted when empty) and the back-channel
// logout event. It returns an error if the app has no BackchannelLogoutURI,
// the request fails or the response status is not 2xx.
//
// The fake also sends these tokens by itself when a sign-out ends a session
// (the logout form's POST to /oidc/session/end/confirm, see EndSession), to
// every app that signed in through it and has a BackchannelLogoutURI; the
// token carries that app's sid in the session only when the app sets
// BackchannelLogoutSessionRequired, as in Logto. Unlike Logto's provider,
// which by default drops logout requests to loopback and private addresses
// (its SSRF protection), the fake delivers to any address.
func (s *Server) SendBackchannelLogout(appID, userID, sid string) error {
	s.mu.Lock()
	app := s.apps[appID]
	target := ""
	if app != nil {
		target = app.BackchannelLogoutURI
	}
	now := s.nowLocked()
	s.mu.Unlock()
	if target == "" {
		return fmt.Errorf("logtotest: app %q has no BackchannelLogoutURI", appID)
	}
	claims := map[string]any{
		"iss":    s.Issuer(),
		"aud":    appID,
		"iat":    now.Unix(),
		"exp":    now.Unix() + 120,
		"jti":    randomToken(32),
		"sub":    userID,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	}
	if sid != "" {
		claims["sid"] = sid
	}
	key := s.currentKey()
	tok, err := key.sign(key.header("logout+jwt"), claims)
	if err != nil {
		return fmt.Errorf("logtotest: sign logout token: %w", err)
	}
	body := url.Values{"logout_token": {tok}}.Encode()
	resp, err := s.client.Post(target, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("logtotest: back-channel logout to %s: %w", target, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("logtotest: back-channel logout to %s: %s %s", target, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
