package jwtx

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestPayload(t *testing.T) {
	const header = "eyJhbGciOiJFUzM4NCJ9" // {"alg":"ES384"}
	const claims = "eyJzdWIiOiJ1MSJ9"     // {"sub":"u1"}
	good := header + "." + claims + ".c2ln"
	p, err := Payload(good)
	if err != nil || string(p) != `{"sub":"u1"}` {
		t.Fatalf("got %q, %v", p, err)
	}
	for _, bad := range []string{
		"", ".", "..", header, header + "." + claims, header + "." + claims + ".s.x",
		"!!." + claims + ".s", header + ".!!.s", header + ".WzFd.s", // payload [1]
		"bnVsbA." + claims + ".s",     // header null
		header + "." + claims + "=.s", // padding is not base64url raw
		strings.Repeat("a", MaxLen+1),
	} {
		if _, err := Payload(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%.40q: want ErrMalformed, got %v", bad, err)
		}
	}
}

// TestCheckNumbers: a number that encoding/json cannot decode into a
// float64 is refused, in a payload and as a bare document; everything else
// passes, strings that merely look like numbers included.
func TestCheckNumbers(t *testing.T) {
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{`{"exp":1700000000,"x":-1.5,"y":0}`, true},
		{`{"x":1e300,"y":-1.7976931348623157e308,"z":1e-700}`, true},
		{`{"x":"1e700","y":"\\\"1e700"}`, true},
		{`{"x":[1,{"y":2E+3}]}`, true},
		{`{"x":1e700}`, false},
		{`{"x":-1E400}`, false},
		{`{"a":"b\\","x":[{"y":1e309}]}`, false},
		{`{"x":1` + strings.Repeat("0", 400) + `}`, false},
	} {
		var m map[string]any
		decodes := json.Unmarshal([]byte(tc.doc), &m) == nil
		if decodes != tc.ok {
			t.Fatalf("%s: the table is wrong: encoding/json decodes it: %v", tc.doc, decodes)
		}
		err := CheckNumbers([]byte(tc.doc))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("CheckNumbers(%s) = %v, want ok=%v", tc.doc, err, tc.ok)
		}
		tok := "eyJhbGciOiJFUzM4NCJ9." + base64.RawURLEncoding.EncodeToString([]byte(tc.doc)) + ".c2ln"
		if _, err := Payload(tok); (err == nil) != tc.ok {
			t.Errorf("Payload with %s: %v, want ok=%v", tc.doc, err, tc.ok)
		}
	}
}
