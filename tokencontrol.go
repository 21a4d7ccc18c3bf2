package logto

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AccessTokenRequest asks GetAccessTokenWith for one access token, with
// more control than GetAccessToken and its organization variants give.
type AccessTokenRequest struct {
	// Resource is the API resource indicator, "" for the default token
	// (opaque, for Logto's user info endpoint) or, with OrganizationID, for
	// the organization token. It must be one of LogtoConfig.Resources
	// (ErrResourceNotConfigured otherwise, before anything is sent).
	Resource string
	// OrganizationID asks for the organization token of the organization
	// (Resource "") or for an organization-scoped API token (Resource
	// set). It needs ScopeOrganizations in LogtoConfig.Scopes.
	OrganizationID string
	// Scopes, when not empty, narrows the token to these scopes: Logto
	// issues the token with the scopes among them that it would grant
	// anyway, and never more. Each must be one of the scopes the client
	// requests at sign-in (LogtoConfig.Scopes and the reserved ones),
	// ErrScopeNotConfigured otherwise; a scope the user's grant does not
	// hold is refused by Logto with ErrScopeNotGranted. Either way nothing
	// is spent and the session is left as it was. A narrowed token is
	// cached apart from the full one: neither ever answers for the other.
	// For the default token, list ScopeOpenID too if the token is to call
	// the user info endpoint.
	Scopes []string
	// ForceRefresh skips the cache: the token returned was obtained by a
	// refresh request sent after the call began, so it carries the user's
	// roles and organization memberships as Logto sees them now (Logto
	// reads them again at every refresh), within the scopes the user
	// consented to at sign-in: a role taken away drops its scopes, a scope
	// the user did not have at sign-in appears only after a new sign-in
	// (both checked against the real server). The new token replaces the
	// cached one. Callers asking at the same time still share one request,
	// as long as it was sent after each of them began.
	ForceRefresh bool
}

// scopeKeyMarker separates the narrowed scope in a cache key (see
// StorageKeyAccessTokens).
const scopeKeyMarker = "#scope="

// GetAccessTokenWith returns the access token req describes. With a zero
// AccessTokenRequest beyond Resource it is GetAccessToken(ctx, Resource);
// with OrganizationID it is GetOrganizationToken or
// GetOrganizationAccessToken. Like them, it refreshes the token only when
// needed (or when ForceRefresh asks for it), with one request however many
// goroutines and views of the session ask at once, and it follows the
// rotations of the refresh token: a refresh token is never spent twice.
//
// After the user's roles change, a cached token still carries the scopes
// it was issued with until it expires: ForceRefresh gets one that does not.
// Logto grants at refresh only scopes the grant made at sign-in holds, so
// a role that brings an API scope the user did not have at sign-in shows
// in tokens only after a new sign-in; organization scopes, granted up
// front, and removed roles show at the next refresh.
func (c *LogtoClient) GetAccessTokenWith(ctx context.Context, req AccessTokenRequest) (string, error) {
	key, err := c.requestKey(req)
	if err != nil {
		return "", err
	}
	if req.ForceRefresh {
		key.since = c.core.set.now()
	}
	t, err := c.accessToken(ctx, key)
	if err != nil {
		var oe *OAuthError
		if key.scope != "" && errors.As(err, &oe) && oe.Code == "invalid_scope" {
			return "", fmt.Errorf("%w: %w", ErrScopeNotGranted, err)
		}
		return "", err
	}
	return t.Token, nil
}

// requestKey checks req and returns the cache key it names.
func (c *LogtoClient) requestKey(req AccessTokenRequest) (tokenKey, error) {
	key := tokenKey{resource: req.Resource, organizationID: req.OrganizationID}
	if req.OrganizationID != "" {
		if err := c.checkOrganization(req.OrganizationID); err != nil {
			return tokenKey{}, err
		}
	}
	if len(req.Scopes) > 0 {
		scope, err := c.narrowedScope(req.Scopes)
		if err != nil {
			return tokenKey{}, err
		}
		key.scope = scope
	}
	return key, nil
}

// narrowedScope checks the scopes of a narrowed request and returns them
// sorted, without duplicates, joined by spaces: one cache key and one
// scope parameter however the caller ordered them.
func (c *LogtoClient) narrowedScope(scopes []string) (string, error) {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !validScopeToken(s) {
			return "", fmt.Errorf("%w: scope %q is not a valid scope token", ErrInvalidConfig, s)
		}
		if !contains(c.core.cfg.Scopes, s) {
			return "", fmt.Errorf("%w: %q (add it to LogtoConfig.Scopes, and sign in again so that the grant includes it)", ErrScopeNotConfigured, s)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), " "), nil
}

// validScopeToken reports whether s is an RFC 6749 scope-token: one or
// more printable ASCII characters other than space, '"' and '\'.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b > '~' || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}

// ClearAccessTokens drops the session's cached access tokens (default, API
// resource and organization tokens, narrowed or not) and keeps its ID
// token and refresh token: the user stays signed in, and the next call
// for each token refreshes it. The results of refreshes this client (and
// its views) obtained just before are forgotten as well, so that they do
// not answer instead, and a refresh in flight on the session's refresh
// token hands its token to the caller that sent it but does not cache it.
// A view working on another copy of the session's storage at that moment
// may still cache what it obtained: to be sure one token reflects a change
// of the user's roles, use GetAccessTokenWith with ForceRefresh.
//
// A storage failure leaves the cache as it was (ErrStorage).
func (c *LogtoClient) ClearAccessTokens(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rt, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err != nil {
		return fmt.Errorf("%w: read %s: %w", ErrStorage, StorageKeyRefreshToken, err)
	}
	if rt != "" {
		c.core.recent.forget(rt)
	}
	if err := c.storage.Delete(ctx, StorageKeyAccessTokens); err != nil {
		return fmt.Errorf("%w: delete %s: %w", ErrStorage, StorageKeyAccessTokens, err)
	}
	return nil
}
