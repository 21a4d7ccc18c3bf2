package logtotest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// logoutRequestTTL is how long a rendered logout form can be confirmed.
const logoutRequestTTL = time.Hour

// logoutRequest is a validated end-session request waiting for its confirm
// step (what oidc-provider keeps in the session's state), found by its xsrf
// value.
type logoutRequest struct {
	sessionID  string // the browser's session, if the request carried a live session cookie
	clientID   string // client_id or the id_token_hint's audience
	sub        string // the id_token_hint's subject
	postLogout string // a registered post_logout_redirect_uri
	state      string
	expiresAt  time.Time
}

var logoutPage = template.Must(template.New("logout").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Signing out</title></head>
<body>
<form id="op.logoutForm" method="post" action="{{.Action}}"><input type="hidden" name="xsrf" value="{{.XSRF}}"/><input type="hidden" name="logout" value="yes"/></form>
<script>document.forms['op.logoutForm'].submit();</script>
<noscript><button type="submit" form="op.logoutForm">Sign out</button></noscript>
</body>
</html>
`))

const signedOutPage = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Signed out</title></head>
<body><p>You have successfully signed out.</p></body>
</html>
`

// handleEndSession is the RP-initiated logout endpoint (GET or POST
// /oidc/session/end). Like Logto, it validates the request and renders a
// page whose form (id "op.logoutForm": a hidden xsrf and logout=yes)
// submits itself to /oidc/session/end/confirm.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	if r.Method == http.MethodPost {
		var e *oauthError
		if p, e = readBody(w, r); e != nil {
			writeOAuthError(w, r, e)
			return
		}
	}
	if d := duplicateParam(p); d != "" {
		writeOAuthError(w, r, invalidRequest("'"+d+"' parameter must not be provided twice"))
		return
	}
	lr, e := s.checkEndSession(p)
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	xsrf := newXSRF()
	s.mu.Lock()
	if ss := s.cookieSessionLocked(r); ss != nil {
		lr.sessionID = ss.id
	}
	now := s.nowLocked()
	for k, old := range s.logouts {
		if !now.Before(old.expiresAt) {
			delete(s.logouts, k)
		}
	}
	lr.expiresAt = now.Add(logoutRequestTTL)
	s.logouts[xsrf] = lr
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = logoutPage.Execute(w, struct{ Action, XSRF string }{s.Issuer() + "/session/end/confirm", xsrf})
}

// checkEndSession validates the end-session parameters in oidc-provider's
// order and with its errors.
func (s *Server) checkEndSession(p url.Values) (*logoutRequest, *oauthError) {
	lr := &logoutRequest{clientID: p.Get("client_id"), state: p.Get("state")}
	if hint := p.Get("id_token_hint"); hint != "" {
		claims, ok := decodeJWTClaims(hint)
		if !ok {
			return nil, invalidRequest("could not decode id_token_hint")
		}
		aud := audiences(claims["aud"])
		if lr.clientID != "" && (len(aud) != 1 || aud[0] != lr.clientID) {
			return nil, invalidRequest("client_id does not match the provided id_token_hint")
		}
		s.mu.Lock()
		known := len(aud) == 1 && s.apps[aud[0]] != nil
		s.mu.Unlock()
		if !known {
			return nil, errorf(http.StatusBadRequest, "invalid_client", "unrecognized id_token_hint audience")
		}
		verified, err := s.verifyOwnToken(hint)
		if err != nil {
			return nil, invalidRequest("could not validate id_token_hint")
		}
		lr.clientID = aud[0]
		lr.sub, _ = verified["sub"].(string)
	}
	s.mu.Lock()
	var app *App
	if lr.clientID != "" {
		app = s.apps[lr.clientID]
	}
	s.mu.Unlock()
	if lr.clientID != "" && app == nil {
		return nil, unknownClient(lr.clientID)
	}
	// Without a client the post_logout_redirect_uri is ignored, as in
	// oidc-provider.
	if postLogout := p.Get("post_logout_redirect_uri"); postLogout != "" && app != nil {
		if !contains(app.PostLogoutRedirectURIs, postLogout) {
			return nil, invalidRequest("post_logout_redirect_uri not registered")
		}
		lr.postLogout = postLogout
	}
	return lr, nil
}

// handleEndSessionConfirm is the target of the logout form: it ends the
// session (or, without logout=yes, only the client's part of it), sends the
// back-channel logout tokens and answers 303 to the post-logout redirect URI
// (with state) or to /oidc/session/end/success.
//
// The session ended is the browser's (its session cookie). A form rendered
// for a browser session must be posted with that session's cookie (400
// otherwise, as in oidc-provider). When neither request carried a session
// cookie (a client without a cookie jar, or Server.EndSession), the fake
// ends instead the sessions of the id_token_hint's subject, else the
// sessions the client signed in through, else every session.
func (s *Server) handleEndSessionConfirm(w http.ResponseWriter, r *http.Request) {
	form, e := readBody(w, r)
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	if d := duplicateParam(form); d != "" {
		writeOAuthError(w, r, invalidRequest("'"+d+"' parameter must not be provided twice"))
		return
	}
	xsrf := form.Get("xsrf")
	s.mu.Lock()
	lr := s.logouts[xsrf]
	if lr == nil || !s.nowLocked().Before(lr.expiresAt) {
		s.mu.Unlock()
		writeOAuthError(w, r, invalidRequest("xsrf token invalid"))
		return
	}
	cookieSess := s.cookieSessionLocked(r)
	if lr.sessionID != "" && (cookieSess == nil || cookieSess.id != lr.sessionID) {
		// The form was rendered for a browser session that this request
		// does not carry (oidc-provider keeps the xsrf in the session).
		s.mu.Unlock()
		writeOAuthError(w, r, invalidRequest("could not find logout details"))
		return
	}
	delete(s.logouts, xsrf)
	logout := form.Get("logout") != ""
	sessionID := lr.sessionID
	fromCookie := cookieSess != nil
	if fromCookie {
		sessionID = cookieSess.id
	}
	var notices []logoutNotice
	if sessionID != "" {
		if ss := s.sessions[sessionID]; ss != nil {
			notices = s.endSessionLocked(ss, logout, lr.clientID)
		}
	} else {
		for _, ss := range s.sessions {
			match := true
			switch {
			case lr.sub != "":
				match = ss.userID == lr.sub
			case lr.clientID != "":
				_, match = ss.clients[lr.clientID]
			}
			if match {
				notices = append(notices, s.endSessionLocked(ss, logout, lr.clientID)...)
			}
		}
	}
	s.mu.Unlock()

	for _, n := range notices {
		_ = s.SendBackchannelLogout(n.appID, n.userID, n.sid) // best effort, like Logto
	}
	if fromCookie && logout {
		clearSessionCookie(w)
	}
	var loc string
	switch {
	case lr.postLogout != "":
		loc = appendQuery(lr.postLogout, "state", lr.state)
	case !logout && lr.clientID != "":
		loc = appendQuery(s.Issuer()+"/session/end/success", "client_id", lr.clientID)
	default:
		loc = s.Issuer() + "/session/end/success"
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// handleEndSessionSuccess is the page shown after a sign-out without a
// post-logout redirect URI.
func (s *Server) handleEndSessionSuccess(w http.ResponseWriter, r *http.Request) {
	if id := r.URL.Query().Get("client_id"); id != "" {
		s.mu.Lock()
		app := s.apps[id]
		s.mu.Unlock()
		if app == nil {
			writeOAuthError(w, r, unknownClient(id))
			return
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(signedOutPage))
}

// xsrfInput finds the xsrf value of the logout form.
var xsrfInput = regexp.MustCompile(`name="xsrf" value="([^"]*)"`)

// EndSession performs the RP-initiated logout described by endSessionURL (a
// /oidc/session/end URL built by a client, e.g. by SignOut) the way a
// browser does, without one: it loads the logout page, submits its form
// (xsrf and logout=yes) to /oidc/session/end/confirm and returns where the
// provider then redirects: the post_logout_redirect_uri (with state), or
// Issuer()+"/session/end/success". As no session cookie is sent, the
// sessions ended are chosen from the id_token_hint or client_id (see the
// package documentation). Both requests go through the normal handler, so
// they are logged and subject to FailNext and Intercept. The error is
// non-nil if the provider refused the request (it then contains the status
// and body) or did not redirect.
func (s *Server) EndSession(endSessionURL string) (string, error) {
	u, err := url.Parse(endSessionURL)
	if err != nil {
		return "", fmt.Errorf("logtotest: EndSession: %w", err)
	}
	if !strings.HasSuffix(u.Path, "/oidc/session/end") {
		return "", fmt.Errorf("logtotest: EndSession: %q is not an end-session URL (path /oidc/session/end)", endSessionURL)
	}
	page := s.serveInProcess(http.MethodGet, s.url+"/oidc/session/end?"+u.RawQuery, "")
	if page.status != http.StatusOK {
		return "", fmt.Errorf("logtotest: EndSession: the provider refused the request: %d %s",
			page.status, strings.TrimSpace(page.body.String()))
	}
	m := xsrfInput.FindStringSubmatch(page.body.String())
	if m == nil {
		return "", fmt.Errorf("logtotest: EndSession: no logout form in the page: %s", strings.TrimSpace(page.body.String()))
	}
	form := url.Values{"xsrf": {m[1]}, "logout": {"yes"}}
	done := s.serveInProcess(http.MethodPost, s.url+"/oidc/session/end/confirm", form.Encode())
	if loc := done.header.Get("Location"); loc != "" && done.status == http.StatusSeeOther {
		return loc, nil
	}
	return "", fmt.Errorf("logtotest: EndSession: the provider did not redirect: %d %s",
		done.status, strings.TrimSpace(done.body.String()))
}

// serveInProcess sends a request through the server's handler without
// HTTP and returns the recorded response. A non-empty form is sent as a
// form-urlencoded body.
func (s *Server) serveInProcess(method, target, form string) *recorder {
	return s.serveInProcessCtx(context.Background(), method, target, form)
}

func (s *Server) serveInProcessCtx(ctx context.Context, method, target, form string) *recorder {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(form))
	rec := &recorder{header: http.Header{}}
	if err != nil {
		rec.status = http.StatusBadRequest
		rec.body.WriteString(err.Error())
		return rec
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.RemoteAddr = "127.0.0.1:1"
	s.handler.ServeHTTP(rec, req)
	return rec
}

// newXSRF returns a logout form secret (24 random bytes in hex, like
// oidc-provider's).
func newXSRF() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// decodeJWTClaims decodes the claims of a compact JWS without verifying it.
func decodeJWTClaims(token string) (map[string]any, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil || claims == nil {
		return nil, false
	}
	return claims, true
}

// audiences normalises an aud claim.
func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
