package logto

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Claim holds one optional claim and keeps the three states Logto uses
// apart: absent (the scope was not requested), null (requested, but the
// user has no value) and set. The zero Claim is absent.
//
// Struct fields of type Claim carry the `omitzero` JSON option, so encoding
// a claims value reproduces what Logto sent: absent stays absent, null
// stays null.
type Claim[T any] struct {
	value T
	state claimState
}

type claimState uint8

const (
	claimAbsent claimState = iota
	claimNull
	claimSet
)

// Present reports whether the claim was in the token or response, null or not.
func (c Claim[T]) Present() bool { return c.state != claimAbsent }

// Null reports whether the claim was present with the value null.
func (c Claim[T]) Null() bool { return c.state == claimNull }

// Value returns the claim's value and true when it is set (present and not
// null), or the zero value and false.
func (c Claim[T]) Value() (T, bool) { return c.value, c.state == claimSet }

// Get returns the value, or T's zero value when the claim is absent or null.
func (c Claim[T]) Get() T { return c.value }

// IsZero reports whether the claim is absent; it drives `omitzero`.
func (c Claim[T]) IsZero() bool { return c.state == claimAbsent }

// String renders the claim for debugging: <absent>, <null> or the value.
func (c Claim[T]) String() string {
	switch c.state {
	case claimAbsent:
		return "<absent>"
	case claimNull:
		return "<null>"
	}
	b, err := json.Marshal(c.value)
	if err != nil {
		return "<invalid>"
	}
	return string(b)
}

// MarshalJSON encodes null for an absent or null claim, else the value.
func (c Claim[T]) MarshalJSON() ([]byte, error) {
	if c.state != claimSet {
		return []byte("null"), nil
	}
	return json.Marshal(c.value)
}

// UnmarshalJSON records null or the decoded value. It is called only for
// keys present in the JSON, which is how absence is detected.
//
// The common claim types (strings, booleans, millisecond times, string
// lists, raw JSON) are decoded here directly: going back through
// json.Unmarshal would scan and validate each value a second time. Any
// value the direct path does not take whole (escapes, numbers in exponent
// form, other types) goes through json.Unmarshal, so the result and the
// errors are the same either way.
func (c *Claim[T]) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		var zero T
		c.value, c.state = zero, claimNull
		return nil
	}
	// decodeCommon writes c.value only when it takes the value whole.
	if decodeCommon(trimSpace(b), &c.value) {
		c.state = claimSet
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.value, c.state = v, claimSet
	return nil
}

// decodeCommon decodes b into *p when p is one of the common claim types
// and b is a value json.Unmarshal would decode to exactly the same result.
// It reports false, leaving *p alone, for anything else.
func decodeCommon[T any](b []byte, p *T) bool {
	switch p := any(p).(type) {
	case *string:
		s, rest, ok := plainString(b)
		if ok && len(rest) == 0 {
			*p = s
			return true
		}
	case *bool:
		switch string(b) {
		case "true":
			*p = true
			return true
		case "false":
			*p = false
			return true
		}
	case *EpochMillis:
		if n, ok := plainInt(b); ok {
			*p = EpochMillis(n)
			return true
		}
	case *[]string:
		if l, ok := plainStrings(b); ok {
			*p = l
			return true
		}
	case *json.RawMessage:
		// The copy json.RawMessage keeps, after the same validation.
		if json.Valid(b) {
			*p = append(json.RawMessage(nil), b...)
			return true
		}
	}
	return false
}

// plainString reads a JSON string at the start of b that needs no
// unescaping: valid UTF-8 without backslash or control characters. It
// returns the string and what follows it.
func plainString(b []byte) (string, []byte, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", nil, false
	}
	ascii := true
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			body := b[1:i]
			if !ascii && !utf8.Valid(body) {
				return "", nil, false
			}
			return string(body), b[i+1:], true
		case c == '\\' || c < 0x20:
			return "", nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", nil, false
}

// plainInt reads a JSON integer (no fraction or exponent) that fits an
// int64.
func plainInt(b []byte) (int64, bool) {
	digits := b
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// plainStrings reads a JSON array of plain strings (see plainString). An
// empty array gives an empty, non-nil slice, as json.Unmarshal does.
func plainStrings(b []byte) ([]string, bool) {
	if len(b) < 2 || b[0] != '[' {
		return nil, false
	}
	b = skipSpace(b[1:])
	if len(b) > 0 && b[0] == ']' {
		return []string{}, len(b) == 1
	}
	var out []string
	for {
		s, rest, ok := plainString(b)
		if !ok {
			return nil, false
		}
		out = append(out, s)
		b = skipSpace(rest)
		if len(b) == 0 {
			return nil, false
		}
		switch b[0] {
		case ']':
			return out, len(b) == 1
		case ',':
			b = skipSpace(b[1:])
		default:
			return nil, false
		}
	}
}

// isSpace reports JSON white space (narrower than unicode.IsSpace).
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace drops leading JSON white space.
func skipSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// trimSpace drops leading and trailing JSON white space.
func trimSpace(b []byte) []byte {
	b = skipSpace(b)
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// EpochMillis is a time in milliseconds since the Unix epoch, the unit of
// Logto's created_at and updated_at (not seconds).
type EpochMillis int64

// Time converts to time.Time.
func (m EpochMillis) Time() time.Time { return time.UnixMilli(int64(m)) }

// NumericDate is a JWT time in seconds since the Unix epoch (RFC 7519).
// Fractional values are accepted and truncated.
type NumericDate int64

// Time converts to time.Time.
func (d NumericDate) Time() time.Time { return time.Unix(int64(d), 0) }

// UnmarshalJSON accepts an integer or fractional JSON number.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*d = NumericDate(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64 || f < math.MinInt64 {
		return errors.New("logto: JWT time is not a number")
	}
	*d = NumericDate(int64(f))
	return nil
}

// Audience is the aud claim: one or several recipients. It decodes from a
// string or an array and encodes a single recipient as a string.
type Audience []string

// Contains reports whether s is one of the recipients.
func (a Audience) Contains(s string) bool { return contains(a, s) }

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = Audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("logto: aud must be a string or an array of strings")
	}
	*a = l
	return nil
}

// MarshalJSON writes one recipient as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// Address is the OIDC address claim.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// Identity is one social identity of the user (identities claim).
type Identity struct {
	UserID  string         `json:"userId"`
	Details map[string]any `json:"details,omitempty"`
}

// SSOIdentity is one enterprise SSO identity (sso_identities claim).
type SSOIdentity struct {
	Issuer     string         `json:"issuer"`
	IdentityID string         `json:"identityId"`
	Detail     map[string]any `json:"detail,omitempty"`
}

// OrganizationData describes an organization the user belongs to.
type OrganizationData struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// UserClaims are the user claims Logto puts in ID tokens and user info,
// each tied to a scope (see the README's table). Claims only user info
// carries by default (custom_data, identities, sso_identities,
// organization_data) are here too, so one type serves both.
type UserClaims struct {
	Name                Claim[string]              `json:"name,omitzero"`
	Username            Claim[string]              `json:"username,omitzero"`
	Picture             Claim[string]              `json:"picture,omitzero"`
	GivenName           Claim[string]              `json:"given_name,omitzero"`
	FamilyName          Claim[string]              `json:"family_name,omitzero"`
	MiddleName          Claim[string]              `json:"middle_name,omitzero"`
	Nickname            Claim[string]              `json:"nickname,omitzero"`
	PreferredUsername   Claim[string]              `json:"preferred_username,omitzero"`
	Profile             Claim[string]              `json:"profile,omitzero"`
	Website             Claim[string]              `json:"website,omitzero"`
	Gender              Claim[string]              `json:"gender,omitzero"`
	Birthdate           Claim[string]              `json:"birthdate,omitzero"`
	Zoneinfo            Claim[string]              `json:"zoneinfo,omitzero"`
	Locale              Claim[string]              `json:"locale,omitzero"`
	CreatedAt           Claim[EpochMillis]         `json:"created_at,omitzero"`
	UpdatedAt           Claim[EpochMillis]         `json:"updated_at,omitzero"`
	Email               Claim[string]              `json:"email,omitzero"`
	EmailVerified       Claim[bool]                `json:"email_verified,omitzero"`
	PhoneNumber         Claim[string]              `json:"phone_number,omitzero"`
	PhoneNumberVerified Claim[bool]                `json:"phone_number_verified,omitzero"`
	Address             Claim[Address]             `json:"address,omitzero"`
	CustomData          Claim[json.RawMessage]     `json:"custom_data,omitzero"`
	Identities          Claim[map[string]Identity] `json:"identities,omitzero"`
	SSOIdentities       Claim[[]SSOIdentity]       `json:"sso_identities,omitzero"`
	Roles               Claim[[]string]            `json:"roles,omitzero"`
	Organizations       Claim[[]string]            `json:"organizations,omitzero"`
	OrganizationRoles   Claim[[]string]            `json:"organization_roles,omitzero"`
	OrganizationData    Claim[[]OrganizationData]  `json:"organization_data,omitzero"`
}

// IdTokenClaims are the claims of a verified ID token.
type IdTokenClaims struct {
	Issuer   string      `json:"iss"`
	Subject  string      `json:"sub"`
	Audience Audience    `json:"aud"`
	Expiry   NumericDate `json:"exp"`
	IssuedAt NumericDate `json:"iat"`
	AuthTime NumericDate `json:"auth_time,omitempty"`
	Nonce    string      `json:"nonce,omitempty"`
	SID      string      `json:"sid,omitempty"`
	AZP      string      `json:"azp,omitempty"`
	AtHash   string      `json:"at_hash,omitempty"`
	UserClaims
	raw json.RawMessage
}

// Claims decodes the token's whole payload into v, for custom claims (for
// example those a Logto JWT customizer adds).
func (c IdTokenClaims) Claims(v any) error { return decodeRaw(c.raw, v) }

// UserInfo is the response of Logto's user info endpoint.
type UserInfo struct {
	Subject string `json:"sub"`
	UserClaims
	raw json.RawMessage
}

// Claims decodes the whole response into v, for claims this type lacks.
func (u UserInfo) Claims(v any) error { return decodeRaw(u.raw, v) }

// AccessTokenClaims are the claims of a Logto JWT access token (API or
// organization token). They are decoded, not verified: the API that
// receives the token verifies it.
type AccessTokenClaims struct {
	Issuer         string      `json:"iss"`
	Subject        string      `json:"sub"`
	Audience       Audience    `json:"aud"`
	Expiry         NumericDate `json:"exp"`
	IssuedAt       NumericDate `json:"iat"`
	NotBefore      NumericDate `json:"nbf,omitempty"`
	JWTID          string      `json:"jti,omitempty"`
	Scope          string      `json:"scope,omitempty"`
	ClientID       string      `json:"client_id,omitempty"`
	OrganizationID string      `json:"organization_id,omitempty"`
	raw            json.RawMessage
	// Act names who acts for the subject in a token issued by a token
	// exchange with an actor token (see TokenExchangeRequest.ActorToken),
	// nil otherwise.
	Act *Actor `json:"act,omitempty"`
}

// Scopes splits Scope on spaces.
func (c AccessTokenClaims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether s is one of the granted scopes.
func (c AccessTokenClaims) HasScope(s string) bool { return contains(c.Scopes(), s) }

// Claims decodes the token's whole payload into v, for custom claims.
func (c AccessTokenClaims) Claims(v any) error { return decodeRaw(c.raw, v) }

func decodeRaw(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return errors.New("logto: no claims to decode")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return wrapf(err, "decode claims")
	}
	return nil
}
