package logto

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// JWT vectors of the Python SDK (fake signature).
const (
	pyIDToken     = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2xvZ3RvLmFwcCIsImF1ZCI6ImZvbyIsImV4cCI6MTYxNjQ0NjQwMCwiaWF0IjoxNjE2NDQ2MzAwLCJzdWIiOiJ1c2VyMSIsIm5hbWUiOiJKb2huIFdpY2siLCJ1c2VybmFtZSI6ImpvaG4iLCJlbWFpbCI6ImpvaG5Ad2ljay5jb20iLCJlbWFpbF92ZXJpZmllZCI6dHJ1ZX0.12345678901234567890123456789012345678901234567890"
	pyAccessToken = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJodHRwczovL2xvZ3RvLmFwcCIsImF1ZCI6Imh0dHBzOi8vbG9ndG8uYXBwL2FwaSIsImV4cCI6OTk5OTk5OTk5OSwiaWF0IjoxNjE2NDQ2MzAwLCJzdWIiOiJ1c2VyMSIsInNjb3BlIjoiYWRtaW4gdXNlciIsImNsaWVudF9pZCI6InNhcXJlMW9xYmtwajZ6aHE4NWhvMCJ9.12345678901234567890123456789012345678901234567890"
)

func TestDecodePythonIDTokenVector(t *testing.T) {
	c, err := decodeIDToken(pyIDToken)
	require.NoError(t, err)
	assert.Equal(t, "https://logto.app", c.Issuer)
	assert.Equal(t, Audience{"foo"}, c.Audience)
	assert.Equal(t, NumericDate(1616446400), c.Expiry)
	assert.Equal(t, NumericDate(1616446300), c.IssuedAt)
	assert.Equal(t, "user1", c.Subject)
	assert.Equal(t, ClaimOf("John Wick"), c.Name)
	assert.Equal(t, ClaimOf("john"), c.Username)
	assert.Equal(t, ClaimOf("john@wick.com"), c.Email)
	assert.Equal(t, ClaimOf(true), c.EmailVerified)
	assert.False(t, c.Picture.Present(), "picture was not in the token")
	assert.False(t, c.PhoneNumber.Present())
}

func TestDecodePythonAccessTokenVector(t *testing.T) {
	c, err := decodeAccessToken(pyAccessToken)
	require.NoError(t, err)
	assert.Equal(t, "https://logto.app", c.Issuer)
	assert.Equal(t, Audience{"https://logto.app/api"}, c.Audience)
	assert.Equal(t, NumericDate(9999999999), c.Expiry)
	assert.Equal(t, NumericDate(1616446300), c.IssuedAt)
	assert.Equal(t, "user1", c.Subject)
	assert.Equal(t, "admin user", c.Scope)
	assert.Equal(t, []string{"admin", "user"}, c.Scopes())
	assert.True(t, c.HasScope("user"))
	assert.False(t, c.HasScope("adm"))
	assert.Equal(t, "saqre1oqbkpj6zhq85ho0", c.ClientID)
}

func TestDecodeMalformedTokens(t *testing.T) {
	for _, tok := range []string{
		"", "abc", "a.b", "a.b.c.d", "e30", "!!!.e30.x",
		"eyJhbGciOiJub25lIn0.bm90IGpzb24.sig",         // payload not JSON
		"eyJhbGciOiJub25lIn0.WzFd.sig",                // payload a JSON array
		"eyJhbGciOiJub25lIn0.eyJleHAiOiJzb29uIn0.sig", // exp not a number
		"eyJhbGciOiJub25lIn0.eyJhdWQiOjF9.sig",        // aud a number
	} {
		_, err := decodeIDToken(tok)
		assert.ErrorIs(t, err, ErrTokenMalformed, "%q", tok)
		_, err = decodeAccessToken(tok)
		assert.ErrorIs(t, err, ErrTokenMalformed, "%q", tok)
	}
}

func TestClaimStates(t *testing.T) {
	var u UserInfo
	require.NoError(t, json.Unmarshal([]byte(`{"sub":"s","name":null,"username":"john"}`), &u))
	tests := []struct {
		name          string
		claim         Claim[string]
		present, null bool
		value         string
		ok            bool
		rendered      string
	}{
		{"absent", u.Email, false, false, "", false, "<absent>"},
		{"null", u.Name, true, true, "", false, "<null>"},
		{"set", u.Username, true, false, "john", true, `"john"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.present, tt.claim.Present())
			assert.Equal(t, tt.null, tt.claim.Null())
			v, ok := tt.claim.Value()
			assert.Equal(t, tt.value, v)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.value, tt.claim.Get())
			assert.Equal(t, tt.rendered, tt.claim.String())
		})
	}
}

// TestUserInfoJSONRoundTrip checks against golden files that decoding then
// encoding keeps every claim's state: absent stays absent, null stays null.
func TestUserInfoJSONRoundTrip(t *testing.T) {
	for _, name := range []string{"userinfo_full", "userinfo_minimal"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "claims", name+".json"))
			require.NoError(t, err)
			var u UserInfo
			require.NoError(t, json.Unmarshal(in, &u))
			out, err := json.Marshal(u)
			require.NoError(t, err)

			var want, got map[string]any
			require.NoError(t, json.Unmarshal(in, &want))
			require.NoError(t, json.Unmarshal(out, &got))
			delete(want, "favorite_weapon") // custom claims are read through Claims(v)
			assert.Equal(t, want, got)
		})
	}
}

func TestUserInfoTypedClaims(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "claims", "userinfo_full.json"))
	require.NoError(t, err)
	var u UserInfo
	require.NoError(t, json.Unmarshal(in, &u))
	u.raw = in

	created, ok := u.CreatedAt.Value()
	require.True(t, ok)
	assert.Equal(t, time.Date(2023, 11, 14, 22, 13, 20, 123_000_000, time.UTC), created.Time().UTC(), "created_at is in milliseconds")
	assert.True(t, u.PhoneNumber.Null())
	assert.Equal(t, ClaimOf(false), u.PhoneNumberVerified)
	assert.Equal(t, "US", u.Address.Get().Country)
	assert.JSONEq(t, `{"plan":"pro","seats":3}`, string(u.CustomData.Get()))
	assert.Equal(t, "gh-1", u.Identities.Get()["github"].UserID)
	assert.True(t, u.SSOIdentities.Present())
	assert.Empty(t, u.SSOIdentities.Get())
	assert.Equal(t, []string{"org-1:member"}, u.OrganizationRoles.Get())
	assert.Equal(t, "High Table", u.OrganizationData.Get()[0].Name)

	var custom struct {
		Weapon string `json:"favorite_weapon"`
	}
	require.NoError(t, u.Claims(&custom))
	assert.Equal(t, "pencil", custom.Weapon)
}

func TestAudience(t *testing.T) {
	tests := []struct {
		in      string
		want    Audience
		encoded string
	}{
		{`"a"`, Audience{"a"}, `"a"`},
		{`["a"]`, Audience{"a"}, `"a"`},
		{`["a","b"]`, Audience{"a", "b"}, `["a","b"]`},
	}
	for _, tt := range tests {
		var a Audience
		require.NoError(t, json.Unmarshal([]byte(tt.in), &a))
		assert.Equal(t, tt.want, a)
		b, err := json.Marshal(a)
		require.NoError(t, err)
		assert.Equal(t, tt.encoded, string(b))
	}
	var a Audience
	assert.Error(t, json.Unmarshal([]byte(`{"x":1}`), &a))
	assert.Error(t, json.Unmarshal([]byte(`[1]`), &a))
}

func TestNumericDate(t *testing.T) {
	for in, want := range map[string]NumericDate{"1616446400": 1616446400, "1616446400.75": 1616446400, "1e3": 1000} {
		var d NumericDate
		require.NoError(t, json.Unmarshal([]byte(in), &d), in)
		assert.Equal(t, want, d, in)
	}
	for _, in := range []string{`"x"`, `1e400`, `true`} {
		var d NumericDate
		assert.Error(t, json.Unmarshal([]byte(in), &d), in)
	}
}

func TestClaimConstructorsEncode(t *testing.T) {
	v := struct {
		A Claim[string] `json:"a,omitzero"`
		B Claim[string] `json:"b,omitzero"`
		C Claim[string] `json:"c,omitzero"`
	}{A: ClaimOf("x"), B: NullClaim[string]()}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.True(t, bytes.Equal([]byte(`{"a":"x","b":null}`), b), string(b))
}

// claimUnmarshalReference is Claim.UnmarshalJSON as it was before the
// direct decoding of common types: a null check, then json.Unmarshal.
func claimUnmarshalReference[T any](b []byte) (Claim[T], error) {
	if string(bytes.TrimSpace(b)) == "null" {
		return NullClaim[T](), nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return Claim[T]{}, err
	}
	return ClaimOf(v), nil
}

// refClaim decodes with claimUnmarshalReference, for documents.
type refClaim[T any] struct{ c Claim[T] }

func (r *refClaim[T]) UnmarshalJSON(b []byte) (err error) {
	r.c, err = claimUnmarshalReference[T](b)
	return err
}

func sameError(t *testing.T, got, want error, format string, args ...any) {
	t.Helper()
	if (want == nil) != (got == nil) || (want != nil && want.Error() != got.Error()) {
		t.Fatalf(format+": error %v, want %v", append(args, got, want)...)
	}
}

// sameAsReference decodes in with Claim[T].UnmarshalJSON, directly and as
// a field of an object, and reports any difference from the reference.
func sameAsReference[T any](t *testing.T, in []byte) {
	t.Helper()
	want, wantErr := claimUnmarshalReference[T](in)
	var got Claim[T]
	gotErr := got.UnmarshalJSON(in)
	sameError(t, gotErr, wantErr, "%T %q", got, in)
	if wantErr == nil {
		assert.Equal(t, want, got, "%T %q", got, in)
	}

	doc := append(append([]byte(`{"v":`), in...), '}')
	var wantDoc struct{ V refClaim[T] }
	var gotDoc struct{ V Claim[T] }
	wantErr = json.Unmarshal(doc, &wantDoc)
	gotErr = json.Unmarshal(doc, &gotDoc)
	sameError(t, gotErr, wantErr, "%T in %q", got, doc)
	if wantErr == nil {
		assert.Equal(t, wantDoc.V.c, gotDoc.V, "%q", doc)
	}
}

// claimDecodeSeeds cover the direct paths and every way out of them.
var claimDecodeSeeds = []string{
	`null`, ` null `, `"john"`, ` "john" `, `""`, `"é日本"`, "\"\x7f\"", "\"bad \xff utf-8\"",
	`"esc\"aped"`, `"\u00e9"`, "\"ctrl\x01\"", `"unterminated`, `"a"x`, `"a""b"`,
	`true`, `false`, `tru`, `"true"`, `1`,
	`0`, `-0`, `1700000000123`, `-12`, `00`, `01`, `-`, `1.5`, `1e3`, `1E3`, `9223372036854775807`,
	`9223372036854775808`, `-9223372036854775809`, `+5`,
	`[]`, `[ ]`, `["a"]`, `[ "a" , "b" ]`, "[\n\"a\",\t\"b\"\r]", `["a",]`, `[,"a"]`, `["a" "b"]`,
	`["a", null]`, `["a",1]`, `["\u0041"]`, `[`, `["a"`, `["a"]x`, `[[]]`,
	`{}`, `{"plan":"pro","seats":3}`, ` {"a":[1,2,{"b":null}]} `, `{"a":}`, `{}x`, `[1,2]`,
	`{"country":"US"}`, `{"github":{"userId":"gh-1"}}`,
	// Space JSON does not allow (bytes.TrimSpace would drop it).
	"0\f", "\v\"a\"", "true\u00a0", "\u0085[]",
}

// TestClaimDecodeMatchesReference: the direct decoding of common types
// gives the same state, value and error as json.Unmarshal did.
func TestClaimDecodeMatchesReference(t *testing.T) {
	for _, in := range claimDecodeSeeds {
		t.Run(in, func(t *testing.T) { checkAllClaimTypes(t, []byte(in)) })
	}
}

func checkAllClaimTypes(t *testing.T, in []byte) {
	t.Helper()
	sameAsReference[string](t, in)
	sameAsReference[bool](t, in)
	sameAsReference[EpochMillis](t, in)
	sameAsReference[[]string](t, in)
	sameAsReference[json.RawMessage](t, in)
	sameAsReference[Address](t, in)
	sameAsReference[map[string]Identity](t, in)
}

// FuzzClaimDecode: for any input, the direct decoding of common types
// agrees with json.Unmarshal.
func FuzzClaimDecode(f *testing.F) {
	for _, in := range claimDecodeSeeds {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkAllClaimTypes(t, in) })
}

// userInfoSeeds are the golden files and variants of the structured
// claims: absent, null, empty, set, repeated, of the wrong type.
func userInfoSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range []string{"userinfo_full", "userinfo_minimal"} {
		in, err := os.ReadFile(filepath.Join("testdata", "claims", name+".json"))
		require.NoError(t, err)
		seeds = append(seeds, in)
	}
	for _, s := range []string{
		`{"sub":"u","address":null,"identities":null,"sso_identities":null,"organization_data":null}`,
		`{"sub":"u","address":{},"identities":{},"sso_identities":[],"organization_data":[]}`,
		`{"sub":"u","address":{"country":"US"},"address":null}`,
		`{"sub":"u","address":null,"address":{"country":"US"}}`,
		`{"sub":"u","ADDRESS":{"country":"US"},"Identities":{"g":{"userId":"1"}}}`,
		`{"sub":"u","identities":{"g":{"userId":"1","details":{"a":[1,null]}}},"sso_identities":[{"issuer":"i","identityId":"x"}]}`,
		`{"sub":"u","organization_data":[{"id":"o","name":"n","description":null}]}`,
		`{"sub":"u","address":"x"}`, `{"sub":"u","identities":[]}`, `{"sub":"u","organization_data":{}}`,
		`{"sub":"u","sso_identities":[1]}`, `{"sub":"u","name":null,"email":"e","roles":["a"]}`, `null`, `[]`,
		// Member names: escaped, differing in case or by Unicode folding
		// (encoding/json matches them), unknown.
		`{"s\u0075b":"u"}`, `{"Sub":"u","sub":"v"}`, "{\"\u017fub\":\"u\"}", `{"sub":"u","x-custom":{"name":"n"}}`,
		// Values: escapes, braces inside strings, white space, null and
		// wrong types for sub, the error member.
		`{"sub":"u\"v","name":"a\u00e9"}`, `{"sub":"u","custom_data":{"k":"}]\"{["}}`,
		" \t{ \"sub\" : \"u\" ,\n\"roles\" : [ \"a\" , \"b\" ] }\r\n", `{"sub":"u","sub":null}`,
		`{"sub":1}`, `{"sub":"u","error":null}`, `{"sub":"u","error":"invalid_token","error":{}}`,
		`{"sub":"u","created_at":1.5e3}`, `{"sub":"u","email_verified":"yes"}`, `{}`, `{"sub":"u"} x`, `"s"`,
	} {
		seeds = append(seeds, []byte(s))
	}
	return seeds
}

// checkUserInfoOnePass: FetchUserInfo's one-pass decoding
// (userInfoAnswer.decodeBody) gives the same answer and the same error as
// json.Unmarshal into it.
func checkUserInfoOnePass(t *testing.T, body []byte) {
	t.Helper()
	var want, got userInfoAnswer
	wantErr := json.Unmarshal(body, &want)
	gotErr := got.decodeBody(body)
	if wantErr != nil || gotErr != nil {
		require.Error(t, wantErr, "%q", body)
		require.Error(t, gotErr, "%q", body)
		require.Equal(t, wantErr.Error(), gotErr.Error(), "%q", body)
		return
	}
	assert.Equal(t, want, got, "%q", body)
}

// TestUserInfoMembersPass: which bodies the one pass takes whole, and
// which it hands to json.Unmarshal (where the two would differ otherwise).
func TestUserInfoMembersPass(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "claims", "userinfo_full.json"))
	require.NoError(t, err)
	for _, tt := range []struct {
		name  string
		body  string
		whole bool
	}{
		{"Logto's full answer", string(golden), true},
		{"empty object", `{}`, true},
		{"unknown member", `{"sub":"u","x-custom":{"name":"n"}}`, true},
		{"null sub", `{"sub":null}`, true},
		{"escaped name", `{"s\u0075b":"u"}`, false},
		{"name in other case", `{"Sub":"u"}`, false},
		{"name folding to a claim's", "{\"\u017fub\":\"u\"}", false},
		{"escaped sub", `{"sub":"u\"v"}`, false},
		{"wrong type", `{"sub":"u","email_verified":"yes"}`, false},
		{"not an object", `[]`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var a userInfoAnswer
			assert.Equal(t, tt.whole, a.decodeMembers([]byte(tt.body)))
		})
	}
}

func TestUserInfoOnePassMatchesUnmarshal(t *testing.T) {
	for _, body := range userInfoSeeds(t) {
		checkUserInfoOnePass(t, body)
	}
}

func FuzzUserInfoOnePass(f *testing.F) {
	for _, body := range userInfoSeeds(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkUserInfoOnePass(t, body) })
}
