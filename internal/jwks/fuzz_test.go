package jwks

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// FuzzParse feeds arbitrary JWKS documents to Parse: it must never panic,
// and what it keeps must be usable public asymmetric keys.
func FuzzParse(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, _ := json.Marshal(jose.JSONWebKey{Key: &k.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	priv, _ := json.Marshal(jose.JSONWebKey{Key: k, KeyID: "k2", Algorithm: "ES256"})
	for _, s := range []string{
		`{"keys":[` + string(good) + `]}`,
		`{"keys":[` + string(priv) + `]}`,
		`{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"AKP","alg":"ML-DSA-44","pub":"AA"},` + string(good) + `]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-384","x":"!!","y":""},42,null,"x"]}`,
		`{"keys":{}}`, `{"keys":null}`, `[]`, `<html>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := Parse(body)
		if (err == nil) != (len(keys) > 0) {
			t.Fatalf("err=%v with %d keys: a document either yields keys or an error", err, len(keys))
		}
		for _, key := range keys {
			if !key.Valid() || !key.IsPublic() {
				t.Fatalf("kept an invalid or private key: %+v", key)
			}
			if _, symmetric := key.Key.([]byte); symmetric {
				t.Fatal("kept a symmetric key")
			}
		}
	})
}

// fixedJWKS answers every request with the same key set.
type fixedJWKS []byte

func (b fixedJWKS) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

// FuzzVerifySignature verifies arbitrary tokens against a fixed key set:
// never a panic, and a success only for a signature the key verifies.
func FuzzVerifySignature(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pub := jose.JSONWebKey{Key: &k.PublicKey, KeyID: "k1", Algorithm: "ES384", Use: "sig"}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	sign := func(kid string) string {
		key := jose.SigningKey{Algorithm: jose.ES384, Key: k}
		if kid != "" {
			key.Key = jose.JSONWebKey{Key: k, KeyID: kid}
		}
		s, _ := jose.NewSigner(key, nil)
		jws, _ := s.Sign([]byte(`{"sub":"u"}`))
		out, _ := jws.CompactSerialize()
		return out
	}
	for _, s := range []string{sign("k1"), sign(""), sign("other"), "eyJhbGciOiJub25lIn0.e30.", "a.b.c", ""} {
		f.Add(s)
	}
	ks := New(Config{URL: "https://keys.test/jwks", Client: &http.Client{Transport: fixedJWKS(set)}, MaxBody: 1 << 20, Cooldown: time.Minute})
	f.Fuzz(func(t *testing.T, token string) {
		payload, err := ks.VerifySignature(context.Background(), token)
		if err != nil {
			return
		}
		jws, perr := jose.ParseSignedCompact(token, Algorithms)
		if perr != nil || len(jws.Signatures) != 1 {
			t.Fatalf("accepted a token that does not parse as one signature: %v", perr)
		}
		want, verr := jws.Verify(pub)
		if verr != nil || !bytes.Equal(want, payload) {
			t.Fatalf("accepted a token the key does not verify (%v)", verr)
		}
		if errors.Is(err, ErrNoKey) {
			t.Fatal("unreachable")
		}
	})
}
