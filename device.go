package logto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gologto/logto/internal/oidcmeta"
)

// DeviceAuthorization is Logto's answer to a device authorization request
// (RFC 8628 3.2): what the user needs to approve the sign-in on another
// device, and what WaitDeviceSignIn needs to poll for the tokens.
type DeviceAuthorization struct {
	// DeviceCode is the secret the client polls with. Never log or show it.
	DeviceCode string
	// UserCode is the code the user enters at VerificationURI.
	UserCode string
	// VerificationURI is the page where the user enters UserCode.
	VerificationURI string
	// VerificationURIComplete is VerificationURI with the user code in it
	// (for a link or a QR code); it may be empty.
	VerificationURIComplete string
	// ExpiresAt is when the codes expire (by the client's clock).
	ExpiresAt time.Time
	// Interval is the least time between two token requests: the one Logto
	// announced, five seconds when it announced none.
	Interval time.Duration
}

// DefaultDeviceInterval is the polling interval of the device flow when
// Logto announces none (RFC 8628 3.2).
const DefaultDeviceInterval = 5 * time.Second

// slowDownStep is what a slow_down answer adds to the interval (RFC 8628 3.5).
const slowDownStep = 5 * time.Second

// deviceAuthResponse is the device authorization endpoint's success body.
type deviceAuthResponse struct {
	DeviceCode              string          `json:"device_code"`
	UserCode                string          `json:"user_code"`
	VerificationURI         string          `json:"verification_uri"`
	VerificationURIComplete string          `json:"verification_uri_complete"`
	ExpiresIn               expiresIn       `json:"expires_in"`
	Interval                expiresIn       `json:"interval"`
	Error                   json.RawMessage `json:"error"`
}

// StartDeviceSignIn starts a device sign-in (RFC 8628) for the configured
// scopes and resources: it asks Logto's device authorization endpoint for a
// device code and a user code. Show the user UserCode and VerificationURI
// (or VerificationURIComplete), then call WaitDeviceSignIn. Nothing is
// stored: the session's tokens stay until WaitDeviceSignIn replaces them.
//
// The application must be a Logto Native app with device flow enabled
// (customClientMetadata.isDeviceFlow); it is a public client and sends
// client_id alone. When AppSecret is set, the client authenticates with
// client_secret_basic as at the token endpoint.
func (c *LogtoClient) StartDeviceSignIn(ctx context.Context) (*DeviceAuthorization, error) {
	m, err := c.core.provider(ctx)
	if err != nil {
		return nil, err
	}
	if m.DeviceAuthorizationEndpoint == "" {
		return nil, ErrNoDeviceAuthorizationEndpoint
	}
	form := url.Values{"scope": {c.core.scope}}
	for _, r := range c.core.cfg.Resources {
		form.Add("resource", r)
	}
	at := c.core.set.now()
	a, err := c.core.sendForm(ctx, m.DeviceAuthorizationEndpoint, form)
	if err != nil {
		return nil, fmt.Errorf("logto: device authorization request: %w", err)
	}
	da, err := parseDeviceAuthorization(a, at, c.core.set.insecureHTTP)
	if err != nil {
		return nil, wrapf(err, "start device sign-in")
	}
	return da, nil
}

// maxDeviceLifetime bounds expires_in (68 years, far below the overflow
// of time.Duration).
const maxDeviceLifetime = 1 << 31

// parseDeviceAuthorization judges the device authorization endpoint's
// answer to a request sent at at.
func parseDeviceAuthorization(a answer, at time.Time, allowHTTP bool) (*DeviceAuthorization, error) {
	var dr deviceAuthResponse
	if err := decodeAnswer(a, "device_authorization", &dr, func() bool { return dr.Error != nil }); err != nil {
		return nil, err
	}
	switch {
	case dr.DeviceCode == "":
		return nil, fmt.Errorf("%w: device authorization response has no device_code", ErrInvalidResponse)
	case dr.UserCode == "":
		return nil, fmt.Errorf("%w: device authorization response has no user_code", ErrInvalidResponse)
	case !oidcmeta.Allowed(dr.VerificationURI, allowHTTP):
		return nil, fmt.Errorf("%w: device authorization response has no usable verification_uri", ErrInvalidResponse)
	case dr.VerificationURIComplete != "" && !oidcmeta.Allowed(dr.VerificationURIComplete, allowHTTP):
		return nil, fmt.Errorf("%w: device authorization response has an unusable verification_uri_complete", ErrInvalidResponse)
	case dr.ExpiresIn <= 0 || dr.ExpiresIn > maxDeviceLifetime:
		return nil, fmt.Errorf("%w: device authorization response has no valid expires_in", ErrInvalidResponse)
	}
	seconds := dr.Interval
	if seconds <= 0 {
		seconds = expiresIn(DefaultDeviceInterval / time.Second)
	}
	// An interval beyond the code's lifetime, given or defaulted, would
	// mean no poll before expiry. Clamped in seconds: no overflow.
	interval := time.Duration(min(seconds, dr.ExpiresIn)) * time.Second
	return &DeviceAuthorization{
		DeviceCode:              dr.DeviceCode,
		UserCode:                dr.UserCode,
		VerificationURI:         dr.VerificationURI,
		VerificationURIComplete: dr.VerificationURIComplete,
		ExpiresAt:               at.Add(time.Duration(dr.ExpiresIn) * time.Second),
		Interval:                interval,
	}, nil
}

// DeviceWaitOptions tune WaitDeviceSignInWith.
type DeviceWaitOptions struct {
	// OnPoll, when set, is called before each wait with the time left
	// before the device code expires, e.g. to show it on a terminal. It
	// runs on the waiting goroutine: it should return quickly.
	OnPoll func(left time.Duration)
}

// WaitDeviceSignIn completes a device sign-in started by StartDeviceSignIn:
// it polls the token endpoint, waiting da.Interval between requests, until
// the user approves or denies the sign-in, the code expires or ctx is done.
// authorization_pending continues; slow_down raises the interval by five
// seconds each time (RFC 8628 3.5). Once Logto issues the tokens, the ID
// token is verified (signature, iss, aud, azp, exp, iat, sub; the device
// flow has no nonce, so the token must carry none) and the tokens are
// stored in the session as HandleCallback stores them: GetAccessToken,
// organization tokens, FetchUserInfo, SignOut and refresh work the same.
//
// Errors: ErrDeviceCodeExpired (Logto answered expired_token, or the code
// expired by the client's clock), ErrDeviceAccessDenied (the user denied
// it; an *OAuthError with Code "access_denied" is in the chain too),
// ctx.Err() wrapped when ctx is done, and any other *OAuthError of the
// token endpoint. On any error the session is left as it was.
//
// The wait uses the client's clock (WithClock) and timer (WithSleep), so
// tests can drive it without waiting.
//
// A device code gives tokens once: when Logto issues them, da.DeviceCode
// is cleared, and a later call with da fails with ErrInvalidConfig instead
// of sending the spent code, whose second use would make Logto revoke the
// tokens just issued. Wait on one DeviceAuthorization from one goroutine
// at a time. After a cancelled context or a network error, da may be
// waited on again until it expires.
func (c *LogtoClient) WaitDeviceSignIn(ctx context.Context, da *DeviceAuthorization) error {
	return c.WaitDeviceSignInWith(ctx, da, DeviceWaitOptions{})
}

// WaitDeviceSignInWith is WaitDeviceSignIn with options, e.g. a progress
// callback.
func (c *LogtoClient) WaitDeviceSignInWith(ctx context.Context, da *DeviceAuthorization, opts DeviceWaitOptions) error {
	if da == nil || da.DeviceCode == "" {
		return fmt.Errorf("%w: WaitDeviceSignIn needs an unused DeviceAuthorization of StartDeviceSignIn", ErrInvalidConfig)
	}
	m, err := c.core.provider(ctx)
	if err != nil {
		return err
	}
	interval := da.Interval
	if interval <= 0 {
		interval = DefaultDeviceInterval
	}
	for {
		left := da.ExpiresAt.Sub(c.core.set.now())
		if left <= 0 {
			return fmt.Errorf("%w (by the client's clock)", ErrDeviceCodeExpired)
		}
		if opts.OnPoll != nil {
			opts.OnPoll(left)
		}
		if err := c.core.set.sleep(ctx, min(interval, left)); err != nil {
			return fmt.Errorf("logto: wait for device sign-in: %w", err)
		}
		if !c.core.set.now().Before(da.ExpiresAt) {
			return fmt.Errorf("%w (by the client's clock)", ErrDeviceCodeExpired)
		}
		form := url.Values{
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
			"device_code": {da.DeviceCode},
		}
		at := c.core.set.now()
		tr, err := c.core.postToken(ctx, m, form)
		if err == nil {
			// The code is spent: Logto would answer a second use by
			// revoking the tokens it issued.
			da.DeviceCode = ""
			return c.storeDeviceTokens(ctx, m, tr, at)
		}
		var oe *OAuthError
		if !errors.As(err, &oe) {
			return wrapf(err, "poll for device sign-in")
		}
		switch oe.Code {
		case "authorization_pending":
		case "slow_down":
			interval += slowDownStep
		case "access_denied":
			return fmt.Errorf("%w: %w", ErrDeviceAccessDenied, oe)
		case "expired_token":
			return fmt.Errorf("%w: %w", ErrDeviceCodeExpired, oe)
		default:
			return wrapf(err, "poll for device sign-in")
		}
	}
}

// storeDeviceTokens verifies the ID token of a device_code grant response
// and stores the tokens as a sign-in.
func (c *LogtoClient) storeDeviceTokens(ctx context.Context, m *providerMeta, tr *tokenResponse, at time.Time) error {
	if tr.IDToken == "" {
		return fmt.Errorf("%w: token response has no id_token", ErrInvalidResponse)
	}
	claims, err := c.core.verifyIDToken(ctx, m, tr.IDToken, idTokenCheck{})
	if err != nil {
		return err
	}
	if claims.Nonce != "" {
		return fmt.Errorf("%w: the device flow has no nonce, yet the ID token carries one", ErrInvalidIDToken)
	}
	c.core.claimsCache.put(tr.IDToken, &decodedClaims{raw: tr.IDToken, claims: claims})
	entries := map[string]cachedToken{"": tokenEntry(tr, at)}
	return c.storeSession(ctx, tr.IDToken, tr.RefreshToken, entries)
}

// sleepContext waits d, or until ctx is done (then it returns ctx.Err()).
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
