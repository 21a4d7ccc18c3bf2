package logtotest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validateAuth checks an authorization request. When the client and
// redirect_uri are valid, errors are to be redirected to the client
// (redirectable is true and req is set); otherwise they are rendered.
func (s *Server) validateAuth(p url.Values) (req *authRequest, e *oauthError, redirectable bool) {
	for _, name := range []string{"client_id", "redirect_uri"} {
		if len(p[name]) > 1 {
			return nil, invalidRequest("'" + name + "' parameter must not be provided twice"), false
		}
	}
	clientID := p.Get("client_id")
	if clientID == "" {
		return nil, missingParam("client_id"), false
	}
	s.mu.Lock()
	app := s.apps[clientID]
	if app != nil {
		app = app.clone()
	}
	s.mu.Unlock()
	if app == nil {
		return nil, unknownClient(clientID), false
	}
	if app.Type == AppMachineToMachine {
		return nil, errorf(http.StatusBadRequest, "unauthorized_client", "machine-to-machine applications cannot use the authorization endpoint"), false
	}
	redirectURI := p.Get("redirect_uri")
	if redirectURI == "" && len(app.RedirectURIs) == 1 {
		// oidc-provider's allowOmittingSingleRegisteredRedirectUri.
		redirectURI = app.RedirectURIs[0]
	}
	if redirectURI == "" {
		return nil, missingParam("redirect_uri"), false
	}
	if !redirectURIAllowed(app, redirectURI) {
		return nil, errorf(http.StatusBadRequest, "invalid_redirect_uri", "redirect_uri did not match any of the client's registered redirect_uris"), false
	}

	req = &authRequest{clientID: clientID, redirectURI: redirectURI, state: p.Get("state"),
		// As in oidc-provider, errors go in the fragment for response types
		// with a token.
		fragment: strings.Contains(p.Get("response_type"), "token")}
	if e := s.checkAuthParams(p, app, req); e != nil {
		return req, e, true
	}
	return req, nil, true
}

// checkAuthParams validates the parameters after client_id and redirect_uri
// and fills req.
func (s *Server) checkAuthParams(p url.Values, app *App, req *authRequest) *oauthError {
	if d := duplicateParam(p, "resource"); d != "" {
		return invalidRequest("'" + d + "' parameter must not be provided twice")
	}
	if p.Get("response_type") == "" {
		return missingParam("response_type")
	}
	types := scopeList(p.Get("response_type"))
	slices.Sort(types) // oidc-provider compares the sorted set
	switch strings.Join(types, " ") {
	case "code":
	case "code id_token", "id_token", "none":
		// Supported by Logto's provider, but its apps may only use code.
		return invalidRequest("requested response_type is not allowed for this client")
	default:
		return errorf(http.StatusBadRequest, "unsupported_response_type", "unsupported response_type requested")
	}

	// scope is optional, as in oidc-provider: without openid no ID token
	// is issued.
	req.scopes = scopeList(p.Get("scope"))
	// As in oidc-provider, openid is optional (no ID token is then issued)
	// unless a nonce is sent.
	if !contains(req.scopes, "openid") && p.Get("nonce") != "" {
		return invalidRequest("openid scope must be requested when using the nonce parameter")
	}

	req.prompts = scopeList(p.Get("prompt"))
	for _, pr := range req.prompts {
		if pr != "login" && pr != "consent" && pr != "none" {
			return invalidRequest("unsupported prompt value requested")
		}
	}
	if contains(req.prompts, "none") && len(req.prompts) > 1 {
		return invalidRequest("prompt none must only be used alone")
	}
	req.maxAge = -1
	if v := p.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 1<<53-1 {
			return invalidRequest("invalid max_age parameter value")
		}
		if n == 0 {
			// max_age=0 is prompt=login (oidc-provider).
			req.prompts = appendUnique(req.prompts, "login")
		} else {
			req.maxAge = time.Duration(min(n, 1<<32)) * time.Second // no overflow
		}
		req.authTime = true
	}
	if contains(req.prompts, "login") || app.RequireAuthTime {
		req.authTime = true
	}
	// offline_access needs an explicit consent prompt (OIDC Core 11).
	if !contains(req.prompts, "consent") {
		req.scopes = without(req.scopes, "offline_access")
	}

	if e := checkPKCEParams(p, app); e != nil {
		return e
	}
	req.challenge = p.Get("code_challenge")

	for _, v := range p["resource"] {
		for _, ind := range strings.Split(v, ",") {
			if ind = strings.TrimSpace(ind); ind != "" {
				req.resources = appendUnique(req.resources, ind)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ind := range req.resources {
		if ind != organizationsResource && s.resources[ind] == nil {
			return invalidTarget("")
		}
	}
	req.nonce = p.Get("nonce")
	req.loginHint = p.Get("login_hint")
	req.experience = parseExperienceParams(p)
	return nil
}

// checkPKCEParams applies oidc-provider's PKCE rules with Logto's policy
// (required for public clients, S256 only).
func checkPKCEParams(p url.Values, app *App) *oauthError {
	challenge, method := p.Get("code_challenge"), p.Get("code_challenge_method")
	if method == "" && challenge != "" {
		return invalidRequest("code_challenge_method must be provided")
	}
	if method != "" {
		if method != "S256" {
			return invalidRequest("not supported value of code_challenge_method")
		}
		if challenge == "" {
			return invalidRequest("code_challenge must be provided with code_challenge_method")
		}
	}
	if challenge == "" {
		if app.public() {
			return invalidRequest("Authorization Server policy requires PKCE to be used for this request")
		}
		return nil
	}
	return checkPKCEFormat(challenge, "code_challenge")
}

// checkPKCEFormat checks the RFC 7636 syntax of a verifier or challenge
// (param names it), with oidc-provider's messages.
func checkPKCEFormat(v, param string) *oauthError {
	if len(v) < 43 {
		return invalidRequest(param + " must be a string with a minimum length of 43 characters")
	}
	if len(v) > 128 {
		return invalidRequest(param + " must be a string with a maximum length of 128 characters")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~'
		if !ok {
			return invalidRequest(param + " contains invalid characters")
		}
	}
	return nil
}

// without returns list minus v.
func without(list []string, v string) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}
