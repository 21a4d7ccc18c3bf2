package logto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
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

// refreshResult is what one refresh request produced.
type refreshResult struct {
	resp   *tokenResponse
	claims *IdTokenClaims // verified claims of resp.IDToken, if any
	at     time.Time
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
	if raw, err := c.storage.Get(ctx, StorageKeyIDToken); err == nil && raw != "" {
		if d, err := c.idClaims(raw); err == nil {
			previous = &d.claims
		}
	}
	res, err := c.core.refreshShared(ctx, rt, key, previous)
	if err != nil {
		var oe *OAuthError
		if errors.As(err, &oe) && oe.Code == "invalid_grant" {
			if cerr := c.clearTokens(ctx); cerr != nil {
				return cachedToken{}, fmt.Errorf("%w: %w (clearing tokens: %w)", ErrSessionExpired, err, cerr)
			}
			return cachedToken{}, fmt.Errorf("%w: %w", ErrSessionExpired, err)
		}
		return cachedToken{}, err
	}
	entry := cachedToken{
		Token:     res.resp.AccessToken,
		ExpiresAt: res.at.Unix() + int64(res.resp.ExpiresIn),
		Scope:     res.resp.Scope,
	}
	if err := c.storeRefresh(ctx, key, entry, res.resp); err != nil {
		return cachedToken{}, err
	}
	return entry, nil
}

// storeRefresh writes a refresh response: the rotated refresh token first
// (the old one may be spent), then the new ID token, then the cache entry.
// A response without refresh_token keeps the stored one.
func (c *LogtoClient) storeRefresh(ctx context.Context, key tokenKey, entry cachedToken, resp *tokenResponse) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if resp.RefreshToken != "" {
		if err := c.storage.Set(ctx, StorageKeyRefreshToken, resp.RefreshToken); err != nil {
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

// refreshShared sends the refresh request for (rt, key), shared by every
// concurrent caller with the same refresh token and key, across all views
// of the client. A result stays reusable for recentWindow, so a caller that
// read the old refresh token just before another rotated it does not spend
// it a second time (which Logto would treat as token reuse).
func (c *core) refreshShared(ctx context.Context, rt string, key tokenKey, previous *IdTokenClaims) (*refreshResult, error) {
	fk := rt + "\x00" + key.String()
	if r := c.recent.get(fk, c.set.now()); r != nil {
		return r, nil
	}
	for attempt := 0; ; attempt++ {
		r, err := c.refreshFlight(ctx, fk, rt, key, previous)
		// The shared request ran with the context of the caller that
		// started it; if that caller gave up, try again with ours.
		if err != nil && attempt == 0 && ctx.Err() == nil &&
			(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			continue
		}
		return r, err
	}
}

func (c *core) refreshFlight(ctx context.Context, fk, rt string, key tokenKey, previous *IdTokenClaims) (*refreshResult, error) {
	v, err, _ := c.flights.Do(fk, func() (any, error) {
		if r := c.recent.get(fk, c.set.now()); r != nil {
			return r, nil
		}
		r, err := c.doRefresh(ctx, rt, key, previous)
		if err != nil {
			return nil, err
		}
		c.recent.put(fk, r)
		if nrt := r.resp.RefreshToken; nrt != "" && nrt != rt {
			// A caller that already reads the rotated refresh token, but
			// not yet the new access token, gets this result too.
			c.recent.put(nrt+"\x00"+key.String(), r)
		}
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*refreshResult), nil
}

func (c *core) doRefresh(ctx context.Context, rt string, key tokenKey, previous *IdTokenClaims) (*refreshResult, error) {
	m, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
	}
	if key.resource != "" {
		form.Set("resource", key.resource)
	}
	if key.organizationID != "" {
		form.Set("organization_id", key.organizationID)
	}
	at := c.set.now()
	tr, err := c.postToken(ctx, m, form)
	if err != nil {
		return nil, wrapf(err, "refresh access token")
	}
	res := &refreshResult{resp: tr, at: at}
	if tr.IDToken != "" {
		claims, err := c.verifyIDToken(ctx, m, tr.IDToken, idTokenCheck{previous: previous})
		if err != nil {
			return nil, err
		}
		res.claims = &claims
		c.claimsCache.put(tr.IDToken, &decodedClaims{raw: tr.IDToken, claims: claims})
	}
	return res, nil
}

// recentWindow is how long a refresh result answers callers still holding
// the refresh token it spent.
const recentWindow = 10 * time.Second

// recentRefreshes remembers refresh results for recentWindow.
type recentRefreshes struct {
	mu sync.Mutex
	m  map[string]*refreshResult
}

func (r *recentRefreshes) get(k string, now time.Time) *refreshResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.m[k]
	if res == nil || now.Sub(res.at) > recentWindow || now.Before(res.at) {
		return nil
	}
	return res
}

func (r *recentRefreshes) put(k string, res *refreshResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]*refreshResult)
	}
	for old, v := range r.m {
		if res.at.Sub(v.at) > recentWindow {
			delete(r.m, old)
		}
	}
	r.m[k] = res
}
