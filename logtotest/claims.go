package logtotest

import "time"

// Logto's reserved user scopes with claims.
const (
	scopeOrganizations     = "urn:logto:scope:organizations"
	scopeOrganizationRoles = "urn:logto:scope:organization_roles"
)

// oidcScopes are the scopes of Logto's OIDC scope set (scopes_supported);
// opaque access tokens carry only these.
var oidcScopes = []string{
	"openid", "offline_access", "profile", "email", "phone", "address", "custom_data",
	"identities", "roles", scopeOrganizations, scopeOrganizationRoles,
	"urn:logto:scope:sessions", "urn:logto:scope:trusted_devices",
}

// supportedClaims is Logto's claims_supported.
var supportedClaims = []string{
	"sub", "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
	"username", "created_at", "email", "email_verified", "phone_number", "phone_number_verified",
	"address", "custom_data", "identities", "sso_identities", "roles", "organizations",
	"organization_data", "organization_roles", "sid", "auth_time", "iss",
}

// scopeClaimsLocked returns the user claims of the given scopes, following
// Logto's table: forIDToken leaves out the claims Logto only serves at
// userinfo by default (custom_data, identities, sso_identities,
// organization_data). u.Extra is merged last.
func (s *Server) scopeClaimsLocked(u *User, scopes []string, forIDToken bool) map[string]any {
	c := map[string]any{}
	for _, sc := range scopes {
		switch sc {
		case "profile":
			c["name"] = nullable(u.Name)
			c["username"] = nullable(u.Username)
			c["picture"] = nullable(u.Picture)
			if u.Username != "" {
				// Logto falls back to the username, and leaves the claim
				// out (not null) when there is none.
				c["preferred_username"] = u.Username
			}
			for k, v := range u.Profile {
				c[k] = v
			}
			c["created_at"] = u.CreatedAt.UnixMilli()
			c["updated_at"] = u.UpdatedAt.UnixMilli()
		case "email":
			c["email"] = nullable(u.Email)
			c["email_verified"] = u.Email != ""
		case "phone":
			c["phone_number"] = nullable(u.Phone)
			c["phone_number_verified"] = u.Phone != ""
		case "address":
			if u.Address != nil {
				c["address"] = u.Address
			}
		case "custom_data":
			if !forIDToken {
				c["custom_data"] = orEmpty(u.CustomData)
			}
		case "identities":
			if !forIDToken {
				c["identities"] = identitiesClaim(u.Identities)
				c["sso_identities"] = nonNilMaps(u.SSOIdentities)
			}
		case "roles":
			c["roles"] = nonNil(u.Roles)
		case scopeOrganizations:
			ids := []string{}
			data := []any{}
			for _, m := range u.Organizations {
				ids = append(ids, m.OrganizationID)
				o := s.orgs[m.OrganizationID]
				data = append(data, map[string]any{"id": m.OrganizationID, "name": o.Name, "description": nullable(o.Description)})
			}
			c["organizations"] = ids
			if !forIDToken {
				c["organization_data"] = data
			}
		case scopeOrganizationRoles:
			roles := []string{}
			for _, m := range u.Organizations {
				for _, r := range m.Roles {
					roles = append(roles, m.OrganizationID+":"+r)
				}
			}
			c["organization_roles"] = roles
		}
	}
	for k, v := range u.Extra {
		c[k] = v
	}
	return c
}

// idTokenClaimsLocked builds the claims of an ID token for g's user.
func (s *Server) idTokenClaimsLocked(u *User, g *grant, scopes []string) map[string]any {
	now := s.nowLocked()
	c := s.scopeClaimsLocked(u, scopes, true)
	c["iss"] = s.Issuer()
	c["sub"] = u.ID
	c["aud"] = g.clientID
	c["iat"] = now.Unix()
	c["exp"] = now.Add(s.opts.idTTL).Unix()
	for _, k := range []string{"auth_time", "sid", "nonce"} {
		delete(c, k) // protocol claims, even when absent (not from User.Extra)
	}
	if g.includeAuthTime {
		c["auth_time"] = g.authTime.Unix()
	}
	if g.sid != "" {
		c["sid"] = g.sid
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	return c
}

// jwtAccessTokenClaims builds the claims of a JWT access token. Without
// scopes the scope claim is left out, as oidc-provider does.
func (s *Server) jwtAccessTokenClaimsLocked(sub, clientID, aud string, scopes []string, ttl time.Duration) map[string]any {
	now := s.nowLocked()
	c := map[string]any{
		"jti":       randomToken(32),
		"sub":       sub,
		"iat":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"client_id": clientID,
		"iss":       s.Issuer(),
		"aud":       aud,
	}
	if len(scopes) > 0 {
		c["scope"] = joinScopes(scopes)
	}
	return c
}

func identitiesClaim(ids map[string]Identity) map[string]any {
	out := map[string]any{}
	for target, id := range ids {
		v := map[string]any{"userId": id.UserID}
		if id.Details != nil {
			v["details"] = id.Details
		}
		out[target] = v
	}
	return out
}

// nullable renders "" as JSON null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

func nonNilMaps(list []map[string]any) []map[string]any {
	if list == nil {
		return []map[string]any{}
	}
	return list
}
