package logto

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
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

// ClaimOf returns a Claim set to v.
func ClaimOf[T any](v T) Claim[T] { return Claim[T]{value: v, state: claimSet} }

// NullClaim returns a Claim that is present with the value null.
func NullClaim[T any]() Claim[T] { return Claim[T]{state: claimNull} }

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
func (c *Claim[T]) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		var zero T
		c.value, c.state = zero, claimNull
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	c.value, c.state = v, claimSet
	return nil
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
