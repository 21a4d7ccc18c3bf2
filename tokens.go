package logto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// cachedToken is one entry of the access-token cache
// (StorageKeyAccessTokens).
type cachedToken struct {
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expiresAt"` // unix seconds, the token's real expiry
	Scope     string `json:"scope,omitempty"`
}

// decodedTokens is a decoded StorageKeyAccessTokens value.
type decodedTokens struct {
	raw     string
	entries map[string]cachedToken
}

func encodeTokens(entries map[string]cachedToken) string {
	if len(entries) == 0 {
		return ""
	}
	b, _ := json.Marshal(entries)
	return string(b)
}

// tokenKey names one cached access token.
type tokenKey struct {
	resource       string
	organizationID string
}

// String returns the cache key documented at StorageKeyAccessTokens.
func (k tokenKey) String() string {
	switch {
	case k.organizationID == "":
		return k.resource
	case k.resource == "":
		return OrganizationURNPrefix + k.organizationID
	}
	return k.resource + "#" + OrganizationURNPrefix + k.organizationID
}

func (c *core) newCachedToken(tr *tokenResponse) cachedToken {
	return cachedToken{
		Token:     tr.AccessToken,
		ExpiresAt: c.set.now().Unix() + int64(tr.ExpiresIn),
		Scope:     tr.Scope,
	}
}

// fresh reports whether t may still be used, refreshing it the early-expiry
// window before it expires.
func (c *core) fresh(t cachedToken, now time.Time) bool {
	return t.Token != "" && now.Add(c.set.earlyExpiry).Unix() < t.ExpiresAt
}

// tokens decodes the access-token cache of the session, through the view's
// and the client's caches of decoded values.
func (c *LogtoClient) tokens(ctx context.Context) (*decodedTokens, error) {
	raw, err := c.storage.Get(ctx, StorageKeyAccessTokens)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrStorage, StorageKeyAccessTokens, err)
	}
	if d := c.lastTokens.Load(); d != nil && d.raw == raw {
		return d, nil
	}
	d, ok := c.core.tokenCache.get(raw)
	if !ok {
		d = &decodedTokens{raw: raw}
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &d.entries); err != nil {
				return nil, fmt.Errorf("%w: %s holds an unreadable value: %w", ErrStorage, StorageKeyAccessTokens, err)
			}
		}
		c.core.tokenCache.put(raw, d)
	}
	c.lastTokens.Store(d)
	return d, nil
}

// GetAccessToken returns an access token for the API resource (a JWT whose
// audience is resource), or the default opaque token for Logto's user info
// endpoint when resource is "". A cached token is returned while it is
// fresh; otherwise it is refreshed with the refresh token, one request
// however many goroutines ask at once. ErrSessionExpired means the user
// must sign in again.
func (c *LogtoClient) GetAccessToken(ctx context.Context, resource string) (string, error) {
	t, err := c.accessToken(ctx, tokenKey{resource: resource})
	return t.Token, err
}

// GetAccessTokenClaims decodes (without verifying) the access token for
// resource; it must be a JWT, as API resource tokens are.
func (c *LogtoClient) GetAccessTokenClaims(ctx context.Context, resource string) (AccessTokenClaims, error) {
	tok, err := c.GetAccessToken(ctx, resource)
	if err != nil {
		return AccessTokenClaims{}, err
	}
	return decodeAccessToken(tok)
}

func (c *LogtoClient) accessToken(ctx context.Context, key tokenKey) (cachedToken, error) {
	d, err := c.tokens(ctx)
	if err != nil {
		return cachedToken{}, err
	}
	if t, ok := d.entries[key.String()]; ok && c.core.fresh(t, c.core.set.now()) {
		return t, nil
	}
	return c.refresh(ctx, key)
}

// refresh fetches a new access token for key with the session's refresh
// token and stores what the response carried.
func (c *LogtoClient) refresh(ctx context.Context, key tokenKey) (cachedToken, error) {
	rt, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err != nil {
		return cachedToken{}, fmt.Errorf("%w: read %s: %w", ErrStorage, StorageKeyRefreshToken, err)
	}
	if rt == "" {
		return cachedToken{}, ErrNotAuthenticated
	}
	var previous *IdTokenClaims
	raw, err := c.storage.Get(ctx, StorageKeyIDToken)
	if err != nil {
		return cachedToken{}, fmt.Errorf("%w: read %s: %w", ErrStorage, StorageKeyIDToken, err)
	}
	if raw != "" {
		// An unreadable ID token would let the refreshed one change user.
		d, err := c.idClaims(raw)
		if err != nil {
			return cachedToken{}, err
		}
		previous = &d.claims
	}
	res, err := c.core.refreshShared(ctx, rt, key, previous)
	if isInvalidGrant(err) {
		// Another view of this session may have rotated the refresh token
		// meanwhile: the session is over only if ours is still current.
		if cur, gerr := c.storage.Get(ctx, StorageKeyRefreshToken); gerr == nil && cur != "" && cur != rt {
			rt = cur
			res, err = c.core.refreshShared(ctx, cur, key, previous)
		}
		if isInvalidGrant(err) {
			if cerr := c.clearTokens(ctx); cerr != nil {
				return cachedToken{}, fmt.Errorf("%w: %w (clearing tokens: %w)", ErrSessionExpired, err, cerr)
			}
			return cachedToken{}, fmt.Errorf("%w: %w", ErrSessionExpired, err)
		}
	}
	if err != nil {
		return cachedToken{}, err
	}
	entry := cachedToken{
		Token:     res.resp.AccessToken,
		ExpiresAt: res.at.Unix() + int64(res.resp.ExpiresIn),
		Scope:     res.resp.Scope,
	}
	if err := c.storeRefresh(ctx, key, entry, res, rt); err != nil {
		return cachedToken{}, err
	}
	return entry, nil
}

func isInvalidGrant(err error) bool {
	var oe *OAuthError
	return errors.As(err, &oe) && oe.Code == "invalid_grant"
}

// storeRefresh writes a refresh result: the refresh token valid after it
// first (the old one may be spent), then the new ID token, then the cache
// entry. A response without refresh_token keeps the refresh token used.
//
// read is the refresh token the caller read before refreshing. The result
// is stored only if the session still holds read, or a token rotated from
// read on the way to the result's: when another view stored a newer
// rotation first, or the session was signed out or signed in again
// meanwhile, storing would bring back a spent or foreign refresh token, so
// nothing is written (the access token is still returned).
func (c *LogtoClient) storeRefresh(ctx context.Context, key tokenKey, entry cachedToken, res *refreshResult, read string) error {
	resp := res.resp
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err == nil && cur != res.refreshToken && !c.core.recent.leadsTo(read, cur, res.refreshToken, c.core.set.now()) {
		return nil
	}
	if err != nil || cur != res.refreshToken {
		if err := c.storage.Set(ctx, StorageKeyRefreshToken, res.refreshToken); err != nil {
			return fmt.Errorf("%w: write %s: %w", ErrStorage, StorageKeyRefreshToken, err)
		}
	}
	if resp.IDToken != "" {
		if err := c.storage.Set(ctx, StorageKeyIDToken, resp.IDToken); err != nil {
			return fmt.Errorf("%w: write %s: %w", ErrStorage, StorageKeyIDToken, err)
		}
	}
	d, err := c.tokens(ctx)
	entries := make(map[string]cachedToken, 1)
	if err == nil {
		now := c.core.set.now().Unix()
		for k, v := range d.entries {
			if v.ExpiresAt > now {
				entries[k] = v
			}
		}
	}
	entries[key.String()] = entry
	raw := encodeTokens(entries)
	if err := c.storage.Set(ctx, StorageKeyAccessTokens, raw); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrStorage, StorageKeyAccessTokens, err)
	}
	return nil
}

// clearTokens removes every token of the session.
func (c *LogtoClient) clearTokens(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, k := range []string{StorageKeyIDToken, StorageKeyRefreshToken, StorageKeyAccessTokens} {
		if err := c.storage.Delete(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("%w: delete %s: %w", ErrStorage, k, err))
		}
	}
	return errors.Join(errs...)
}
