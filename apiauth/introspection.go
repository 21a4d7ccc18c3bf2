package apiauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gologto/logto"
)

// DefaultIntrospectionCacheAge is the default of
// Introspection.MaxCacheAge: how long an active introspection answer is
// reused at most.
const DefaultIntrospectionCacheAge = time.Minute

// Introspection configures the verification of opaque access tokens
// through Logto's introspection endpoint (RFC 7662). Logto issues an
// opaque token when a client asks for no API resource (the token for the
// user info endpoint), and a token exchange without a resource yields one
// too. Without Config.Introspection, opaque tokens are refused; JWT access
// tokens are verified locally either way.
type Introspection struct {
	// ClientID and ClientSecret authenticate the API at the introspection
	// endpoint (client_secret_basic). Use a Logto app with a secret, for
	// example the API's machine-to-machine app: Logto lets an app with a
	// secret introspect the tokens of every app, a public app only its own.
	ClientID     string
	ClientSecret string
	// Clients lists the Logto apps whose opaque tokens the API accepts
	// (the token's client_id). It is required: an opaque token names no
	// API, so without it a token any app obtained for its own use would be
	// accepted here.
	Clients []string
	// MaxCacheAge bounds how long an active answer is reused: a token
	// revoked at Logto (sign-out, a deleted grant) is refused after at
	// most this long. An answer is never reused past the token's exp.
	// Zero means DefaultIntrospectionCacheAge; negative means every
	// request is introspected. Inactive answers are never cached.
	MaxCacheAge time.Duration
}

// check validates the settings and fills in the defaults.
func (in *Introspection) check() error {
	switch {
	case in.ClientID == "" || in.ClientSecret == "":
		return errors.New("Introspection.ClientID and Introspection.ClientSecret are required (an app with a secret)")
	case len(in.Clients) == 0:
		return errors.New("Introspection.Clients is required: the apps whose opaque tokens are accepted")
	case slices.Contains(in.Clients, ""):
		return errors.New("Introspection.Clients has an empty client id")
	}
	if in.MaxCacheAge == 0 {
		in.MaxCacheAge = DefaultIntrospectionCacheAge
	}
	return nil
}

// isJWT reports whether token has the shape of a compact JWS (three
// dot-separated parts). With Config.Introspection anything else is taken
// for an opaque token; without, every token is verified as a JWT.
func isJWT(token string) bool { return strings.Count(token, ".") == 2 }

// introspectionAnswer is the part of an RFC 7662 answer the Verifier reads.
type introspectionAnswer struct {
	Active    bool   `json:"active"`
	TokenType string `json:"token_type"`
	logto.AccessTokenClaims
}

// introspect verifies an opaque token at the introspection endpoint, one
// request for all the callers verifying the same token at once, and
// returns its claims and until when they may be cached.
func (v *Verifier) introspect(ctx context.Context, token string, key [32]byte, now time.Time) (*Claims, time.Time, error) {
	in := v.cfg.Introspection
	body, err := v.introspectShared(ctx, token, key)
	if err != nil {
		return nil, time.Time{}, err
	}
	c, err := v.checkIntrospection(body, now)
	if err != nil {
		return nil, time.Time{}, err
	}
	until := c.Expiry.Time()
	if in.MaxCacheAge < 0 {
		until = now
	} else if limit := now.Add(in.MaxCacheAge); limit.Before(until) {
		until = limit
	}
	return c, until, nil
}

// introspectShared sends one introspection request for all the callers
// verifying the same token at once. The request runs under the context
// of the caller that sent it; when that caller gives up, the others send
// their own once rather than fail.
func (v *Verifier) introspectShared(ctx context.Context, token string, key [32]byte) ([]byte, error) {
	in := v.cfg.Introspection
	for attempt := 0; ; attempt++ {
		ch := v.inflight.DoChan(string(key[:]), func() (any, error) {
			return v.tenant.Introspect(ctx, token, in.ClientID, in.ClientSecret)
		})
		select {
		case r := <-ch:
			if r.Err == nil {
				return r.Val.([]byte), nil
			}
			abandoned := errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)
			if abandoned && ctx.Err() == nil && attempt == 0 {
				continue
			}
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, r.Err)
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for introspection: %w", ErrUnavailable, ctx.Err())
		}
	}
}

// checkIntrospection judges an introspection answer: an active access
// token of this tenant, of an accepted app (or naming this API), with a
// subject and an expiry ahead.
func (v *Verifier) checkIntrospection(body []byte, now time.Time) (*Claims, error) {
	var a introspectionAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: introspection answer is not valid JSON: %w", ErrUnavailable, err)
	}
	c := &Claims{AccessTokenClaims: a.AccessTokenClaims, raw: body, introspected: true}
	switch {
	case !a.Active:
		return nil, invalid("token is not active (unknown, expired or revoked)", nil)
	case !strings.EqualFold(a.TokenType, "bearer"):
		// Refresh tokens introspect as active too, without a token_type.
		return nil, invalid("token is not an access token", nil)
	case c.Issuer != "" && c.Issuer != v.tenant.Issuer:
		return nil, invalid("token issued by another issuer", nil)
	case len(c.Audience) > 0 && !v.audienceOK(c):
		return nil, invalid("token is meant for another audience", nil)
	case len(c.Audience) == 0 && !slices.Contains(v.cfg.Introspection.Clients, c.ClientID):
		return nil, invalid("token was issued to an app this API does not accept", nil)
	}
	return v.checkSubjectAndTimes(c, now)
}
