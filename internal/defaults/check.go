package defaults

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// The reasons a setting is refused. Callers name the setting and its value
// (see Field); the reason says what the value must be.
var (
	errNegative    = errors.New("must not be negative")
	errNotPositive = errors.New("must be positive")
	errJWKSMaxAge  = fmt.Errorf("must be positive and at most %s", JWKSMaxAgeCeiling)
)

// NotNegative checks a value that may be zero but not negative.
func NotNegative[T ~int | ~int64](v T) error {
	if v < 0 {
		return errNegative
	}
	return nil
}

// Positive checks a value that must be greater than zero.
func Positive[T ~int | ~int64](v T) error {
	if v <= 0 {
		return errNotPositive
	}
	return nil
}

// JWKSMaxAgeRange checks a key set maximum age: positive and at most
// JWKSMaxAgeCeiling.
func JWKSMaxAgeRange(d time.Duration) error {
	if d <= 0 || d > JWKSMaxAgeCeiling {
		return errJWKSMaxAge
	}
	return nil
}

// Field names the setting and the value a check refused, as in
// "Config.Leeway -1s: must not be negative"; it returns nil when err is
// nil.
func Field(setting string, value any, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %v: %w", setting, value, err)
}

// Verification fills in the zero values of the key set and clock settings
// that apiauth.Config and backchannel.Config share (Leeway,
// JWKSRefreshCooldown, JWKSMaxAge) with their defaults, and checks them.
// The error names the first bad field, e.g. "Config.Leeway -1s: must not
// be negative"; the caller adds its package's prefix.
func Verification(leeway, cooldown, maxAge *time.Duration) error {
	*leeway = Or(*leeway, Leeway)
	*cooldown = Or(*cooldown, JWKSRefreshCooldown)
	*maxAge = Or(*maxAge, JWKSMaxAge)
	return cmp.Or(
		Field("Config.Leeway", *leeway, NotNegative(*leeway)),
		Field("Config.JWKSRefreshCooldown", *cooldown, NotNegative(*cooldown)),
		Field("Config.JWKSMaxAge", *maxAge, JWKSMaxAgeRange(*maxAge)),
	)
}
