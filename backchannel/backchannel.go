// Package backchannel receives Logto's back-channel logout requests (OpenID
// Connect Back-Channel Logout 1.0): when a user signs out of Logto, or an
// administrator ends their sessions, Logto POSTs a signed logout token to
// the application's back-channel logout URI, and the application ends its
// own sessions of that user.
//
// Handler verifies the logout token as the specification requires and
// calls the application's OnLogout hook with the subject and session id.
// logtohttp's server-side sessions have a ready hook.
package backchannel

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/gologto/logto"
	"github.com/gologto/logto/internal/defaults"
	"github.com/gologto/logto/internal/tenant"
	"github.com/gologto/logto/internal/ttlcache"
)

// EventType is the member a logout token's events claim must hold.
const EventType = "http://schemas.openid.net/event/backchannel-logout"

// Config describes the application that receives logout tokens.
type Config struct {
	// Endpoint is the Logto tenant URL.
	Endpoint string
	// AppId is the application's client ID: the audience of its tokens.
	AppId string
	// OnLogout ends the application's sessions of the user: those of
	// subject, or only the one Logto session sid when set. An error makes
	// the handler answer 400 so that Logto may retry. Required.
	OnLogout func(ctx context.Context, subject, sid string) error

	// HTTPClient fetches discovery and keys; nil means a client with the
	// timeout [logto.DefaultHTTPTimeout].
	HTTPClient *http.Client
	// Leeway is the allowed clock skew; zero means [logto.DefaultLeeway]
	// (one minute). It must not be negative.
	Leeway time.Duration
	// MaxAge refuses tokens issued longer ago; zero means [DefaultMaxAge]
	// (five minutes). It must not be negative.
	MaxAge time.Duration
	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// JWKSRefreshCooldown is the least time between key refetches for
	// unknown key ids (the first fetch does not count), and between
	// retries after a failed discovery or key fetch; zero means
	// [logto.DefaultJWKSRefreshCooldown] (one minute). It must not be
	// negative.
	JWKSRefreshCooldown time.Duration
	// JWKSMaxAge is the longest the tenant's key set is held before it is
	// fetched again, so that a key Logto removed is refused; a shorter
	// Cache-Control max-age of the JWKS response wins, but not below one
	// minute. If the refetch fails, the held keys are used for up to an
	// hour more. Zero means [logto.DefaultJWKSMaxAge] (ten minutes); at
	// most 24 h.
	JWKSMaxAge time.Duration
	// ReplayCacheSize bounds how many jti values are remembered to refuse
	// a replayed logout token; zero means [DefaultReplayCacheSize]. It
	// must not be negative. When every one is still live, the one
	// expiring soonest is forgotten: a flood of genuine logout tokens must
	// not make later ones be refused.
	ReplayCacheSize int
	// InsecureAllowHTTP allows a plain-http Endpoint that is not loopback.
	InsecureAllowHTTP bool
}

// Claims are the verified claims of a logout token.
type Claims struct {
	Issuer    string                     `json:"iss"`
	Audience  logto.Audience             `json:"aud"`
	IssuedAt  logto.NumericDate          `json:"iat"`
	Expiry    logto.NumericDate          `json:"exp"`
	JWTID     string                     `json:"jti"`
	Subject   string                     `json:"sub"`
	SessionID string                     `json:"sid"`
	Events    map[string]json.RawMessage `json:"events"`
	Nonce     *json.RawMessage           `json:"nonce"`
}

// ErrInvalidLogoutToken wraps every verification failure.
var ErrInvalidLogoutToken = errors.New("backchannel: invalid logout token")

// Handler is an http.Handler for the back-channel logout URI. It is safe
// for concurrent use.
type Handler struct {
	cfg    Config
	tenant *tenant.Tenant

	// seen holds the jti of each accepted token until the token can no
	// longer be accepted.
	seen *ttlcache.Cache[string, struct{}]
}

// Defaults of the Config fields only this package has.
const (
	// DefaultMaxAge is the default of Config.MaxAge.
	DefaultMaxAge = 5 * time.Minute
	// DefaultReplayCacheSize is the default of Config.ReplayCacheSize.
	DefaultReplayCacheSize = 100000
)

// NewHandler checks cfg and returns a Handler. No request is made until
// the first logout token arrives.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.AppId == "" || cfg.OnLogout == nil {
		return nil, errors.New("backchannel: AppId and OnLogout are required")
	}
	cfg.MaxAge = defaults.Or(cfg.MaxAge, DefaultMaxAge)
	cfg.ReplayCacheSize = defaults.Or(cfg.ReplayCacheSize, DefaultReplayCacheSize)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := cmp.Or(
		defaults.Verification(&cfg.Leeway, &cfg.JWKSRefreshCooldown, &cfg.JWKSMaxAge),
		defaults.Field("Config.MaxAge", cfg.MaxAge, defaults.NotNegative(cfg.MaxAge)),
		defaults.Field("Config.ReplayCacheSize", cfg.ReplayCacheSize, defaults.NotNegative(cfg.ReplayCacheSize)),
	); err != nil {
		return nil, fmt.Errorf("backchannel: %w", err)
	}
	t, err := tenant.New(tenant.Config{
		Endpoint: cfg.Endpoint, HTTPClient: cfg.HTTPClient, AllowHTTP: cfg.InsecureAllowHTTP,
		Cooldown: cfg.JWKSRefreshCooldown, MaxAge: cfg.JWKSMaxAge, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("backchannel: %w", err)
	}
	return &Handler{cfg: cfg, tenant: t, seen: ttlcache.New[string, struct{}](cfg.ReplayCacheSize)}, nil
}

// ServeHTTP answers 200 after a verified logout token was handled, and 400
// with an OAuth-style JSON error otherwise (Back-Channel Logout 1.0 §2.8).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		fail(w, "invalid_request", "the body must be a form")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fail(w, "invalid_request", "the form cannot be read")
		return
	}
	token := r.PostForm.Get("logout_token")
	if token == "" {
		fail(w, "invalid_request", "logout_token is missing")
		return
	}
	if err := h.Handle(r.Context(), token); err != nil {
		if errors.Is(err, ErrInvalidLogoutToken) {
			fail(w, "invalid_request", err.Error())
		} else {
			fail(w, "logout_failed", "the application could not end the sessions")
		}
		return
	}
	w.WriteHeader(http.StatusOK)
}

func fail(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// Handle verifies token and calls OnLogout. A token is accepted once: its
// jti is reserved before OnLogout runs (a concurrent second delivery is
// refused), kept until the token expires when OnLogout succeeds, and
// released when it fails so that Logto may retry.
func (h *Handler) Handle(ctx context.Context, token string) error {
	c, err := h.Verify(ctx, token)
	if err != nil {
		return err
	}
	now := h.cfg.Now()
	if !h.reserve(c, now) {
		return fmt.Errorf("%w: jti already used", ErrInvalidLogoutToken)
	}
	if err := h.cfg.OnLogout(ctx, c.Subject, c.SessionID); err != nil {
		h.seen.Delete(c.JWTID)
		return fmt.Errorf("backchannel: OnLogout: %w", err)
	}
	return nil
}

// reserve records c's jti until the token can no longer be accepted, and
// reports false when it is already recorded. A full cache forgets expired
// jtis first, then the live one expiring soonest: refusing a genuine
// logout token would leave a user signed in, while forgetting a jti only
// lets that one logout be replayed until it expires, which ends the same
// sessions again.
func (h *Handler) reserve(c *Claims, now time.Time) bool {
	until := c.IssuedAt.Time().Add(h.cfg.MaxAge + h.cfg.Leeway)
	if exp := c.Expiry.Time().Add(h.cfg.Leeway); c.Expiry != 0 && exp.After(until) {
		until = exp
	}
	added, _ := h.seen.Add(c.JWTID, struct{}{}, until, now)
	return added
}

// Verify checks a logout token as Back-Channel Logout 1.0 §2.6 requires:
// signature with the tenant's keys (asymmetric algorithms only), typ
// logout+jwt when present, iss, aud, iat (present, not in the future, not
// older than MaxAge), exp when present, the events member, sub or sid, no
// nonce, and a jti.
func (h *Handler) Verify(ctx context.Context, token string) (*Claims, error) {
	payload, err := h.tenant.VerifyJWT(ctx, token, "logout+jwt", "application/logout+jwt", "")
	if err != nil {
		if errors.Is(err, tenant.ErrUnavailable) {
			return nil, fmt.Errorf("backchannel: %w", err)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidLogoutToken, err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: malformed claims", ErrInvalidLogoutToken)
	}
	now, leeway := h.cfg.Now(), h.cfg.Leeway
	var problem string
	switch {
	case c.Issuer != h.tenant.Issuer:
		problem = "issued by another issuer"
	case !c.Audience.Contains(h.cfg.AppId):
		problem = "meant for another application"
	case c.IssuedAt == 0:
		problem = "iat is missing"
	case c.IssuedAt.Time().After(now.Add(leeway)):
		problem = "iat is in the future"
	case now.Sub(c.IssuedAt.Time()) > h.cfg.MaxAge+leeway:
		problem = "issued too long ago"
	case c.Expiry != 0 && !now.Before(c.Expiry.Time().Add(leeway)):
		problem = "expired"
	case !isObject(c.Events[EventType]):
		problem = "events does not hold the back-channel logout event"
	case c.Subject == "" && c.SessionID == "":
		problem = "neither sub nor sid is present"
	case c.Nonce != nil:
		problem = "a logout token must not carry a nonce"
	case c.JWTID == "":
		problem = "jti is missing"
	}
	if problem != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalidLogoutToken, problem)
	}
	return &c, nil
}

func isObject(raw json.RawMessage) bool {
	var m map[string]any
	return len(raw) > 0 && json.Unmarshal(raw, &m) == nil && m != nil
}
