package jwtx

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzPayload: Payload never panics, and whatever it returns is the JSON
// object payload of a three-part token within MaxLen.
func FuzzPayload(f *testing.F) {
	for _, s := range []string{
		"eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ1MSJ9.c2ln",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.",
		"eyJhbGciOiJFUzM4NCJ9.WzFd.c2ln",
		"e30.e30.e30.e30", "..", "", "a.b.c",
		`{"payload":"e30","signatures":[]}`,
		"eyJhbGciOiJFUzM4NCJ9.eyJ4IjoxZTcwMH0.c2ln", // {"x":1e700}
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := Payload(token)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error other than ErrMalformed: %v", err)
			}
			return
		}
		if len(token) > MaxLen || strings.Count(token, ".") != 2 {
			t.Fatalf("accepted a token of %d bytes with %d dots", len(token), strings.Count(token, "."))
		}
		var obj map[string]any
		if err := json.Unmarshal(p, &obj); err != nil {
			t.Fatalf("payload %q does not decode into a map: %v", p, err)
		}
	})
}
