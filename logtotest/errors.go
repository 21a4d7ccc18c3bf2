package logtotest

import (
	"net/http"
	"strings"
)

// oauthError is an OAuth 2.0 / OIDC error with its HTTP status.
type oauthError struct {
	status      int
	code        string // error
	description string // error_description
	scope       string // scope: the missing scopes of insufficient_scope and invalid_scope
	state       string // state, echoed by rendered authorization errors
	iss         string // iss, added to rendered authorization errors
}

// Error implements error.
func (e *oauthError) Error() string { return e.code + ": " + e.description }

func errorf(status int, code, description string) *oauthError {
	return &oauthError{status: status, code: code, description: description}
}

// Common errors, with oidc-provider's statuses and descriptions.
func invalidRequest(desc string) *oauthError {
	return errorf(http.StatusBadRequest, "invalid_request", desc)
}

func missingParam(name string) *oauthError {
	return invalidRequest("missing required parameter '" + name + "'")
}

// invalidGrant has oidc-provider's generic description; the detail is not
// exposed, as in Logto.
func invalidGrant() *oauthError {
	return errorf(http.StatusBadRequest, "invalid_grant", "grant request is invalid")
}

func invalidTarget(desc string) *oauthError {
	if desc == "" {
		desc = "resource indicator is missing, or unknown"
	}
	return errorf(http.StatusBadRequest, "invalid_target", desc)
}

// unknownClient is Logto's answer for a client_id it does not know, at
// every endpoint (its adapter fails the client lookup).
func unknownClient(id string) *oauthError {
	return errorf(http.StatusBadRequest, "invalid_client", "invalid client "+id)
}

func invalidClient() *oauthError {
	return errorf(http.StatusUnauthorized, "invalid_client", "client authentication failed")
}

func accessDenied(desc string) *oauthError {
	return errorf(http.StatusForbidden, "access_denied", desc)
}

func invalidToken() *oauthError {
	return errorf(http.StatusUnauthorized, "invalid_token", "invalid token provided")
}

// withScope sets the scope member of e (the scopes that were missing).
func (e *oauthError) withScope(scope string) *oauthError {
	e.scope = scope
	return e
}

// writeOAuthError writes e in Logto's shape:
// {"code":"oidc.<error>","message":...,"error":...,"error_description":...}
// (plus error_uri for invalid_grant, and scope, state and iss when e has
// them). With ?parse_error=false only error, error_description and the
// oidc-provider members (scope, state, iss) are sent, like Logto.
func writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	body := map[string]any{"error": e.code, "error_description": e.description}
	for k, v := range map[string]string{"scope": e.scope, "state": e.state, "iss": e.iss} {
		if v != "" {
			body[k] = v
		}
	}
	if r.URL.Query().Get("parse_error") != "false" {
		body["code"] = "oidc." + e.code
		if sessionNotFound(e) {
			body["code"] = "session.not_found"
		}
		body["message"] = logtoMessage(e)
		if e.code == "invalid_grant" {
			body["error_uri"] = "https://openid.sh/debug/invalid_grant"
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, e.status, body)
}

// bearerChallenge is the WWW-Authenticate value of a userinfo error, as
// oidc-provider writes it: the realm (the issuer), then error,
// error_description and scope. A request without any token gets the realm
// alone.
func bearerChallenge(realm string, e *oauthError, tokenSent bool) string {
	quote := func(v string) string { return `"` + strings.ReplaceAll(v, `"`, `'`) + `"` }
	c := "Bearer realm=" + quote(realm)
	if !tokenSent {
		return c
	}
	c += ", error=" + quote(e.code) + ", error_description=" + quote(e.description)
	if e.scope != "" {
		c += ", scope=" + quote(e.scope)
	}
	return c
}

// logtoMessage is Logto's English message for e: the phrase of its error
// code (packages/phrases errors/oidc.ts), or the fallback phrase naming the
// code. Logto uses the session.not_found phrase for descriptions that say a
// session was not found.
func logtoMessage(e *oauthError) string {
	if sessionNotFound(e) {
		return "Session not found. Please go back and sign in again."
	}
	switch e.code {
	case "invalid_scope":
		// Logto 1.42 sends this phrase as it is, the placeholder not
		// filled in (seen on the real server).
		return "Invalid scope: {{error_description}}."
	case "insufficient_scope":
		return "Token missing scope `" + e.scope + "`."
	}
	if m, ok := logtoPhrases[e.code]; ok {
		return m
	}
	return "An OIDC error occurred: oidc." + e.code + "."
}

// sessionNotFound reports whether Logto files e under session.not_found
// (koa-oidc-error-handler's test on the description).
func sessionNotFound(e *oauthError) bool {
	d := e.description
	return strings.Contains(d, "session") && strings.Contains(d, "not found") ||
		strings.Contains(d, "authorization request has expired")
}

// logtoPhrases are Logto's fixed English messages by error code.
var logtoPhrases = map[string]string{
	"aborted":                   "The end-user aborted interaction.",
	"invalid_token":             "Invalid token provided.",
	"invalid_client_metadata":   "Invalid client metadata provided.",
	"invalid_request":           "Request is invalid.",
	"invalid_grant":             "Grant request is invalid.",
	"invalid_issuer":            "Invalid issuer.",
	"invalid_redirect_uri":      "`redirect_uri` did not match any of the client's registered `redirect_uris`.",
	"access_denied":             "Access denied.",
	"invalid_target":            "Invalid resource indicator.",
	"unsupported_grant_type":    "Unsupported `grant_type` requested.",
	"unsupported_response_mode": "Unsupported `response_mode` requested.",
	"unsupported_response_type": "Unsupported `response_type` requested.",
	"server_error":              "An unknown OIDC error occurred. Please try again later.",
}
