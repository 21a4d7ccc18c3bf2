package apiauth

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gologto/logto"
)

// Claims are the claims of a verified access token.
type Claims struct {
	logto.AccessTokenClaims
	raw          json.RawMessage
	introspected bool
}

// Introspected reports whether the token was opaque and its claims are
// those of Logto's introspection answer (see Config.Introspection), not
// of a JWT verified locally. Claims(v) then decodes the answer.
func (c *Claims) Introspected() bool { return c.introspected }

// Claims decodes the token's whole payload into v, for custom claims (for
// example those a Logto JWT customizer adds).
func (c *Claims) Claims(v any) error {
	if len(c.raw) == 0 {
		return errors.New("apiauth: no claims to decode")
	}
	return json.Unmarshal(c.raw, v)
}

// IsOrganizationToken reports whether the token is an organization token
// (audience "urn:logto:organization:<id>") and returns the organization.
func (c *Claims) IsOrganizationToken() (string, bool) {
	for _, a := range c.Audience {
		if len(a) > len(logto.OrganizationURNPrefix) && a[:len(logto.OrganizationURNPrefix)] == logto.OrganizationURNPrefix {
			return a[len(logto.OrganizationURNPrefix):], true
		}
	}
	return "", false
}

type ctxKey struct{}

// NewContext returns ctx carrying c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the claims Middleware verified for this request.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}
