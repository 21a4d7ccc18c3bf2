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
	// IssuedAtMs is when the request that obtained the token was sent, in
	// unix milliseconds: with ExpiresAt it gives the lifetime the token was
	// issued with, which bounds the early-expiry window. Zero (entries
	// written by older versions) means unknown.
	IssuedAtMs int64  `json:"issuedAtMs,omitempty"`
	Scope      string `json:"scope,omitempty"`
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
	// scope is the narrowed scope of the request (normalizeScopes), ""
	// for the scope the grant holds. It is part of the key: a narrowed
	// token never answers a request for the full scope, nor the reverse.
	scope string
	// since is not part of the key (String leaves it out): when set (a
	// forced refresh), only a token obtained by a request sent at or after
	// since answers, whether cached, just refreshed by another caller or
	// in flight.
	since time.Time
}

// String returns the cache key documented at StorageKeyAccessTokens.
func (k tokenKey) String() string {
	var base string
	switch {
	case k.organizationID == "":
		base = k.resource
	case k.resource == "":
		base = OrganizationURNPrefix + k.organizationID
	default:
		base = k.resource + "#" + OrganizationURNPrefix + k.organizationID
	}
	if k.scope != "" {
		return base + scopeKeyMarker + k.scope
	}
	return base
}

// accepts reports whether a token obtained by a request sent at may answer
// k: always, unless k is a forced refresh and the request was sent before
// it.
func (k tokenKey) accepts(at time.Time) bool {
	return k.since.IsZero() || !at.Before(k.since)
}

// acceptsEntry is accepts for a cached entry, whose request time is kept
// rounded down to the millisecond: the rounded time must not be before
// since, so an entry requested before since is never taken (one requested
// within since's millisecond but after it may be refused).
func (k tokenKey) acceptsEntry(t cachedToken) bool {
	return k.since.IsZero() || (t.IssuedAtMs > 0 && !time.UnixMilli(t.IssuedAtMs).Before(k.since))
}

// newCachedToken is the cache entry of a token response received now.
func (c *core) newCachedToken(tr *tokenResponse) cachedToken {
	return tokenEntry(tr, c.set.now())
}

// tokenEntry is the cache entry of a token response to a request sent at
// at. The expiry counts from at, truncated to the second like the token's
// own exp, so it is never later than the real one.
func tokenEntry(tr *tokenResponse, at time.Time) cachedToken {
	return cachedToken{
		Token:      tr.AccessToken,
		ExpiresAt:  at.Unix() + int64(tr.ExpiresIn),
		IssuedAtMs: at.UnixMilli(),
		Scope:      tr.Scope,
	}
}

// renewAt returns when a token valid from issued until expiry is due for
// renewal: the early-expiry window before its expiry, but at most half of
// its lifetime, so that a token living less than twice the window is still
// used for its first half rather than renewed on every call. It is never
// after expiry. A zero issued means the lifetime is unknown: the whole
// window applies.
func (s *settings) renewAt(issued, expiry time.Time) time.Time {
	var issuedMs int64
	if !issued.IsZero() {
		issuedMs = issued.UnixMilli()
	}
	return time.UnixMilli(s.renewAtMs(issuedMs, expiry.UnixMilli()))
}

// renewAtMs is the rule of renewAt in unix milliseconds (issuedMs 0 for
// unknown), in integer arithmetic: the cached paths check it on every
// call.
func (s *settings) renewAtMs(issuedMs, expiryMs int64) int64 {
	window := s.earlyExpiry.Milliseconds()
	if issuedMs > 0 {
		if half := (expiryMs - issuedMs) / 2; half < window {
			window = max(half, 0)
		}
	}
	return expiryMs - window
}

// renewAt is when t is due for renewal (see settings.renewAt).
func (t cachedToken) renewAt(s *settings) time.Time {
	return time.UnixMilli(t.renewAtMs(s))
}

// renewAtMs is renewAt in unix milliseconds. The stored times are
// clamped to [0, 2^50 s] first, so that a corrupt entry cannot overflow the
// arithmetic (it is then merely stale, or fresh for ages, as its value says).
func (t cachedToken) renewAtMs(s *settings) int64 {
	const maxSeconds = 1 << 50
	return s.renewAtMs(min(max(t.IssuedAtMs, 0), maxSeconds*1000), min(max(t.ExpiresAt, 0), maxSeconds)*1000)
}

// fresh reports whether t may still be used: it is not yet due for
// renewal, hence not expired either.
func (c *core) fresh(t cachedToken, now time.Time) bool {
	return t.Token != "" && now.UnixMilli() < t.renewAtMs(&c.set)
}

// idTokenDue reports whether the session's ID token (nil when it has none)
// is due for renewal by the same rule as access tokens: a refresh then
// verifies and stores the ID token of its response.
func (c *core) idTokenDue(id *IdTokenClaims, now time.Time) bool {
	if id == nil || id.Expiry == 0 || id.IssuedAt == 0 {
		return true
	}
	return !now.Before(c.set.renewAt(id.IssuedAt.Time(), id.Expiry.Time()))
}

// tokens decodes the access-token cache of the session, through the view's
// and the client's caches of decoded values.
func (c *LogtoClient) tokens(ctx context.Context) (*decodedTokens, error) {
	raw, err := c.storage.Get(ctx, StorageKeyAccessTokens)
	if err != nil {
		return nil, storageErr("read", StorageKeyAccessTokens, err)
	}
	if d := c.lastTokens.Load(); d != nil && d.raw == raw {
		return d, nil
	}
	d, ok := c.core.tokenCache.get(raw)
	if !ok {
		d = &decodedTokens{raw: raw}
		if raw != "" {
			if err := json.Unmarshal([]byte(raw), &d.entries); err != nil {
				return nil, storageErr("decode", StorageKeyAccessTokens, err)
			}
		}
		c.core.tokenCache.put(raw, d)
	}
	c.lastTokens.Store(d)
	return d, nil
}

// GetAccessToken returns an access token for the API resource (a JWT whose
// audience is resource), or the default opaque token for Logto's user info
// endpoint when resource is "". resource must be one of
// LogtoConfig.Resources: any other is refused with ErrResourceNotConfigured
// before a request is sent (Logto would spend, and for a public client
// rotate, the refresh token before refusing the resource, and the session
// would be lost).
//
// A cached token is returned while it is fresh: until the early-expiry
// window before its expiry (WithEarlyExpiry), a window never longer than
// half the lifetime the token was issued with, so a short-lived token is
// used too and never handed out past its expiry. Otherwise it is
// refreshed with the refresh token: one request however many goroutines
// and views of the session ask at once. ErrSessionExpired means the user
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
	if err := c.core.checkResource(key.resource); err != nil {
		return cachedToken{}, err
	}
	if t, ok, err := c.cachedFresh(ctx, key); err != nil || ok {
		return t, err
	}
	return c.refresh(ctx, key)
}

// cachedFresh returns the session's cached token for key if it is fresh
// (and, for a forced refresh, obtained after the call began).
func (c *LogtoClient) cachedFresh(ctx context.Context, key tokenKey) (cachedToken, bool, error) {
	d, err := c.tokens(ctx)
	if err != nil {
		return cachedToken{}, false, err
	}
	if t, ok := d.entries[key.String()]; ok && c.core.fresh(t, c.core.set.now()) && key.acceptsEntry(t) {
		return t, true, nil
	}
	return cachedToken{}, false, nil
}

// refresh fetches a new access token for key with the session's refresh
// token and stores what the response carried.
func (c *LogtoClient) refresh(ctx context.Context, key tokenKey) (cachedToken, error) {
	rt, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err != nil {
		return cachedToken{}, storageErr("read", StorageKeyRefreshToken, err)
	}
	if rt == "" {
		return cachedToken{}, ErrNotAuthenticated
	}
	var previous *IdTokenClaims
	raw, err := c.storage.Get(ctx, StorageKeyIDToken)
	if err != nil {
		return cachedToken{}, storageErr("read", StorageKeyIDToken, err)
	}
	if raw != "" {
		// An unreadable ID token would let the refreshed one change user.
		d, err := c.idClaims(raw)
		if err != nil {
			return cachedToken{}, err
		}
		previous = &d.claims
	}
	t, err := c.refreshShared(ctx, rt, key, previous)
	if isInvalidGrant(err) {
		// Another view of this session may have rotated the refresh token
		// meanwhile: the session is over only if ours is still current.
		if cur, gerr := c.storage.Get(ctx, StorageKeyRefreshToken); gerr == nil && cur != "" && cur != rt {
			t, err = c.refreshShared(ctx, cur, key, previous)
		}
		if isInvalidGrant(err) {
			if cerr := c.clearTokens(ctx); cerr != nil {
				return cachedToken{}, fmt.Errorf("%w: %w (clearing tokens: %w)", ErrSessionExpired, err, cerr)
			}
			return cachedToken{}, fmt.Errorf("%w: %w", ErrSessionExpired, err)
		}
	}
	return t, err
}

func isInvalidGrant(err error) bool {
	if err == nil {
		return false
	}
	var oe *OAuthError
	return errors.As(err, &oe) && oe.Code == "invalid_grant"
}

// storeResult checks the ID token of a refresh result against the
// session's (previous) and stores the result in this view's storage. It
// runs for every caller the result answers, first for the one that sent
// the request; for the others it usually finds everything stored already
// and writes nothing.
//
// The response's ID token is verified and stored only when the session's
// ID token is due for renewal (idTokenDue): a refresh for an API resource
// while the session's ID token is still fresh keeps that one, and costs no
// signature verification. Its iss and sub are still compared with the
// session's, so that a response for another user is refused either way.
func (c *LogtoClient) storeResult(ctx context.Context, key tokenKey, res *refreshResult, read string, previous *IdTokenClaims) (cachedToken, error) {
	idToken := ""
	if res.idToken != "" {
		if c.core.idTokenDue(previous, c.core.set.now()) {
			if err := res.verifyIDToken(ctx, c.core, previous); err != nil {
				if !isContextErr(err) {
					c.core.recent.refuse(key.String(), res)
				}
				return cachedToken{}, err
			}
			idToken = res.idToken
		} else if err := res.sameUser(previous); err != nil {
			c.core.recent.refuse(key.String(), res)
			return cachedToken{}, err
		}
	}
	if c.holds(ctx, key, res, idToken) {
		return res.entry, nil
	}
	// Views of one storage do not share a lock: the callers of one result
	// store it one at a time, so that on each storage the first writes and
	// the others find it there.
	res.storeMu.Lock()
	defer res.storeMu.Unlock()
	if c.holds(ctx, key, res, idToken) {
		return res.entry, nil
	}
	if err := c.storeRefresh(ctx, key, res, idToken, read); err != nil {
		return cachedToken{}, err
	}
	return res.entry, nil
}

// holds reports, without taking the view's lock, whether the storage
// already holds the result (as when the caller that fetched it stored it
// there): then there is nothing to write, and the callers sharing a
// refresh do not queue for the lock one after the other.
func (c *LogtoClient) holds(ctx context.Context, key tokenKey, res *refreshResult, idToken string) bool {
	if rt, err := c.storage.Get(ctx, StorageKeyRefreshToken); err != nil || rt != res.refreshToken {
		return false
	}
	if idToken != "" {
		if held, err := c.storage.Get(ctx, StorageKeyIDToken); err != nil || held != idToken {
			return false
		}
	}
	if res.cleared.Load() {
		return true // its access token is not cached
	}
	d, err := c.tokens(ctx)
	return err == nil && d.entries[key.String()] == res.entry
}

// storeRefresh writes a refresh result: the refresh token valid after it
// first (the old one may be spent), then idToken (when not ""), then the
// cache entry. A response without refresh_token keeps the refresh token
// used. A value the storage already holds is not written again, so a
// result stored by the view that fetched it costs its other callers on the
// same storage no write.
//
// read is the refresh token the caller read before refreshing. The result
// is stored only if the session still holds read, or a token rotated from
// read on the way to the result's: when another view stored a newer
// rotation first, or the session was signed out or signed in again
// meanwhile, storing would bring back a spent or foreign refresh token, so
// nothing is written (the access token is still returned).
func (c *LogtoClient) storeRefresh(ctx context.Context, key tokenKey, res *refreshResult, idToken, read string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, err := c.storage.Get(ctx, StorageKeyRefreshToken)
	if err == nil && cur != res.refreshToken && !c.core.recent.leadsTo(read, cur, res.refreshToken, c.core.set.now()) {
		return nil
	}
	if err != nil || cur != res.refreshToken {
		if err := c.storage.Set(ctx, StorageKeyRefreshToken, res.refreshToken); err != nil {
			return storageErr("write", StorageKeyRefreshToken, err)
		}
	}
	if idToken != "" {
		if held, err := c.storage.Get(ctx, StorageKeyIDToken); err != nil || held != idToken {
			if err := c.storage.Set(ctx, StorageKeyIDToken, idToken); err != nil {
				return storageErr("write", StorageKeyIDToken, err)
			}
		}
	}
	if res.cleared.Load() {
		return nil // obtained before ClearAccessTokens: not cached
	}
	k := key.String()
	d, err := c.tokens(ctx)
	if err == nil && d.entries[k] == res.entry {
		return nil
	}
	entries := make(map[string]cachedToken, 1)
	if err == nil {
		now := c.core.set.now().Unix()
		for k, v := range d.entries {
			if v.ExpiresAt > now {
				entries[k] = v
			}
		}
	}
	entries[k] = res.entry
	raw := encodeTokens(entries)
	if err := c.storage.Set(ctx, StorageKeyAccessTokens, raw); err != nil {
		return storageErr("write", StorageKeyAccessTokens, err)
	}
	// The callers reading it next need not decode what was just encoded.
	nd := &decodedTokens{raw: raw, entries: entries}
	c.core.tokenCache.put(raw, nd)
	c.lastTokens.Store(nd)
	return nil
}

// clearTokens removes every token of the session.
func (c *LogtoClient) clearTokens(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, k := range []string{StorageKeyIDToken, StorageKeyRefreshToken, StorageKeyAccessTokens} {
		if err := c.storage.Delete(ctx, k); err != nil {
			errs = append(errs, storageErr("delete", k, err))
		}
	}
	return errors.Join(errs...)
}
