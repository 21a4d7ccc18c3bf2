package logto

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"

	"github.com/gologto/logto/internal/httpx"
)

// LogtoClient signs users in with Logto and keeps their tokens in a
// Storage. It is safe for concurrent use.
//
// A LogtoClient has two halves: what is shared by every user of one Logto
// application (configuration, HTTP client, the discovered provider
// configuration, the JWKS, in-flight refreshes and decoded-token caches),
// and the Storage of one session. A web application creates one
// LogtoClient at start-up and, for each request, a cheap view bound to the
// request's session with WithStorage; views share the caches, so a request
// never fetches discovery or keys again:
//
//	base, err := logto.NewLogtoClient(cfg, nil)
//	...
//	func handler(w http.ResponseWriter, r *http.Request) {
//		client := base.WithStorage(sessionStorage(r))
//		if client.IsAuthenticated(r.Context()) { ... }
//	}
type LogtoClient struct {
	core    *core
	storage Storage

	// mu serialises this view's read-modify-write sequences on storage.
	mu sync.Mutex
	// last decoded values, keyed by the raw stored string.
	lastTokens atomic.Pointer[decodedTokens]
	lastClaims atomic.Pointer[decodedClaims]
}

// core is the part of a LogtoClient shared by all its views.
type core struct {
	cfg    LogtoConfig
	set    settings
	http   *http.Client
	issuer string
	logger *slog.Logger
	// scope is the scope parameter of sign-in, cfg.Scopes joined once.
	scope string

	meta    atomic.Pointer[providerMeta]
	flights singleflight.Group
	recent  recentRefreshes

	tokenCache  rawCache[*decodedTokens]
	claimsCache rawCache[*decodedClaims]
}

// NewLogtoClient validates config and returns a client that keeps session
// data in storage (a new MemoryStorage when nil). The caller's config is
// copied, never modified. No request is made until a method needs the
// provider's configuration.
func NewLogtoClient(config LogtoConfig, storage Storage, opts ...Option) (*LogtoClient, error) {
	s, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := config.validate(&s)
	if err != nil {
		return nil, err
	}
	if storage == nil {
		storage = NewMemoryStorage()
	}
	return &LogtoClient{core: newCore(cfg, s), storage: storage}, nil
}

// newCore builds the shared half of a client from a validated config.
func newCore(cfg LogtoConfig, s settings) *core {
	// Copy the caller's slices so later changes by the caller cannot race.
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	cfg.Resources = append([]string(nil), cfg.Resources...)
	logger := s.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &core{
		cfg:         cfg,
		set:         s,
		http:        httpx.NoRedirects(s.httpClient),
		issuer:      cfg.Endpoint + "/oidc",
		scope:       strings.Join(cfg.Scopes, " "),
		logger:      logger,
		tokenCache:  newRawCache[*decodedTokens](s.claimsCacheLimit),
		claimsCache: newRawCache[*decodedClaims](s.claimsCacheLimit),
	}
}

// WithStorage returns a view of c that keeps session data in storage and
// shares everything else with c: discovery, keys, caches and in-flight
// refreshes. It is cheap (one small allocation); make one per request.
func (c *LogtoClient) WithStorage(storage Storage) *LogtoClient {
	if storage == nil {
		storage = NewMemoryStorage()
	}
	return &LogtoClient{core: c.core, storage: storage}
}

// Config returns a copy of the validated configuration, with the reserved
// scopes and resources the client requests.
func (c *LogtoClient) Config() LogtoConfig {
	cfg := c.core.cfg
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	cfg.Resources = append([]string(nil), cfg.Resources...)
	cfg.AppSecret = ""
	return cfg
}

// Storage returns the Storage this view reads and writes.
func (c *LogtoClient) Storage() Storage { return c.storage }

// Issuer returns Logto's issuer, Endpoint + "/oidc".
func (c *LogtoClient) Issuer() string { return c.core.issuer }

// IsAuthenticated reports whether the session holds an ID token, that is
// whether a sign-in completed and no sign-out or expired refresh followed.
// It makes no request. A Storage error reads as signed out. It stays true
// after the ID token's own expiry (an hour by default): the session lasts as
// long as the refresh token, as in Logto's other SDKs; the next refresh
// replaces the ID token or ends the session (ErrSessionExpired). An
// unreadable stored ID token (corrupted, truncated, or issued by another
// issuer or for another application) also reads as signed out.
func (c *LogtoClient) IsAuthenticated(ctx context.Context) bool {
	v, err := c.storage.Get(ctx, StorageKeyIDToken)
	if err != nil || v == "" {
		return false
	}
	// The token this view decoded last, checked here without a call: the
	// common case of a session asked again and again.
	if d := c.lastClaims.Load(); d != nil && d.raw == v {
		return true
	}
	_, err = c.idClaims(v)
	return err == nil
}

// GetIdToken returns the raw ID token, or ErrNotAuthenticated.
func (c *LogtoClient) GetIdToken(ctx context.Context) (string, error) {
	return c.getRequired(ctx, StorageKeyIDToken)
}

// GetRefreshToken returns the raw refresh token, or ErrNotAuthenticated.
func (c *LogtoClient) GetRefreshToken(ctx context.Context) (string, error) {
	return c.getRequired(ctx, StorageKeyRefreshToken)
}

func (c *LogtoClient) getRequired(ctx context.Context, key string) (string, error) {
	v, err := c.storage.Get(ctx, key)
	if err != nil {
		return "", storageErr("read", key, err)
	}
	if v == "" {
		return "", ErrNotAuthenticated
	}
	return v, nil
}

// GetIdTokenClaims returns the claims of the stored ID token. The token was
// verified when it was stored; it is decoded once and the result cached by
// its raw value, so repeated calls cost a map lookup. The returned slices
// and maps are shared with the cache: treat them as read-only.
func (c *LogtoClient) GetIdTokenClaims(ctx context.Context) (IdTokenClaims, error) {
	raw, err := c.getRequired(ctx, StorageKeyIDToken)
	if err != nil {
		return IdTokenClaims{}, err
	}
	d, err := c.idClaims(raw)
	if err != nil {
		return IdTokenClaims{}, err
	}
	return d.claims, nil
}

type decodedClaims struct {
	raw    string
	claims IdTokenClaims
}

func (c *LogtoClient) idClaims(raw string) (*decodedClaims, error) {
	if d := c.lastClaims.Load(); d != nil && d.raw == raw {
		return d, nil
	}
	d, ok := c.core.claimsCache.get(raw)
	if !ok {
		var err error
		if d, err = c.core.decodeStoredIDToken(raw); err != nil {
			return nil, err
		}
	}
	c.lastClaims.Store(d)
	return d, nil
}

// decodeStoredIDToken decodes an ID token read from storage and caches
// it. Apart from idClaims, whose frame stays small for the goroutines that
// only find it cached.
func (c *core) decodeStoredIDToken(raw string) (*decodedClaims, error) {
	claims, err := decodeIDToken(raw)
	if err != nil {
		return nil, storageErr("decode", StorageKeyIDToken, err)
	}
	// Verified tokens are cached when stored; one decoded from storage
	// must at least belong to this issuer and application.
	if claims.Issuer != c.issuer || !claims.Audience.Contains(c.cfg.AppId) || claims.Subject == "" {
		return nil, storageErr("decode", StorageKeyIDToken, fmt.Errorf("the ID token was not issued by %s for this application", c.issuer))
	}
	d := &decodedClaims{raw: raw, claims: claims}
	c.claimsCache.put(raw, d)
	return d, nil
}
