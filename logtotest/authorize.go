package logtotest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// organizationsResource is Logto's reserved resource for organization tokens.
const organizationsResource = "urn:logto:resource:organizations"

// codeTTL is the lifetime of authorization codes (oidc-provider's and
// Logto's: 60 seconds).
const codeTTL = 60 * time.Second

// authCode is an issued authorization code and what it is bound to.
type authCode struct {
	value           string
	clientID        string
	redirectURI     string
	challenge       string
	nonce           string
	userID          string
	sessionID       string
	sid             string // the ID tokens' sid; empty unless the app requires the logout session
	scopes          []string
	resources       []string
	resourceScopes  map[string][]string
	authTime        time.Time
	includeAuthTime bool
	expiresAt       time.Time
	consumed        bool
	grantID         string
}

// authRequest is a validated authorization request.
type authRequest struct {
	clientID    string
	redirectURI string
	state       string
	fragment    bool // errors go in the redirect URI's fragment
	nonce       string
	challenge   string
	loginHint   string
	experience  experienceParams // the sign-in experience parameters, for the sign-in page
	scopes      []string
	resources   []string
	prompts     []string
	maxAge      time.Duration // negative when max_age is absent
	// authTime is set when the ID tokens must carry auth_time: max_age,
	// prompt=login or the app's RequireAuthTime.
	authTime bool
}

// loginForced reports whether the user must authenticate again even with a
// session: prompt=login, or a session older than max_age.
func (req *authRequest) loginForced(ss *session, now time.Time) bool {
	if contains(req.prompts, "login") {
		return true
	}
	return ss != nil && req.maxAge >= 0 && now.Sub(ss.authTime) > req.maxAge
}

// forcedUserKey marks requests made by Authorize, with the user to sign in.
type forcedUserKey struct{}

// SetAutoLogin makes /oidc/auth sign userID in at once (303 to the
// redirect_uri with a code), without any page. An empty userID turns it off.
// It is what the user would enter on Logto's sign-in page: prompt=none
// requests, which show no page, ignore it.
func (s *Server) SetAutoLogin(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoLogin = userID
}

// DenyNextAuthorization makes the next valid authorization request redirect
// to the client with this error (e.g. "access_denied") and description, as
// when the user cancels the sign-in.
func (s *Server) DenyNextAuthorization(errCode, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denial = errorf(http.StatusBadRequest, errCode, description)
}

// Authorize performs the authorization request described by authURL (a
// /oidc/auth URL built by a client) as userID, without a browser or cookies,
// and returns the callback URL the provider redirects to: the redirect_uri
// with code, state and iss, or with error, error_description, state and iss.
// An empty userID picks the user like a plain request (SetAutoLogin, then
// login_hint). Having no browser, it signs in through the user's most
// recent session (started by an earlier Authorize or by any browser), or
// starts one; prompt=none succeeds once the user has a session. The request
// goes through the normal handler, so it is logged and subject to FailNext
// and Intercept. The error is non-nil only if the provider did not redirect
// (e.g. an unknown client or redirect_uri); it then contains the status and
// body.
func (s *Server) Authorize(authURL, userID string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("logtotest: Authorize: %w", err)
	}
	if !strings.HasSuffix(u.Path, "/oidc/auth") {
		return "", fmt.Errorf("logtotest: Authorize: %q is not an authorization URL (path /oidc/auth)", authURL)
	}
	ctx := context.WithValue(context.Background(), forcedUserKey{}, userID)
	rec := s.serveInProcessCtx(ctx, http.MethodGet, s.url+"/oidc/auth?"+u.RawQuery, "")
	if loc := rec.header.Get("Location"); loc != "" && (rec.status == http.StatusFound || rec.status == http.StatusSeeOther) {
		return loc, nil
	}
	return "", fmt.Errorf("logtotest: Authorize: the provider did not redirect: %d %s",
		rec.status, strings.TrimSpace(rec.body.String()))
}

// recorder is a minimal http.ResponseWriter (net/http/httptest is avoided in
// non-test code because it registers a command-line flag).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

// Header implements http.ResponseWriter.
func (r *recorder) Header() http.Header { return r.header }

// WriteHeader implements http.ResponseWriter.
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// Write implements http.ResponseWriter.
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// handleAuth is the authorization endpoint. Every redirect is a 303, as in
// oidc-provider.
func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		var e *oauthError
		if params, e = readBody(w, r); e != nil {
			writeOAuthError(w, r, e)
			return
		}
	}
	req, e, redirectable := s.validateAuth(params)
	if e != nil {
		if redirectable {
			http.Redirect(w, r, req.errorLocation(s.Issuer(), e), http.StatusSeeOther)
		} else {
			// Rendered, with state and iss like oidc-provider's error page.
			e.state, e.iss = params.Get("state"), s.Issuer()
			writeOAuthError(w, r, e)
		}
		return
	}
	forced, isAuthorize := r.Context().Value(forcedUserKey{}).(string)

	s.mu.Lock()
	if d := s.denial; d != nil {
		s.denial = nil
		s.mu.Unlock()
		http.Redirect(w, r, req.errorLocation(s.Issuer(), d), http.StatusSeeOther)
		return
	}
	now := s.nowLocked()
	var (
		userID string
		sess   *session // the session to sign in through, if it is userID's
		fresh  bool     // the user has just authenticated
	)
	// A magic link: the token names the user, whatever the session or
	// SetAutoLogin say. Logto's sign-in page verifies and consumes it
	// (prompt=none shows no page, so the token is ignored there).
	magic := req.magicLink() && !contains(req.prompts, "none")
	switch {
	case magic && (isAuthorize || !s.opts.loginPage):
		// No page to show: the token is used at once.
		var xe *experienceError
		if userID, xe = s.oneTimeSignInLocked(req.experience.oneTimeToken, req.experience.loginHint); xe != nil {
			s.mu.Unlock()
			xe.write(w)
			return
		}
		fresh = true
		if isAuthorize {
			sess = s.userSessionLocked(userID)
		} else if cs := s.cookieSessionLocked(r); cs != nil && cs.userID == userID {
			sess = cs
		}
	case magic:
		// The page of the one-time token (the fake has no switch-account
		// page: the browser's session, if another user's, is replaced).
		uid, loc := s.startInteractionLocked(req, s.cookieSessionLocked(r))
		s.mu.Unlock()
		setInteractionCookie(w, uid)
		http.Redirect(w, r, loc, http.StatusSeeOther)
		return
	case isAuthorize:
		userID = forced
		if userID == "" {
			userID = s.autoLogin
		}
		if userID == "" {
			userID = s.findUserLocked(req.loginHint)
		}
		sess = s.userSessionLocked(userID)
	case contains(req.prompts, "none"):
		// No page may be shown: only the browser's session counts.
		if sess = s.cookieSessionLocked(r); sess != nil {
			userID = sess.userID
		}
	default:
		cookieSess := s.cookieSessionLocked(r)
		userID = s.autoLogin
		if userID == "" && cookieSess != nil && !req.loginForced(cookieSess, now) {
			userID = cookieSess.userID
		}
		if userID == "" && !s.opts.loginPage {
			userID = s.findUserLocked(req.loginHint)
			if userID == "" && cookieSess != nil {
				userID = cookieSess.userID // authenticates again
			}
		}
		if userID == "" && s.opts.loginPage {
			uid, loc := s.startInteractionLocked(req, cookieSess)
			s.mu.Unlock()
			setInteractionCookie(w, uid)
			http.Redirect(w, r, loc, http.StatusSeeOther)
			return
		}
		if cookieSess != nil && cookieSess.userID == userID {
			sess = cookieSess
		}
	}
	if userID == "" && !contains(req.prompts, "none") {
		s.mu.Unlock()
		writeOAuthError(w, r, invalidRequest("no user to sign in: call SetAutoLogin, pass a known login_hint, use Authorize or enable WithLoginPage"))
		return
	}
	loc, sess, e := s.completeAuthLocked(req, userID, sess, fresh)
	s.mu.Unlock()
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	if sess != nil && !isAuthorize {
		setSessionCookie(w, sess)
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// findUserLocked returns the ID of the user whose ID or username is hint.
func (s *Server) findUserLocked(hint string) string {
	if hint == "" {
		return ""
	}
	if _, ok := s.users[hint]; ok {
		return hint
	}
	for id, u := range s.users {
		if u.Username != "" && u.Username == hint {
			return id
		}
	}
	return ""
}

// completeAuthLocked signs userID in for req through sess (the session to
// use, nil for none; it must be userID's) and returns the redirect location
// (with a code, or with an error for the client) and the session used.
// freshLogin means the user has just authenticated (sign-in page);
// otherwise the session is reused unless prompt=login or max_age asks for a
// new authentication. With prompt=none, an empty userID means that there is
// no session. The error is for the cases where the client cannot be
// redirected to.
func (s *Server) completeAuthLocked(req *authRequest, userID string, sess *session, freshLogin bool) (string, *session, *oauthError) {
	now := s.nowLocked()
	if contains(req.prompts, "none") {
		var desc string
		switch {
		case contains(req.prompts, "login"): // max_age=0
			desc = "login prompt was not resolved"
		case sess == nil || userID == "":
			desc = "End-User authentication is required"
		case req.loginForced(sess, now):
			desc = "End-User authentication could not be obtained"
		}
		if desc != "" {
			return req.errorLocation(s.Issuer(), errorf(http.StatusBadRequest, "login_required", desc)), nil, nil
		}
	}
	u := s.users[userID]
	if u == nil {
		return "", nil, invalidRequest("unknown user " + userID)
	}
	if u.Suspended {
		return req.errorLocation(s.Issuer(), accessDenied("user is suspended")), nil, nil
	}
	granted, resourceScopes := s.consentLocked(u, req.scopes, req.resources)
	if sess != nil && sess.userID != userID {
		sess = nil
	}
	if sess == nil || freshLogin || req.loginForced(sess, now) {
		sess = s.loginLocked(userID, sess)
	} else {
		s.touchLocked(sess)
	}
	sid := sess.sidFor(req.clientID)
	if app := s.apps[req.clientID]; app == nil || !app.includeSid() {
		sid = ""
	}
	c := &authCode{
		value:           randomToken(32),
		clientID:        req.clientID,
		redirectURI:     req.redirectURI,
		challenge:       req.challenge,
		nonce:           req.nonce,
		userID:          userID,
		sessionID:       sess.id,
		sid:             sid,
		scopes:          granted,
		resources:       req.resources,
		resourceScopes:  resourceScopes,
		authTime:        sess.authTime,
		includeAuthTime: req.authTime,
		expiresAt:       now.Add(codeTTL),
	}
	s.codes[c.value] = c
	return appendQuery(req.redirectURI, "code", c.value, "state", req.state, "iss", s.Issuer()), sess, nil
}

// errorLocation is the redirect_uri carrying an authorization error.
func (req *authRequest) errorLocation(issuer string, e *oauthError) string {
	kv := []string{"error", e.code, "error_description", e.description, "state", req.state, "iss", issuer}
	if req.fragment {
		return appendFragment(req.redirectURI, kv...)
	}
	return appendQuery(req.redirectURI, kv...)
}

// appendFragment sets the fragment of rawURL to the non-empty key/value
// pairs, form-encoded.
func appendFragment(rawURL string, kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	base, _, _ := strings.Cut(rawURL, "#")
	return base + "#" + b.String()
}

// appendQuery adds the non-empty key/value pairs to the query of rawURL,
// keeping its existing query.
func appendQuery(rawURL string, kv ...string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	var b strings.Builder
	b.WriteString(u.RawQuery)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	u.RawQuery = b.String()
	return u.String()
}
