package logto

import (
	"encoding/json"
	"strings"
)

// userInfoAnswer is a user info body as decodeAnswer reads it: the claims
// and the error member, if any.
type userInfoAnswer struct {
	UserInfo
	Error json.RawMessage `json:"error"`
}

// decodeBody decodes a user info body exactly as json.Unmarshal would
// decode it into the answer, in one pass over its members instead of
// encoding/json's reflection, which scans every Claim value twice (once
// to find its end, once in Claim.UnmarshalJSON): about a third of
// FetchUserInfo's CPU time went there.
//
// The body is validated first, as json.Unmarshal does. Anything the pass
// does not take whole goes to json.Unmarshal for the entire body, so the
// result and the errors are the same either way: a body that is not an
// object, a member name with escapes or differing only in case from a
// claim's (encoding/json matches names without regard to case), and a
// value of the wrong type. FuzzUserInfoDecode compares the two.
func (a *userInfoAnswer) decodeBody(b []byte) error {
	if json.Valid(b) && a.decodeMembers(b) {
		return nil
	}
	*a = userInfoAnswer{}
	return json.Unmarshal(b, a)
}

// decodeMembers decodes the members of valid JSON b into a and reports
// whether it took them all (see decodeBody).
func (a *userInfoAnswer) decodeMembers(b []byte) bool {
	b = skipSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = skipSpace(b[1:])
	if b[0] == '}' {
		return true
	}
	for {
		name, rest, ok := plainString(b)
		if !ok {
			return false
		}
		b = skipSpace(skipSpace(rest)[1:]) // past the colon
		end := valueEnd(b)
		if !a.member(name, b[:end]) {
			return false
		}
		b = skipSpace(b[end:])
		if b[0] == '}' {
			return true
		}
		b = skipSpace(b[1:]) // past the comma
	}
}

// member decodes one member; false hands the body to json.Unmarshal.
func (a *userInfoAnswer) member(name string, v []byte) bool {
	if name == "sub" {
		if string(v) == "null" {
			return true // json.Unmarshal leaves a string alone for null
		}
		s, rest, ok := plainString(v)
		if ok && len(rest) == 0 {
			a.Subject = s
		}
		return ok && len(rest) == 0
	}
	if name == "error" {
		a.Error = append(json.RawMessage(nil), v...)
		return true
	}
	if u := a.claim(name); u != nil {
		return u.UnmarshalJSON(v) == nil
	}
	// An unknown member is ignored, unless encoding/json would take it for
	// one of the answer's (it matches names as bytes.EqualFold does).
	for _, known := range [...]string{
		"sub", "error", "name", "username", "picture", "given_name", "family_name",
		"middle_name", "nickname", "preferred_username", "profile", "website",
		"gender", "birthdate", "zoneinfo", "locale", "created_at", "updated_at",
		"email", "email_verified", "phone_number", "phone_number_verified",
		"address", "custom_data", "identities", "sso_identities", "roles",
		"organizations", "organization_roles", "organization_data",
	} {
		if strings.EqualFold(name, known) {
			return false
		}
	}
	return true
}

// claim returns the claim field of JSON name, or nil.
func (a *userInfoAnswer) claim(name string) json.Unmarshaler {
	c := &a.UserClaims
	switch name {
	case "name":
		return &c.Name
	case "username":
		return &c.Username
	case "picture":
		return &c.Picture
	case "given_name":
		return &c.GivenName
	case "family_name":
		return &c.FamilyName
	case "middle_name":
		return &c.MiddleName
	case "nickname":
		return &c.Nickname
	case "preferred_username":
		return &c.PreferredUsername
	case "profile":
		return &c.Profile
	case "website":
		return &c.Website
	case "gender":
		return &c.Gender
	case "birthdate":
		return &c.Birthdate
	case "zoneinfo":
		return &c.Zoneinfo
	case "locale":
		return &c.Locale
	case "created_at":
		return &c.CreatedAt
	case "updated_at":
		return &c.UpdatedAt
	case "email":
		return &c.Email
	case "email_verified":
		return &c.EmailVerified
	case "phone_number":
		return &c.PhoneNumber
	case "phone_number_verified":
		return &c.PhoneNumberVerified
	case "address":
		return &c.Address
	case "custom_data":
		return &c.CustomData
	case "identities":
		return &c.Identities
	case "sso_identities":
		return &c.SSOIdentities
	case "roles":
		return &c.Roles
	case "organizations":
		return &c.Organizations
	case "organization_roles":
		return &c.OrganizationRoles
	case "organization_data":
		return &c.OrganizationData
	}
	return nil
}

// valueEnd returns the length of the JSON value at the start of b, which
// must be valid JSON (checked by the caller).
func valueEnd(b []byte) int {
	switch b[0] {
	case '"':
		return stringEnd(b)
	case '{', '[':
		depth := 0
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '"':
				i += stringEnd(b[i:]) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i, c := range b { // a number or a literal
		switch c {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return len(b)
}

// stringEnd returns the length of the JSON string at the start of b,
// quotes included.
func stringEnd(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}
