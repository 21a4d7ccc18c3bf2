package logto

import (
	"context"
	"fmt"
	"strings"
)

// OrganizationURNPrefix starts the audience of an organization token:
// organization id's token has the audience OrganizationURNPrefix + id, and
// the organization of such an audience is what follows the prefix.
const OrganizationURNPrefix = "urn:logto:organization:"

// GetOrganizationToken returns an organization token for organizationID:
// a JWT whose audience is "urn:logto:organization:<id>" and whose scopes
// are the user's organization-role scopes that were requested: list the
// organization permissions (e.g. "read:members") in LogtoConfig.Scopes, or
// the token carries none. It needs ScopeOrganizations in LogtoConfig.Scopes
// (ErrOrganizationScopeRequired otherwise), and no API resource: the
// reserved organizations resource is requested at sign-in with that scope.
// Tokens are cached per organization and refreshed like GetAccessToken's.
// Logto answers a non-member with 403 access_denied (an *OAuthError).
func (c *LogtoClient) GetOrganizationToken(ctx context.Context, organizationID string) (string, error) {
	if err := c.checkOrganization(organizationID); err != nil {
		return "", err
	}
	t, err := c.accessToken(ctx, tokenKey{organizationID: organizationID})
	return t.Token, err
}

// GetOrganizationTokenClaims decodes (without verifying) the organization
// token of organizationID.
func (c *LogtoClient) GetOrganizationTokenClaims(ctx context.Context, organizationID string) (AccessTokenClaims, error) {
	tok, err := c.GetOrganizationToken(ctx, organizationID)
	if err != nil {
		return AccessTokenClaims{}, err
	}
	return decodeAccessToken(tok)
}

// GetOrganizationAccessToken returns an organization-scoped token for an
// API resource: a JWT whose audience is resource and that carries an
// organization_id claim. Its scopes are not narrowed to the organization:
// Logto grants the requested scopes of resource that the user's global
// roles grant plus those the user's roles in organizationID grant, so an
// API must not read the token's scopes as organization permissions alone.
// It needs ScopeOrganizations, and resource among LogtoConfig.Resources:
// any other resource is refused with ErrResourceNotConfigured before a
// request is sent (see GetAccessToken). Tokens are cached per organization
// and resource, and refreshed like GetAccessToken's.
func (c *LogtoClient) GetOrganizationAccessToken(ctx context.Context, organizationID, resource string) (string, error) {
	if err := c.checkOrganization(organizationID); err != nil {
		return "", err
	}
	if resource == "" {
		return "", fmt.Errorf("%w: an API resource is required", ErrInvalidConfig)
	}
	t, err := c.accessToken(ctx, tokenKey{resource: resource, organizationID: organizationID})
	return t.Token, err
}

// GetOrganizationAccessTokenClaims decodes (without verifying) the token of
// GetOrganizationAccessToken.
func (c *LogtoClient) GetOrganizationAccessTokenClaims(ctx context.Context, organizationID, resource string) (AccessTokenClaims, error) {
	tok, err := c.GetOrganizationAccessToken(ctx, organizationID, resource)
	if err != nil {
		return AccessTokenClaims{}, err
	}
	return decodeAccessToken(tok)
}

func (c *LogtoClient) checkOrganization(organizationID string) error {
	if !contains(c.core.cfg.Scopes, ScopeOrganizations) {
		return ErrOrganizationScopeRequired
	}
	if organizationID == "" {
		return fmt.Errorf("%w: an organization ID is required", ErrInvalidConfig)
	}
	if strings.ContainsAny(organizationID, "# \t\r\n") {
		// It would make cache keys ambiguous (StorageKeyAccessTokens).
		return fmt.Errorf("%w: organization ID %q contains '#' or white space", ErrInvalidConfig, organizationID)
	}
	return nil
}
