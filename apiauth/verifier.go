package apiauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gologto/logto/internal/defaults"
	"github.com/gologto/logto/internal/tenant"
	"github.com/gologto/logto/internal/timecheck"
)

// MaxTokenBytes bounds the size of a token the Verifier looks at.
const MaxTokenBytes = 16 << 10

// DefaultCacheSize is the default of Config.CacheSize: how many verified
// tokens are remembered.
const DefaultCacheSize = 10000

// Config describes the API to protect.
type Config struct {
	// Endpoint is the Logto tenant URL; the issuer is Endpoint + "/oidc".
	Endpoint string
	// Audience is the API's resource indicator, e.g.
	// "https://api.example.com". Tokens for other APIs are refused.
	Audience string
	// AcceptOrganizationTokens also accepts organization tokens (audience
	// "urn:logto:organization:<id>"); pair it with RequireOrganization.
	AcceptOrganizationTokens bool

	// HTTPClient fetches discovery and keys; nil means a client with the
	// timeout [logto.DefaultHTTPTimeout] (never http.DefaultClient).
	HTTPClient *http.Client
	// Leeway is the allowed clock skew for exp, nbf and iat; zero means
	// [logto.DefaultLeeway] (one minute). It must not be negative.
	Leeway time.Duration
	// CacheSize bounds the verified-token cache; zero means
	// [DefaultCacheSize], negative disables the cache.
	CacheSize int
	// JWKSRefreshCooldown is the least time between two key refetches
	// caused by unknown key ids (the first fetch does not count), and
	// between retries after a failed discovery or key fetch; zero means
	// [logto.DefaultJWKSRefreshCooldown] (one minute). It must not be
	// negative.
	JWKSRefreshCooldown time.Duration
	// JWKSMaxAge is the longest the tenant's key set is held before it is
	// fetched again, so that a key Logto removed is refused; a shorter
	// Cache-Control max-age of the JWKS response wins, but not below one
	// minute (Logto sends max-age=0). If the refetch fails, the held keys
	// are used for up to an hour more. Zero means
	// [logto.DefaultJWKSMaxAge] (ten minutes); at most 24 h.
	JWKSMaxAge time.Duration
	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// Realm is sent in WWW-Authenticate; empty means the Audience.
	Realm string
	// InsecureAllowHTTP allows a plain-http Endpoint that is not loopback.
	InsecureAllowHTTP bool
	// Introspection, when set, also accepts opaque access tokens, checked
	// at Logto's introspection endpoint (see Introspection). Nil means
	// only JWT access tokens are accepted.
	Introspection *Introspection
}

// Verifier verifies Logto access tokens for one API. It is safe for
// concurrent use; create one per API and share it.
type Verifier struct {
	cfg      Config
	tenant   *tenant.Tenant
	cache    tokenCache
	inflight singleflight.Group // introspection requests, by token hash
}

// NewVerifier checks cfg and returns a Verifier. It makes no request until
// the first token arrives.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Audience == "" && !cfg.AcceptOrganizationTokens {
		return nil, errors.New("apiauth: Audience is required (or AcceptOrganizationTokens)")
	}
	if err := defaults.Verification(&cfg.Leeway, &cfg.JWKSRefreshCooldown, &cfg.JWKSMaxAge); err != nil {
		return nil, fmt.Errorf("apiauth: %w", err)
	}
	if cfg.Introspection != nil {
		in := *cfg.Introspection // the caller's struct is left as it was
		in.Clients = slices.Clone(in.Clients)
		if err := in.check(); err != nil {
			return nil, fmt.Errorf("apiauth: %w", err)
		}
		cfg.Introspection = &in
	}
	cfg.CacheSize = defaults.Or(cfg.CacheSize, DefaultCacheSize)
	cfg.Realm = defaults.Or(cfg.Realm, cfg.Audience)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t, err := tenant.New(tenant.Config{
		Endpoint: cfg.Endpoint, HTTPClient: cfg.HTTPClient, AllowHTTP: cfg.InsecureAllowHTTP,
		Cooldown: cfg.JWKSRefreshCooldown, MaxAge: cfg.JWKSMaxAge, Now: cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("apiauth: %w", err)
	}
	return &Verifier{
		cfg:    cfg,
		tenant: t,
		cache:  newTokenCache(cfg.CacheSize),
	}, nil
}

// Issuer returns the issuer tokens must name.
func (v *Verifier) Issuer() string { return v.tenant.Issuer }

// Requirement is a check a route adds on top of a valid token.
type Requirement func(*Claims) *Error

// RequireScopes needs every one of scopes.
func RequireScopes(scopes ...string) Requirement {
	return func(c *Claims) *Error {
		for _, s := range scopes {
			if !c.HasScope(s) {
				return &Error{Code: "insufficient_scope", Description: "the token lacks a required scope", Scope: scopes}
			}
		}
		return nil
	}
}

// RequireAnyScope needs at least one of scopes.
func RequireAnyScope(scopes ...string) Requirement {
	return func(c *Claims) *Error {
		for _, s := range scopes {
			if c.HasScope(s) {
				return nil
			}
		}
		return &Error{Code: "insufficient_scope", Description: "the token has none of the accepted scopes", Scope: scopes}
	}
}

// RequireOrganization needs a token bound to organizationID: an
// organization token for it, or an organization-scoped API token whose
// organization_id claim names it.
func RequireOrganization(organizationID string) Requirement {
	return func(c *Claims) *Error {
		if id, ok := c.IsOrganizationToken(); ok && id == organizationID {
			return nil
		}
		if c.OrganizationID != "" && c.OrganizationID == organizationID {
			return nil
		}
		return &Error{Code: "insufficient_scope", Description: "the token is not bound to the required organization"}
	}
}

// Verify checks token and the requirements. A token verified before and
// not yet expired is answered from the cache; requirements are checked
// every time. The returned Claims are shared with the cache: read-only.
func (v *Verifier) Verify(ctx context.Context, token string, reqs ...Requirement) (*Claims, error) {
	if token == "" {
		return nil, invalid("missing token", nil)
	}
	if len(token) > MaxTokenBytes {
		return nil, invalid("token too large", nil)
	}
	now := v.cfg.Now()
	key := sha256.Sum256([]byte(token))
	c, ok := v.cache.get(key, now)
	if !ok {
		var (
			keysUntil time.Time
			err       error
		)
		if v.cfg.Introspection != nil && !isJWT(token) {
			if c, keysUntil, err = v.introspect(ctx, token, key, now); err != nil {
				return nil, err
			}
			v.cache.put(key, c, keysUntil, now)
		} else {
			if c, keysUntil, err = v.verify(ctx, token, now); err != nil {
				return nil, err
			}
			// Reused until the token expires, or until the keys that
			// verified it are past their maximum age: a key Logto removed
			// must not keep verifying through the cache.
			v.cache.put(key, c, earliest(c.Expiry.Time().Add(v.cfg.Leeway), keysUntil), now)
		}
	}
	for _, r := range reqs {
		if e := r(c); e != nil {
			return nil, e
		}
	}
	return c, nil
}

// verify checks token at now and returns its claims, and until when the
// keys that verified its signature are fresh.
func (v *Verifier) verify(ctx context.Context, token string, now time.Time) (*Claims, time.Time, error) {
	payload, keysUntil, err := v.tenant.Verify(ctx, token, "at+jwt", "application/at+jwt")
	if err != nil {
		switch {
		case errors.Is(err, tenant.ErrUnavailable):
			return nil, time.Time{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		case errors.Is(err, tenant.ErrWrongType):
			return nil, time.Time{}, invalid("token type is not at+jwt", err)
		case errors.Is(err, tenant.ErrBadSignature):
			return nil, time.Time{}, invalid("signature verification failed", err)
		}
		return nil, time.Time{}, invalid("malformed token or unsupported algorithm", err)
	}
	c, err := v.checkClaims(payload, now)
	return c, keysUntil, err
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// checkClaims decodes and checks the claims of a verified payload.
func (v *Verifier) checkClaims(payload []byte, now time.Time) (*Claims, error) {
	c := &Claims{raw: payload}
	if err := json.Unmarshal(payload, &c.AccessTokenClaims); err != nil {
		return nil, invalid("malformed claims", err)
	}
	switch {
	case c.Issuer != v.tenant.Issuer:
		return nil, invalid("token issued by another issuer", nil)
	case !v.audienceOK(c):
		return nil, invalid("token is meant for another audience", nil)
	}
	return v.checkSubjectAndTimes(c, now)
}

// checkSubjectAndTimes is what every accepted token passes, read from a JWT
// or from an introspection answer: a subject, an expiry ahead, and iat and
// nbf not in the future (with the leeway).
func (v *Verifier) checkSubjectAndTimes(c *Claims, now time.Time) (*Claims, error) {
	if c.Subject == "" {
		return nil, invalid("sub is missing", nil)
	}
	times := timecheck.Claims{Expiry: int64(c.Expiry), IssuedAt: int64(c.IssuedAt), NotBefore: int64(c.NotBefore)}
	if e := timecheck.Check(times, now, timecheck.Rules{Leeway: v.cfg.Leeway, Required: timecheck.Exp}); e != nil {
		// The description sent to the caller has no figures; the cause does.
		return nil, invalid(e.Summary(), e)
	}
	return c, nil
}

func (v *Verifier) audienceOK(c *Claims) bool {
	if v.cfg.Audience != "" && c.Audience.Contains(v.cfg.Audience) {
		return true
	}
	if v.cfg.AcceptOrganizationTokens {
		_, ok := c.IsOrganizationToken()
		return ok
	}
	return false
}

// Middleware returns net/http middleware that lets a request through only
// with a valid bearer token meeting reqs, and puts its Claims in the
// request context (FromContext). Failures are answered per RFC 6750:
// 401 with WWW-Authenticate error="invalid_token", 403 with
// error="insufficient_scope" and the needed scope, 503 when the tenant's
// keys cannot be fetched.
func (v *Verifier) Middleware(reqs ...Requirement) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, ok := BearerToken(r)
			if !ok {
				v.challenge(w, http.StatusUnauthorized, nil)
				return
			}
			c, err := v.Verify(r.Context(), token, reqs...)
			if err != nil {
				var e *Error
				switch {
				case errors.As(err, &e) && e.Code == "insufficient_scope":
					v.challenge(w, http.StatusForbidden, e)
				case errors.As(err, &e):
					v.challenge(w, http.StatusUnauthorized, e)
				default:
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Retry-After", "5")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = w.Write([]byte(`{"error":"temporarily_unavailable"}`))
				}
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
	}
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	t := strings.TrimSpace(h[len(prefix):])
	return t, t != ""
}

func (v *Verifier) challenge(w http.ResponseWriter, status int, e *Error) {
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(quoteSafe(v.cfg.Realm))
	b.WriteByte('"')
	body := map[string]string{"error": "unauthorized", "error_description": "a bearer token is required"}
	if e != nil {
		b.WriteString(`, error="` + e.Code + `", error_description="` + quoteSafe(e.Description) + `"`)
		if len(e.Scope) > 0 {
			b.WriteString(`, scope="` + quoteSafe(strings.Join(e.Scope, " ")) + `"`)
		}
		body = map[string]string{"error": e.Code, "error_description": e.Description}
		if len(e.Scope) > 0 {
			body["scope"] = strings.Join(e.Scope, " ")
		}
	}
	w.Header().Set("WWW-Authenticate", b.String())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// quoteSafe drops characters that cannot appear in a quoted-string.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
