package logto

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// SignOut ends the session: it revokes the refresh token at Logto's
// revocation endpoint (best effort: a failure is logged, not returned),
// removes every token and pending sign-in from storage, and returns Logto's
// end-session URL to redirect the user to, with client_id,
// post_logout_redirect_uri (when not empty) and id_token_hint (when an ID
// token was held). Storage is cleared even when discovery fails.
func (c *LogtoClient) SignOut(ctx context.Context, postLogoutRedirectURI string) (string, error) {
	idToken, _ := c.storage.Get(ctx, StorageKeyIDToken)
	rt, _ := c.storage.Get(ctx, StorageKeyRefreshToken)
	m, discErr := c.core.provider(ctx)
	if discErr == nil && rt != "" && m.RevocationEndpoint != "" {
		if err := c.core.revoke(ctx, m, rt); err != nil {
			c.core.logger.WarnContext(ctx, "logto: refresh token revocation failed", "error", err)
		}
	}
	clearErr := c.clearTokens(ctx)
	if err := c.storage.Delete(ctx, StorageKeySignInSession); err != nil {
		clearErr = errors.Join(clearErr, storageErr("delete", StorageKeySignInSession, err))
	}
	if clearErr != nil {
		return "", clearErr
	}
	if discErr != nil {
		return "", discErr
	}
	if m.EndSessionEndpoint == "" {
		return "", ErrNoEndSessionEndpoint
	}
	u, err := url.Parse(m.EndSessionEndpoint)
	if err != nil {
		return "", fmt.Errorf("%w: end_session_endpoint: %w", ErrDiscovery, err)
	}
	var q queryBuilder
	q.add("client_id", c.core.cfg.AppId)
	q.add("post_logout_redirect_uri", postLogoutRedirectURI)
	q.add("id_token_hint", idToken)
	enc := q.encode()
	if u.RawQuery != "" {
		enc = u.RawQuery + "&" + enc
	}
	u.RawQuery = enc
	return u.String(), nil
}

// revoke revokes a refresh token (RFC 7009) with client authentication.
func (c *core) revoke(ctx context.Context, m *providerMeta, token string) error {
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	a, err := c.sendForm(ctx, m.RevocationEndpoint, form)
	if err != nil {
		return wrapf(err, "revocation request")
	}
	return checkAnswer(a, "revocation")
}
