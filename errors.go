package logto

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gologto/logto/internal/httpx"
	"github.com/gologto/logto/internal/oidcmeta"
)

// Sentinel errors returned (wrapped) by LogtoClient. Compare with errors.Is.
var (
	// ErrInvalidConfig reports a LogtoConfig or Option that cannot work.
	ErrInvalidConfig = errors.New("logto: invalid configuration")

	// ErrNotAuthenticated means the session holds no token that could
	// answer the call: the user has not signed in, or has signed out.
	ErrNotAuthenticated = errors.New("logto: not authenticated")

	// ErrSessionExpired means Logto refused the refresh token (invalid_grant):
	// the session is over and the user must sign in again. The SDK has
	// already cleared the session's tokens when it returns this error.
	ErrSessionExpired = errors.New("logto: session expired")

	// ErrSignInSessionNotFound means the callback carried a state that
	// matches no pending sign-in (never started, already used, expired or
	// started in another browser).
	ErrSignInSessionNotFound = errors.New("logto: sign-in session not found")

	// ErrRedirectURIMismatch means the callback URL does not match the
	// redirect URI of the sign-in it claims to complete.
	ErrRedirectURIMismatch = errors.New("logto: callback URL does not match the redirect URI")

	// ErrMissingCode means the callback carried neither a code nor an error.
	ErrMissingCode = errors.New("logto: authorization code not found in the callback URL")

	// ErrIssuerMismatch means the RFC 9207 iss parameter of the callback is
	// absent when Logto promised it, or names another issuer (mix-up attack).
	ErrIssuerMismatch = errors.New("logto: authorization response issuer mismatch")

	// ErrInvalidIDToken means an ID token failed verification (signature,
	// algorithm, iss, aud, azp, exp, iat, nbf, sub or nonce).
	ErrInvalidIDToken = errors.New("logto: invalid ID token")

	// ErrSubjectMismatch means a token or user info response names another
	// user than the session's ID token.
	ErrSubjectMismatch = errors.New("logto: subject mismatch")

	// ErrOrganizationScopeRequired means an organization token was asked for
	// but the organizations scope is not configured.
	ErrOrganizationScopeRequired = errors.New("logto: the urn:logto:scope:organizations scope is required for organization tokens")

	// ErrResourceNotConfigured means an access token was asked for an API
	// resource (possibly organization-scoped) that is not in
	// LogtoConfig.Resources. The SDK refuses it before sending anything:
	// Logto would spend the refresh token first (rotating it for SPA and
	// native apps), answer invalid_target without the new one, and revoke
	// the whole grant when the old one is used again, signing the user
	// out. The session is left as it was.
	ErrResourceNotConfigured = errors.New("logto: API resource is not in LogtoConfig.Resources")

	// ErrScopeNotConfigured means a narrowed token (AccessTokenRequest.Scopes)
	// was asked for with a scope the client does not request at sign-in,
	// so no grant can hold it. The SDK refuses it before sending anything.
	ErrScopeNotConfigured = errors.New("logto: scope is not in LogtoConfig.Scopes")

	// ErrScopeNotGranted means Logto refused a narrowed token because the
	// session's grant does not hold one of its scopes (the *OAuthError,
	// code invalid_scope, is in the chain).
	// Logto checks this before it spends the refresh token: the session is
	// left as it was.
	ErrScopeNotGranted = errors.New("logto: scope not granted to the session")

	// ErrNoEndSessionEndpoint means discovery announced no end_session_endpoint.
	ErrNoEndSessionEndpoint = errors.New("logto: provider has no end_session_endpoint")

	// ErrNoDeviceAuthorizationEndpoint means discovery announced no
	// device_authorization_endpoint: the provider has no device flow.
	ErrNoDeviceAuthorizationEndpoint = errors.New("logto: provider has no device_authorization_endpoint")

	// ErrDeviceCodeExpired means a device sign-in was neither approved nor
	// denied before its code expired (Logto answered expired_token, or the
	// expiry passed by the client's clock). Start a new one.
	ErrDeviceCodeExpired = errors.New("logto: device code expired")

	// ErrDeviceAccessDenied means the user denied a device sign-in (Logto
	// answered access_denied; the *OAuthError is in the chain too).
	ErrDeviceAccessDenied = errors.New("logto: device sign-in denied")

	// ErrDiscovery means the OpenID Provider configuration could not be
	// fetched or is unusable.
	ErrDiscovery = oidcmeta.ErrDiscovery

	// ErrInvalidResponse means a Logto endpoint answered with something that
	// is not a valid response (not JSON, missing fields, unexpected status).
	ErrInvalidResponse = errors.New("logto: invalid response")

	// ErrResponseTooLarge means a response body exceeded the size cap.
	// The SDK never truncates a body silently.
	ErrResponseTooLarge = httpx.ErrTooLarge

	// ErrStorage matches every *StorageError: failures of the Storage
	// implementation and unreadable (corrupted, truncated, foreign) stored
	// values.
	ErrStorage = errors.New("logto: storage")

	// ErrTokenMalformed means a token is not a decodable JWT.
	ErrTokenMalformed = errors.New("logto: malformed token")
)

// OAuthError is an error answered by Logto in the OAuth 2.0 format, either
// at an endpoint (token, userinfo, revocation) or in the authorization
// callback. Use errors.As to read it:
//
//	var oe *logto.OAuthError
//	if errors.As(err, &oe) && oe.Code == "access_denied" { ... }
type OAuthError struct {
	// Code is the OAuth error code, e.g. "invalid_grant" or "access_denied".
	Code string
	// Description is error_description, human-readable, possibly empty.
	Description string
	// URI is error_uri, possibly empty.
	URI string
	// StatusCode is the HTTP status of the response, 0 for a callback error.
	StatusCode int
	// Endpoint names where the error came from: "token", "userinfo",
	// "revocation", "callback" or "device_authorization".
	Endpoint string
}

// Error implements error. It never contains a token, code or secret: only
// what Logto sent as error and error_description.
func (e *OAuthError) Error() string {
	msg := "logto: " + e.Endpoint + " error"
	if e.StatusCode != 0 {
		msg += " (HTTP " + strconv.Itoa(e.StatusCode) + ")"
	}
	msg += ": " + e.Code
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// StorageError reports a failed call of the session Storage, or a stored
// value the SDK cannot read (corrupted, truncated or foreign). It matches
// ErrStorage (errors.Is(err, logto.ErrStorage) is true) and unwraps to
// Err, so the Storage's own error stays in the chain:
//
//	var se *logto.StorageError
//	if errors.As(err, &se) && se.Op == "write" { ... }
type StorageError struct {
	// Op is "read", "write" or "delete" for a failed Storage call, and
	// "decode" for a value that was read but cannot be used.
	Op string
	// Key is the storage key, such as StorageKeyRefreshToken.
	Key string
	// Err is the Storage's error, or why the value is unusable.
	Err error
}

// Error reads "logto: storage: <op> <key>: <cause>". It names the key,
// never the value.
func (e *StorageError) Error() string {
	msg := ErrStorage.Error() + ": " + e.Op + " " + e.Key
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrStorage.
func (e *StorageError) Is(target error) bool { return target == ErrStorage }

// Unwrap returns Err.
func (e *StorageError) Unwrap() error { return e.Err }

// storageErr returns the *StorageError of op on key.
func storageErr(op, key string, err error) error {
	return &StorageError{Op: op, Key: key, Err: err}
}

// wrapf prefixes err with a "logto: " context and keeps it in the chain.
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf("logto: "+format+": %w", append(args, err)...)
}
