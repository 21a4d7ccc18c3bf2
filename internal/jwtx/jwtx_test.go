package jwtx

import (
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
		if _, err := Payload(bad); err != ErrMalformed {
			t.Errorf("%.40q: want ErrMalformed, got %v", bad, err)
		}
	}
}
