package logto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// FetchUserInfo calls Logto's user info endpoint with the default access
// token (refreshed when needed) and returns every claim of the granted
// scopes, including those ID tokens leave out (custom_data, identities,
// organization_data). The response's sub must be the session's user
// (ErrSubjectMismatch otherwise).
func (c *LogtoClient) FetchUserInfo(ctx context.Context) (UserInfo, error) {
	m, err := c.core.provider(ctx)
	if err != nil {
		return UserInfo{}, err
	}
	if m.UserinfoEndpoint == "" {
		return UserInfo{}, fmt.Errorf("%w: provider has no userinfo_endpoint", ErrDiscovery)
	}
	// The session's user, read first: the response is checked against it,
	// and without it no request is made.
	raw, err := c.getRequired(ctx, StorageKeyIDToken)
	if err != nil {
		return UserInfo{}, err
	}
	d, err := c.idClaims(raw)
	if err != nil {
		return UserInfo{}, err
	}
	token, err := c.GetAccessToken(ctx, "")
	if err != nil {
		return UserInfo{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.UserinfoEndpoint, nil)
	if err != nil {
		return UserInfo{}, wrapf(err, "user info request")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	a, err := c.core.send(req)
	if err != nil {
		return UserInfo{}, wrapf(err, "user info request")
	}
	var ui userInfoAnswer
	ui.arm()
	if err := decodeAnswer(a, "userinfo", &ui, func() bool { return ui.Error != nil }); err != nil {
		return UserInfo{}, err
	}
	info := ui.userInfo()
	info.raw = a.body
	if strings.TrimSpace(info.Subject) == "" {
		return UserInfo{}, fmt.Errorf("%w: user info has no sub", ErrInvalidResponse)
	}
	if d.claims.Subject != info.Subject {
		return UserInfo{}, fmt.Errorf("%w: user info is about another user than the ID token", ErrSubjectMismatch)
	}
	return info, nil
}

// userInfoAnswer decodes a user info body in one pass, with its error
// member, if any (see decodeAnswer).
//
// The structured claims (address, identities, SSO identities,
// organization data) would each be scanned twice through
// Claim.UnmarshalJSON, which can only hand their bytes to json.Unmarshal
// again. Here they are decoded in the outer pass instead: fields at depth
// zero take precedence over UserInfo's of the same JSON name, and a
// pointer to a nil pointer tells the three states apart (see slotClaim).
type userInfoAnswer struct {
	UserInfo
	Error json.RawMessage `json:"error"`

	Address          **Address             `json:"address"`
	Identities       **map[string]Identity `json:"identities"`
	SSOIdentities    **[]SSOIdentity       `json:"sso_identities"`
	OrganizationData **[]OrganizationData  `json:"organization_data"`

	address          *Address
	identities       *map[string]Identity
	ssoIdentities    *[]SSOIdentity
	organizationData *[]OrganizationData
}

// arm points each slot at its nil pointer before decoding.
func (a *userInfoAnswer) arm() {
	a.Address, a.Identities, a.SSOIdentities, a.OrganizationData =
		&a.address, &a.identities, &a.ssoIdentities, &a.organizationData
}

// userInfo moves the slots' claims into the UserInfo.
func (a *userInfoAnswer) userInfo() UserInfo {
	info := a.UserInfo
	info.Address = slotClaim(a.Address)
	info.Identities = slotClaim(a.Identities)
	info.SSOIdentities = slotClaim(a.SSOIdentities)
	info.OrganizationData = slotClaim(a.OrganizationData)
	return info
}

// slotClaim reads an armed slot after decoding: encoding/json sets it to
// nil for null, leaves it alone when the member is absent, and otherwise
// allocates the inner value and decodes into it.
func slotClaim[T any](slot **T) Claim[T] {
	switch {
	case slot == nil:
		return Claim[T]{state: claimNull}
	case *slot == nil:
		return Claim[T]{}
	}
	return Claim[T]{value: **slot, state: claimSet}
}
