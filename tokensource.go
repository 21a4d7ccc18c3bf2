package logto

import (
	"context"

	"golang.org/x/oauth2"
)

// TokenSource adapts the user's access token for resource to
// oauth2.TokenSource, so that oauth2.NewClient(ctx, ts) calls the API with
// a token that refreshes itself:
//
//	ts := client.TokenSource(r.Context(), "https://api.example.com")
//	resp, err := oauth2.NewClient(r.Context(), ts).Get("https://api.example.com/data")
//
// oauth2's interface has no context, so Token uses ctx for the refresh
// request and storage calls: build the source per request with the
// request's context. Token's Expiry is when the SDK itself would renew the
// token: moved earlier by the early-expiry window, at most half the
// token's lifetime.
func (c *LogtoClient) TokenSource(ctx context.Context, resource string) oauth2.TokenSource {
	return userSource{ctx: ctx, c: c, key: tokenKey{resource: resource}}
}

// OrganizationTokenSource is TokenSource for the organization token of
// organizationID (see GetOrganizationToken).
func (c *LogtoClient) OrganizationTokenSource(ctx context.Context, organizationID string) oauth2.TokenSource {
	return userSource{ctx: ctx, c: c, key: tokenKey{organizationID: organizationID}, org: true}
}

// OrganizationAccessTokenSource is TokenSource for the organization-scoped
// API token of GetOrganizationAccessToken.
func (c *LogtoClient) OrganizationAccessTokenSource(ctx context.Context, organizationID, resource string) oauth2.TokenSource {
	return userSource{ctx: ctx, c: c, key: tokenKey{resource: resource, organizationID: organizationID}, org: true}
}

type userSource struct {
	ctx context.Context
	c   *LogtoClient
	key tokenKey
	org bool
}

func (s userSource) Token() (*oauth2.Token, error) {
	if s.org {
		if err := s.c.checkOrganization(s.key.organizationID); err != nil {
			return nil, err
		}
	}
	t, err := s.c.accessToken(s.ctx, s.key)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{
		AccessToken: t.Token,
		TokenType:   "Bearer",
		Expiry:      t.renewAt(&s.c.core.set),
	}, nil
}
