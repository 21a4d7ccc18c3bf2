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

// codeTTL is the lifetime of authorization codes.
const codeTTL = 10 * time.Minute

// authCode is an issued authorization code and what it is bound to.
type authCode struct {
	value       string
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	userID      string
	sid         string
	scopes      []string
	resources   []string
	authTime    time.Time
	expiresAt   time.Time
	consumed    bool
	grantID     string
}

// authRequest is a validated authorization request.
type authRequest struct {
	clientID    string
	redirectURI string
	state       string
	nonce       string
	challenge   string
	loginHint   string
	scopes      []string
	resources   []string
	prompts     []string
}

// forcedUserKey marks requests made by Authorize, with the user to sign in.
type forcedUserKey struct{}

// SetAutoLogin makes /oidc/auth sign userID in at once (302 to the
// redirect_uri with a code), without any page. An empty userID turns it off.
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
// login_hint). The request goes through the normal handler, so it is logged
// and subject to FailNext and Intercept. The error is non-nil only if the
// provider did not redirect (e.g. an unknown client or redirect_uri); it then
// contains the status and body.
func (s *Server) Authorize(authURL, userID string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("logtotest: Authorize: %w", err)
	}
	if !strings.HasSuffix(u.Path, "/oidc/auth") {
		return "", fmt.Errorf("logtotest: Authorize: %q is not an authorization URL (path /oidc/auth)", authURL)
	}
	ctx := context.WithValue(context.Background(), forcedUserKey{}, userID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/oidc/auth?"+u.RawQuery, nil)
	if err != nil {
		return "", fmt.Errorf("logtotest: Authorize: %w", err)
	}
	req.RemoteAddr = "127.0.0.1:1"
	rec := &recorder{header: http.Header{}}
	s.handler.ServeHTTP(rec, req)
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

// handleAuth is the authorization endpoint.
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
			http.Redirect(w, r, req.errorLocation(s.Issuer(), e), http.StatusFound)
		} else {
			writeOAuthError(w, r, e)
		}
		return
	}
	forced, isAuthorize := r.Context().Value(forcedUserKey{}).(string)

	s.mu.Lock()
	if d := s.denial; d != nil {
		s.denial = nil
		s.mu.Unlock()
		http.Redirect(w, r, req.errorLocation(s.Issuer(), d), http.StatusFound)
		return
	}
	userID := forced
	if userID == "" {
		userID = s.autoLogin
	}
	if userID == "" && (isAuthorize || !s.opts.loginPage) {
		userID = s.findUserLocked(req.loginHint)
	}
	if userID == "" {
		if s.opts.loginPage && !isAuthorize {
			loc := s.startInteractionLocked(req)
			s.mu.Unlock()
			http.Redirect(w, r, loc, http.StatusSeeOther)
			return
		}
		s.mu.Unlock()
		writeOAuthError(w, r, invalidRequest("no user to sign in: call SetAutoLogin, pass a known login_hint, use Authorize or enable WithLoginPage"))
		return
	}
	loc, e := s.completeAuthLocked(req, userID, false)
	s.mu.Unlock()
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	http.Redirect(w, r, loc, http.StatusFound)
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

// completeAuthLocked signs userID in for req and returns the redirect
// location (with a code, or with an error for the client). freshLogin means
// the user has just authenticated (sign-in page); otherwise an existing
// session is reused unless prompt=login. The error is for the cases where
// the client cannot be redirected to.
func (s *Server) completeAuthLocked(req *authRequest, userID string, freshLogin bool) (string, *oauthError) {
	u := s.users[userID]
	if u == nil {
		return "", invalidRequest("unknown user " + userID)
	}
	if u.Suspended {
		return req.errorLocation(s.Issuer(), accessDenied("user is suspended")), nil
	}
	sess := s.userSessionLocked(userID)
	if contains(req.prompts, "none") && sess == nil {
		return req.errorLocation(s.Issuer(), errorf(http.StatusBadRequest, "login_required", "End-User authentication is required")), nil
	}
	if sess == nil || freshLogin || contains(req.prompts, "login") {
		sess = s.loginLocked(userID, sess)
	}
	sess.clients[req.clientID] = true
	now := s.nowLocked()
	c := &authCode{
		value:       randomToken(32),
		clientID:    req.clientID,
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		nonce:       req.nonce,
		userID:      userID,
		sid:         sess.sid,
		scopes:      req.scopes,
		resources:   req.resources,
		authTime:    sess.authTime,
		expiresAt:   now.Add(codeTTL),
	}
	s.codes[c.value] = c
	return appendQuery(req.redirectURI, "code", c.value, "state", req.state, "iss", s.Issuer()), nil
}

// errorLocation is the redirect_uri carrying an authorization error.
func (req *authRequest) errorLocation(issuer string, e *oauthError) string {
	return appendQuery(req.redirectURI, "error", e.code, "error_description", e.description,
		"state", req.state, "iss", issuer)
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
