// Package timecheck checks the time claims of a JWT (exp, iat, nbf; RFC
// 7519 4.1.4 to 4.1.6) against a clock with a leeway for clock skew. The
// root package (ID tokens), apiauth (access tokens) and backchannel
// (logout tokens) all check them here, so that a token is judged, and a
// failure reported, the same way everywhere.
package timecheck

import (
	"time"
)

// Claims are a token's time claims in seconds since the Unix epoch; 0
// means the claim is absent.
type Claims struct {
	Expiry, IssuedAt, NotBefore int64
}

// Required names the claims a token must carry.
type Required uint8

// The claims Rules.Required may name; nbf is checked when present and
// never required.
const (
	Exp Required = 1 << iota
	Iat
)

// Rules say how a token's time claims are judged.
type Rules struct {
	// Leeway is the clock skew allowed on every bound.
	Leeway time.Duration
	// Required lists the claims that must be present.
	Required Required
	// MaxAge, when positive, refuses a token whose iat is more than MaxAge
	// (plus Leeway) ago.
	MaxAge time.Duration
}

// Reason says how a claim failed.
type Reason uint8

// The reasons of an Error.
const (
	// Missing: a required claim is absent.
	Missing Reason = iota + 1
	// Expired: exp (plus the leeway) is not after now.
	Expired
	// Future: iat or nbf is after now plus the leeway.
	Future
	// TooOld: iat is longer ago than the maximum age plus the leeway.
	TooOld
)

// Error reports the first time claim a token failed.
type Error struct {
	// Claim is "exp", "iat" or "nbf".
	Claim string
	// Reason says how it failed.
	Reason Reason
	// By is how far the claim is beyond what the leeway (and the maximum
	// age) allow, at least 0; 0 when the claim is missing.
	By time.Duration
}

// Summary is a short description without figures, such as "token
// expired", for answers sent to a peer (apiauth's error_description).
func (e *Error) Summary() string {
	switch {
	case e.Reason == Missing:
		return e.Claim + " is missing"
	case e.Reason == Expired:
		return "token expired"
	case e.Reason == TooOld:
		return "token issued too long ago"
	case e.Claim == "nbf":
		return "token not valid yet"
	default:
		return "token issued in the future"
	}
}

// Error is the summary with the claim and by how much it failed, such as
// "token expired (exp 59m0s beyond the leeway)".
func (e *Error) Error() string {
	if e.Reason == Missing {
		return e.Summary()
	}
	bound := "the leeway"
	if e.Reason == TooOld {
		bound = "the maximum age and the leeway"
	}
	return e.Summary() + " (" + e.Claim + " " + e.By.Round(time.Second).String() + " beyond " + bound + ")"
}

// maxSeconds bounds the claims compared, about 34,800 years either side
// of 1970: time.Unix wraps around beyond ±2^63 seconds minus its epoch
// offset, which would make a huge iat or nbf read as long past.
const maxSeconds = 1 << 40

// at returns the time of claim seconds, clamped to ±maxSeconds.
func at(seconds int64) time.Time {
	return time.Unix(min(max(seconds, -maxSeconds), maxSeconds), 0)
}

// Check judges c at now and returns nil when every claim passes, or the
// Error of the first that fails, in this order: a required claim missing
// (exp, then iat), exp passed, iat in the future, nbf in the future, iat
// too old. Test the result against nil before storing it in an error.
func Check(c Claims, now time.Time, r Rules) *Error {
	switch {
	case r.Required&Exp != 0 && c.Expiry == 0:
		return &Error{Claim: "exp", Reason: Missing}
	case r.Required&Iat != 0 && c.IssuedAt == 0:
		return &Error{Claim: "iat", Reason: Missing}
	}
	if c.Expiry != 0 {
		if end := at(c.Expiry).Add(r.Leeway); !now.Before(end) {
			return &Error{Claim: "exp", Reason: Expired, By: now.Sub(end)}
		}
	}
	latest := now.Add(r.Leeway)
	if c.IssuedAt != 0 {
		if t := at(c.IssuedAt); t.After(latest) {
			return &Error{Claim: "iat", Reason: Future, By: t.Sub(latest)}
		}
	}
	if c.NotBefore != 0 {
		if t := at(c.NotBefore); t.After(latest) {
			return &Error{Claim: "nbf", Reason: Future, By: t.Sub(latest)}
		}
	}
	if r.MaxAge > 0 && c.IssuedAt != 0 {
		if end := at(c.IssuedAt).Add(r.MaxAge).Add(r.Leeway); now.After(end) {
			return &Error{Claim: "iat", Reason: TooOld, By: now.Sub(end)}
		}
	}
	return nil
}
