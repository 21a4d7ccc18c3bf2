package logto

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gologto/logto/internal/httpx"
	"github.com/gologto/logto/internal/jwks"
	"github.com/gologto/logto/internal/oidcmeta"
	"github.com/gologto/logto/internal/randx"
)

// Prompt is the OIDC prompt parameter. Several values may be combined with
// a space, e.g. "login consent".
type Prompt string

// Prompt values Logto supports.
const (
	// PromptConsent (the default) shows the consent step; Logto issues a
	// refresh token only when consent was prompted.
	PromptConsent Prompt = "consent"
	// PromptLogin forces the user to sign in again.
	PromptLogin Prompt = "login"
	// PromptNone fails instead of showing any page.
	PromptNone Prompt = "none"
)

// LogtoConfig describes the Logto application the client signs users in to.
type LogtoConfig struct {
	// Endpoint is the Logto tenant URL, e.g. "https://my-tenant.logto.app".
	// The issuer is Endpoint + "/oidc".
	Endpoint string
	// AppId is the application's client ID.
	AppId string
	// AppSecret is the application's secret; empty for public (SPA or
	// native) applications, which then send client_id in the body.
	AppSecret string
	// Scopes are requested in addition to openid, profile and
	// offline_access, which are always requested.
	Scopes []string
	// Resources are the API resource indicators to request access to.
	Resources []string
	// Prompt defaults to PromptConsent.
	Prompt Prompt
}

// Defaults of the tunable behaviour. Each has an Option.
const (
	DefaultHTTPTimeout         = httpx.DefaultTimeout
	DefaultLeeway              = time.Minute
	DefaultEarlyExpiry         = time.Minute
	DefaultTransactionTTL      = 10 * time.Minute
	DefaultJWKSRefreshCooldown = jwks.DefaultRefreshCooldown
	// DefaultJWKSMaxAge is the longest the key set is held before it is
	// refetched (a shorter Cache-Control max-age of the JWKS response
	// wins, down to one minute), so that a key Logto removed is refused.
	DefaultJWKSMaxAge       = jwks.DefaultMaxAge
	DefaultMaxResponseBytes = httpx.DefaultMaxBody
	// DefaultMaxPendingSignIns bounds how many sign-ins may be pending in
	// one session (tabs); the oldest is dropped beyond it.
	DefaultMaxPendingSignIns = 5
)

// Option tunes a LogtoClient.
type Option func(*settings)

type settings struct {
	httpClient       *http.Client
	now              func() time.Time
	leeway           time.Duration
	earlyExpiry      time.Duration
	transactionTTL   time.Duration
	jwksCooldown     time.Duration
	jwksMaxAge       time.Duration
	maxBody          int64
	maxPending       int
	insecureHTTP     bool
	logger           *slog.Logger
	userAgent        string
	claimsCacheLimit int
	// random generates state, nonce and verifier; tests replace it.
	random func() string
	// sleep is the device flow's timer (WithSleep).
	sleep func(ctx context.Context, d time.Duration) error
}

func defaultSettings() settings {
	return settings{
		now:              time.Now,
		leeway:           DefaultLeeway,
		earlyExpiry:      DefaultEarlyExpiry,
		transactionTTL:   DefaultTransactionTTL,
		jwksCooldown:     DefaultJWKSRefreshCooldown,
		jwksMaxAge:       DefaultJWKSMaxAge,
		maxBody:          DefaultMaxResponseBytes,
		maxPending:       DefaultMaxPendingSignIns,
		userAgent:        "gologto",
		claimsCacheLimit: 1024,
		random:           randx.Token,
		sleep:            sleepContext,
	}
}

// WithHTTPClient makes every request go through c (for tracing, proxies or
// tests). The client's redirect policy is replaced: OAuth endpoints must
// not redirect. Without this option the SDK uses its own client with a
// 30-second timeout, never http.DefaultClient.
func WithHTTPClient(c *http.Client) Option { return func(s *settings) { s.httpClient = c } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// WithSleep replaces the timer the device flow waits with between two
// token requests (WaitDeviceSignIn), for tests: sleep must return after d
// has passed on the clock of WithClock, or ctx.Err() as soon as ctx is
// done. A test clock's sleep typically advances the clock by d and returns.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *settings) { s.sleep = sleep }
}

// WithLeeway sets the allowed clock skew when checking token times
// (exp, iat, nbf). Default one minute.
func WithLeeway(d time.Duration) Option { return func(s *settings) { s.leeway = d } }

// WithEarlyExpiry sets how long before its expiry a cached access token is
// refreshed. Default one minute. The window never exceeds half the lifetime
// a token was issued with: a token living 30 s is used for 15 s, not
// refreshed on every call. Zero uses tokens until their expiry.
func WithEarlyExpiry(d time.Duration) Option { return func(s *settings) { s.earlyExpiry = d } }

// WithTransactionTTL sets how long a started sign-in may wait for its
// callback. Default ten minutes.
func WithTransactionTTL(d time.Duration) Option { return func(s *settings) { s.transactionTTL = d } }

// WithJWKSRefreshCooldown sets the least time between two JWKS refetches
// caused by tokens with unknown key ids (the first fetch does not count),
// and between retries after a failed key fetch. Default one minute.
func WithJWKSRefreshCooldown(d time.Duration) Option {
	return func(s *settings) { s.jwksCooldown = d }
}

// WithJWKSMaxAge sets the longest the JWKS is held before it is fetched
// again, so that a key Logto removed stops verifying. A shorter
// Cache-Control max-age of the JWKS response wins, but not below one
// minute (Logto sends max-age=0). If the refetch fails, the held keys are
// used for up to an hour more. Default ten minutes; at most 24 hours.
func WithJWKSMaxAge(d time.Duration) Option {
	return func(s *settings) { s.jwksMaxAge = d }
}

// WithMaxResponseBytes caps every response body read from Logto. A larger
// body is an error (ErrResponseTooLarge). Default 1 MiB.
func WithMaxResponseBytes(n int64) Option { return func(s *settings) { s.maxBody = n } }

// WithLogger receives the SDK's rare diagnostics (a failed best-effort
// revocation at sign-out). No token or secret is ever logged.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// InsecureAllowHTTP allows a plain-http Endpoint that is not a loopback
// address. Tokens and secrets then cross the network in clear text: use it
// only on a trusted private network.
func InsecureAllowHTTP() Option { return func(s *settings) { s.insecureHTTP = true } }

// validate checks the configuration and returns a normalised copy; it never
// mutates the caller's slices.
func (c LogtoConfig) validate(s *settings) (LogtoConfig, error) {
	out := c
	endpoint, err := validateEndpoint(c.Endpoint, s)
	if err != nil {
		return out, err
	}
	out.Endpoint = endpoint
	if strings.TrimSpace(c.AppId) == "" {
		return out, fmt.Errorf("%w: AppId is required", ErrInvalidConfig)
	}
	out.Scopes = mergeScopes(c.Scopes)
	for _, sc := range out.Scopes {
		if strings.ContainsAny(sc, " \t\r\n") {
			return out, fmt.Errorf("%w: scope %q contains white space", ErrInvalidConfig, sc)
		}
	}
	out.Resources = mergeResources(c.Resources, out.Scopes)
	for _, r := range out.Resources {
		if ru, err := url.Parse(r); err != nil || !ru.IsAbs() {
			return out, fmt.Errorf("%w: resource %q must be an absolute URI", ErrInvalidConfig, r)
		}
	}
	if out.Prompt == "" {
		out.Prompt = PromptConsent
	}
	return out, nil
}

// validateEndpoint checks a Logto endpoint and the option values, and
// returns the endpoint without trailing slash.
func validateEndpoint(raw string, s *settings) (string, error) {
	if s.leeway < 0 || s.earlyExpiry < 0 || s.transactionTTL <= 0 || s.jwksCooldown < 0 || s.jwksMaxAge <= 0 || s.jwksMaxAge > jwks.MaxAgeCeiling || s.maxBody <= 0 || s.now == nil || s.sleep == nil {
		return "", fmt.Errorf("%w: option values out of range", ErrInvalidConfig)
	}
	endpoint := strings.TrimRight(strings.TrimSpace(raw), "/")
	if endpoint == "" {
		return "", fmt.Errorf("%w: Endpoint is required", ErrInvalidConfig)
	}
	u, err := url.Parse(endpoint)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: Endpoint must be an absolute http(s) URL", ErrInvalidConfig)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%w: Endpoint must not carry a query, fragment or user info", ErrInvalidConfig)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !s.insecureHTTP && !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("%w: Endpoint must use https (http is allowed for loopback hosts, or with InsecureAllowHTTP)", ErrInvalidConfig)
		}
	default:
		return "", fmt.Errorf("%w: Endpoint scheme must be http or https", ErrInvalidConfig)
	}
	return endpoint, nil
}

// newSettings applies opts to the defaults.
func newSettings(opts []Option) settings {
	s := defaultSettings()
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return s
}

func isLoopback(host string) bool { return oidcmeta.IsLoopback(host) }
