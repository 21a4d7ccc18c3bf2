package logtotest

import "time"

// Option configures a Server created by NewServer or Start.
type Option func(*options)

type options struct {
	addr          string
	alg           string
	start         time.Time
	accessTTL     time.Duration
	idTTL         time.Duration
	refreshTTL    time.Duration
	loginPage     bool
	signInHint    string
	wallClock     bool
	reuseInterval time.Duration
	// device flow (device.go)
	deviceTTL      time.Duration
	deviceInterval time.Duration
}

func defaultOptions() options {
	return options{
		addr:       "127.0.0.1:0",
		alg:        "ES384",
		start:      time.Now().Truncate(time.Second),
		accessTTL:  time.Hour,
		idTTL:      time.Hour,
		refreshTTL: 14 * 24 * time.Hour,
		deviceTTL:  DefaultDeviceCodeTTL,
	}
}

// WithAddr sets the listen address. The default is "127.0.0.1:0" (a free
// loopback port).
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithSigningAlg selects the signing algorithm and key type: "ES384" (the
// default, P-384, like Logto's generated key), "ES256" (P-256) or "RS256"
// (RSA 2048).
func WithSigningAlg(alg string) Option { return func(o *options) { o.alg = alg } }

// WithStartTime sets the initial value of the server clock. The default is
// time.Now() truncated to the second.
func WithStartTime(t time.Time) Option { return func(o *options) { o.start = t } }

// WithAccessTokenTTL sets the lifetime of access tokens (opaque tokens and
// JWTs for resources without their own TTL). The default is one hour.
// Organization tokens always live one hour, like Logto's reserved resources.
func WithAccessTokenTTL(d time.Duration) Option { return func(o *options) { o.accessTTL = d } }

// WithIDTokenTTL sets the lifetime of ID tokens. The default is one hour.
func WithIDTokenTTL(d time.Duration) Option { return func(o *options) { o.idTTL = d } }

// WithRefreshTokenTTL sets the lifetime of refresh tokens. The default is 14
// days. As in Logto, rotation does not extend it for public apps (the new
// token keeps the expiry of the grant's first refresh token), while a
// confidential app's rotated token gets the full lifetime again.
func WithRefreshTokenTTL(d time.Duration) Option { return func(o *options) { o.refreshTTL = d } }

// WithLoginPage enables the interactive sign-in page: when no automatic user
// is set (see Server.SetAutoLogin), /oidc/auth redirects the browser to the
// screen of Logto's sign-in experience the request asks for, at the same
// location as Logto (/sign-in?app_id=..., /register?..., /direct/social/...;
// see first_screen, interaction_mode and direct_sign_in), with the pending
// sign-in in an _interaction cookie. Every screen is a minimal HTML form
// asking for an existing user's username or user ID.
func WithLoginPage() Option { return func(o *options) { o.loginPage = true } }

// WithSignInHint sets a line of text shown on every screen of the sign-in
// page (see WithLoginPage), for example which user a demo signs in as. The
// default is none.
func WithSignInHint(text string) Option { return func(o *options) { o.signInHint = text } }

// WithWallClock makes the server clock follow real time (starting at the
// start time, shifted by Advance and SetNow) instead of standing still. It is
// meant for long-running demos, where a frozen clock would issue tokens that
// are already expired; tests usually want the default frozen clock.
func WithWallClock() Option { return func(o *options) { o.wallClock = true } }

// WithRefreshTokenReuseInterval sets a grace period during which a consumed
// (rotated-away) refresh token is still accepted, each use returning a new
// refresh token. Logto hard-codes 3 seconds; the default here is 0, so that
// any reuse is detected at once (and revokes the grant), as in upstream
// oidc-provider.
func WithRefreshTokenReuseInterval(d time.Duration) Option {
	return func(o *options) { o.reuseInterval = d }
}
