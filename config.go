package logto

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gologto/logto/internal/defaults"
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

// Defaults of the tunable behaviour; the With... option of each (where
// there is one) says its bounds. apiauth, backchannel and logtohttp use
// the same values (see the README's "Configuration" section).
const (
	// DefaultHTTPTimeout (30 seconds) bounds every request of the SDK's
	// own HTTP client (see WithHTTPClient).
	DefaultHTTPTimeout = defaults.HTTPTimeout
	// DefaultLeeway (one minute) is the clock skew allowed when checking
	// token times.
	DefaultLeeway = defaults.Leeway
	// DefaultEarlyExpiry (one minute) is how long before its expiry a
	// cached access token is refreshed.
	DefaultEarlyExpiry = defaults.EarlyExpiry
	// DefaultTransactionTTL (ten minutes) is how long a started sign-in
	// may wait for its callback.
	DefaultTransactionTTL = defaults.TransactionTTL
	// DefaultJWKSRefreshCooldown (one minute) is the least time between
	// two key set refetches caused by unknown key ids, and between
	// retries.
	DefaultJWKSRefreshCooldown = defaults.JWKSRefreshCooldown
	// DefaultJWKSMaxAge (ten minutes) is the longest the key set is held
	// before it is refetched (a shorter Cache-Control max-age of the JWKS
	// response wins, down to one minute), so that a key Logto removed is
	// refused.
	DefaultJWKSMaxAge = defaults.JWKSMaxAge
	// DefaultMaxResponseBytes (1 MiB) caps every response body read from
	// Logto.
	DefaultMaxResponseBytes = defaults.MaxResponseBytes
	// DefaultMaxPendingSignIns (5) bounds how many sign-ins may be
	// pending in one session (tabs); the oldest is dropped beyond it.
	DefaultMaxPendingSignIns = defaults.MaxPendingSignIns
)

// Option tunes a LogtoClient or an M2MClient. An option given a value it
// cannot take makes the constructor fail with an error that wraps
// ErrInvalidConfig and names the option and the value, e.g.
// "logto: invalid configuration: WithLeeway(-1s): must not be negative".
type Option func(*settings) error

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

// option returns the Option named name: it checks v and stores it in the
// settings field that field selects. A refused value is reported as
// "logto: invalid configuration: name(v): reason".
func option[T any](name string, v T, check func(T) error, field func(*settings) *T) Option {
	return func(s *settings) error {
		if err := check(v); err != nil {
			return fmt.Errorf("%w: %s(%v): %w", ErrInvalidConfig, name, v, err)
		}
		*field(s) = v
		return nil
	}
}

// errNilClock is WithClock's reason for refusing nil.
var errNilClock = errors.New("must not be nil")

// WithHTTPClient makes every request go through c (for tracing, proxies or
// tests). The client's redirect policy is replaced: OAuth endpoints must
// not redirect. Without this option, or with nil, the SDK uses its own
// client with a 30-second timeout (DefaultHTTPTimeout), never
// http.DefaultClient.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) error { s.httpClient = c; return nil }
}

// WithClock replaces time.Now, for tests. It must not be nil.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return fmt.Errorf("%w: WithClock(nil): %w", ErrInvalidConfig, errNilClock)
		}
		s.now = now
		return nil
	}
}

// WithSleep replaces the timer the device flow waits with between two
// token requests (WaitDeviceSignIn), for tests: sleep must return after d
// has passed on the clock of WithClock, or ctx.Err() as soon as ctx is
// done. A test clock's sleep typically advances the clock by d and returns.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(s *settings) error {
		if sleep == nil {
			return fmt.Errorf("%w: WithSleep(nil): %w", ErrInvalidConfig, errNilClock)
		}
		s.sleep = sleep
		return nil
	}
}

// WithLeeway sets the allowed clock skew when checking token times
// (exp, iat, nbf). Default one minute (DefaultLeeway); not negative.
func WithLeeway(d time.Duration) Option {
	return option("WithLeeway", d, defaults.NotNegative, func(s *settings) *time.Duration { return &s.leeway })
}

// WithEarlyExpiry sets how long before its expiry a cached access token is
// refreshed. Default one minute (DefaultEarlyExpiry); not negative. The
// window never exceeds half the lifetime a token was issued with: a token
// living 30 s is used for 15 s, not refreshed on every call. Zero uses
// tokens until their expiry.
func WithEarlyExpiry(d time.Duration) Option {
	return option("WithEarlyExpiry", d, defaults.NotNegative, func(s *settings) *time.Duration { return &s.earlyExpiry })
}

// WithTransactionTTL sets how long a started sign-in may wait for its
// callback. Default ten minutes (DefaultTransactionTTL); positive.
func WithTransactionTTL(d time.Duration) Option {
	return option("WithTransactionTTL", d, defaults.Positive, func(s *settings) *time.Duration { return &s.transactionTTL })
}

// WithJWKSRefreshCooldown sets the least time between two JWKS refetches
// caused by tokens with unknown key ids (the first fetch does not count),
// and between retries after a failed key fetch. Default one minute
// (DefaultJWKSRefreshCooldown); not negative.
func WithJWKSRefreshCooldown(d time.Duration) Option {
	return option("WithJWKSRefreshCooldown", d, defaults.NotNegative, func(s *settings) *time.Duration { return &s.jwksCooldown })
}

// WithJWKSMaxAge sets the longest the JWKS is held before it is fetched
// again, so that a key Logto removed stops verifying. A shorter
// Cache-Control max-age of the JWKS response wins, but not below one
// minute (Logto sends max-age=0). If the refetch fails, the held keys are
// used for up to an hour more. Default ten minutes (DefaultJWKSMaxAge);
// positive and at most 24 hours.
func WithJWKSMaxAge(d time.Duration) Option {
	return option("WithJWKSMaxAge", d, defaults.JWKSMaxAgeRange, func(s *settings) *time.Duration { return &s.jwksMaxAge })
}

// WithMaxResponseBytes caps every response body read from Logto. A larger
// body is an error (ErrResponseTooLarge). Default 1 MiB
// (DefaultMaxResponseBytes); positive.
func WithMaxResponseBytes(n int64) Option {
	return option("WithMaxResponseBytes", n, defaults.Positive, func(s *settings) *int64 { return &s.maxBody })
}

// WithLogger receives the SDK's rare diagnostics (a failed best-effort
// revocation at sign-out). No token or secret is ever logged. Nil (the
// default) discards them.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error { s.logger = l; return nil }
}

// InsecureAllowHTTP allows a plain-http Endpoint that is not a loopback
// address. Tokens and secrets then cross the network in clear text: use it
// only on a trusted private network.
func InsecureAllowHTTP() Option {
	return func(s *settings) error { s.insecureHTTP = true; return nil }
}

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

// validateEndpoint checks a Logto endpoint and returns it without trailing
// slash. The options were checked as they were applied (newSettings).
func validateEndpoint(raw string, s *settings) (string, error) {
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

// newSettings applies opts to the defaults, in order, and returns the
// first option's error. Nil options are skipped.
func newSettings(opts []Option) (settings, error) {
	s := defaultSettings()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&s); err != nil {
			return settings{}, err
		}
	}
	return s, nil
}

func isLoopback(host string) bool { return oidcmeta.IsLoopback(host) }
