package logto

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gologto/logto/internal/jwtx"
	"github.com/gologto/logto/internal/timecheck"
)

// idTokenCheck names what an ID token must match beyond signature, issuer
// and audience.
type idTokenCheck struct {
	// nonce the token must carry; "" means the token must carry none or
	// the one of previous (refresh responses, OIDC Core 12.2).
	nonce string
	// previous is the session's current ID token, for refresh responses:
	// the new one must keep its iss and sub.
	previous *IdTokenClaims
}

// verifyIDToken checks raw completely: signature with the provider's keys
// and an allowed asymmetric algorithm, iss, aud (and azp), exp, iat, nbf,
// sub and nonce. It returns the decoded claims.
func (c *core) verifyIDToken(ctx context.Context, m *providerMeta, raw string, check idTokenCheck) (IdTokenClaims, error) {
	// The key set accepts only a compact JWS (OIDC Core 2, RFC 7519 7.1):
	// the JSON serialization is refused there.
	var keyErr error
	tok, err := m.verifier.Verify(context.WithValue(ctx, keySetCauseKey{}, &keyErr), raw)
	if err != nil {
		if keyErr != nil {
			return IdTokenClaims{}, fmt.Errorf("%w: signature: %w", ErrInvalidIDToken, keyErr)
		}
		return IdTokenClaims{}, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	var claims IdTokenClaims
	if err := tok.Claims(&claims); err != nil {
		return IdTokenClaims{}, fmt.Errorf("%w: decode claims: %w", ErrInvalidIDToken, err)
	}
	if err := tok.Claims(&claims.raw); err != nil {
		return IdTokenClaims{}, fmt.Errorf("%w: decode claims: %w", ErrInvalidIDToken, err)
	}
	// The same payload rule as for tokens read back from storage: every
	// number must decode, or Claims(&map) would fail later.
	if err := jwtx.CheckNumbers(claims.raw); err != nil {
		return IdTokenClaims{}, fmt.Errorf("%w: decode claims: %w", ErrInvalidIDToken, err)
	}
	if err := c.checkIDClaims(&claims, check); err != nil {
		return IdTokenClaims{}, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}
	return claims, nil
}

func (c *core) checkIDClaims(claims *IdTokenClaims, check idTokenCheck) error {
	now := c.set.now()
	leeway := c.set.leeway
	if claims.Subject == "" {
		return errors.New("sub is missing")
	}
	var nbf struct {
		NotBefore *NumericDate `json:"nbf"`
	}
	if err := json.Unmarshal(claims.raw, &nbf); err != nil {
		return fmt.Errorf("nbf: %w", err)
	}
	times := timecheck.Claims{Expiry: int64(claims.Expiry), IssuedAt: int64(claims.IssuedAt)}
	if nbf.NotBefore != nil {
		times.NotBefore = int64(*nbf.NotBefore)
	}
	if e := timecheck.Check(times, now, timecheck.Rules{Leeway: leeway, Required: timecheck.Exp | timecheck.Iat}); e != nil {
		return e
	}
	appID := c.cfg.AppId
	if len(claims.Audience) > 1 && claims.AZP == "" {
		return errors.New("azp is required when aud has several values")
	}
	if claims.AZP != "" && claims.AZP != appID {
		return errors.New("azp is not this application")
	}
	switch {
	case check.nonce != "":
		if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(check.nonce)) != 1 {
			return errors.New("nonce does not match the sign-in request")
		}
	case check.previous != nil && claims.Nonce != "" && claims.Nonce != check.previous.Nonce:
		return errors.New("nonce differs from the original ID token")
	}
	if p := check.previous; p != nil {
		if claims.Issuer != p.Issuer || claims.Subject != p.Subject {
			return fmt.Errorf("%w: refreshed ID token has another iss or sub", ErrSubjectMismatch)
		}
	}
	return nil
}

// decodeIDToken decodes an ID token already verified (read back from
// storage).
func decodeIDToken(raw string) (IdTokenClaims, error) {
	payload, err := jwtx.Payload(raw)
	if err != nil {
		return IdTokenClaims{}, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	}
	var claims IdTokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return IdTokenClaims{}, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	}
	claims.raw = payload
	return claims, nil
}

// decodeAccessToken decodes a JWT access token without verifying it.
func decodeAccessToken(raw string) (AccessTokenClaims, error) {
	payload, err := jwtx.Payload(raw)
	if err != nil {
		return AccessTokenClaims{}, fmt.Errorf("%w: access token is not a JWT", ErrTokenMalformed)
	}
	var claims AccessTokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		return AccessTokenClaims{}, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	}
	claims.raw = payload
	return claims, nil
}
