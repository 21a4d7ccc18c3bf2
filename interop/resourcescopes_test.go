package interop

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
)

// TestAPITokenScopesFromAllRoles follows Logto 1.42's
// findUserScopesForResourceIndicator (called with findFromOrganizations):
// a user's API token carries the requested scopes that the user holds
// through user roles plus those of organization roles, the roles of every
// organization for a plain API token and of the named organization for an
// organization-scoped one (resource + organization_id). The user roles'
// scopes stay: an organization-scoped token is not narrowed to the
// organization. alice holds user role admin (read:data write:data) and org
// role member in org-1 (read:data); carol holds no user role and member in
// org-1; bob holds nothing.
func TestAPITokenScopesFromAllRoles(t *testing.T) {
	endpoint(t)
	ctx := context.Background()
	withoutWrite := slices.DeleteFunc(slices.Clone(allScopes), func(s string) bool { return s == "write:data" })

	for _, tc := range []struct {
		name, user, org string
		scopes          []string // LogtoConfig.Scopes; allScopes when nil
		want            []string
	}{
		{"alice plain", "alice", "", nil, []string{"read:data", "write:data"}},
		{"alice in org-1 keeps her user role's scopes", "alice", "org-1", nil, []string{"read:data", "write:data"}},
		{"alice in org-1 without write:data requested", "alice", "org-1", withoutWrite, []string{"read:data"}},
		{"carol plain, from her organization role", "carol", "", nil, []string{"read:data"}},
		{"carol in org-1, from her organization role", "carol", "org-1", nil, []string{"read:data"}},
		{"bob plain, no role at all", "bob", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := webConfig(t)
			if tc.scopes != nil {
				cfg.Scopes = tc.scopes
			}
			client := newClient(t, cfg, nil)
			signIn(t, client, newBrowser(t), logto.SignInOptions{LoginHint: tc.user})

			var tok string
			var c logto.AccessTokenClaims
			var err error
			if tc.org == "" {
				tok = mustToken(t)(client.GetAccessToken(ctx, apiResource))
				c, err = client.GetAccessTokenClaims(ctx, apiResource)
			} else {
				tok = mustToken(t)(client.GetOrganizationAccessToken(ctx, tc.org, apiResource))
				c, err = client.GetOrganizationAccessTokenClaims(ctx, tc.org, apiResource)
			}
			require.NoError(t, err)
			assert.ElementsMatch(t, tc.want, c.Scopes())
			assert.Equal(t, tc.org, c.OrganizationID)
			assert.Equal(t, logto.Audience{apiResource}, c.Audience)

			// The provider signed exactly that (not just what the SDK decoded).
			raw := verifyAccessToken(t, tok)
			if tc.org == "" {
				assert.NotContains(t, raw, "organization_id")
			} else {
				assert.Equal(t, tc.org, raw["organization_id"])
			}
		})
	}
}
