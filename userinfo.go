package logto

import (
	"context"
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
	if err := decodeAnswer(a, "userinfo", &ui, func() bool { return ui.Error != nil }); err != nil {
		return UserInfo{}, err
	}
	info := ui.UserInfo
	info.raw = a.body
	if strings.TrimSpace(info.Subject) == "" {
		return UserInfo{}, fmt.Errorf("%w: user info has no sub", ErrInvalidResponse)
	}
	if d.claims.Subject != info.Subject {
		return UserInfo{}, fmt.Errorf("%w: user info is about another user than the ID token", ErrSubjectMismatch)
	}
	return info, nil
}
