package logtotest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is a private signing key and its public JWK.
type signingKey struct {
	kid     string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
	public  jose.JSONWebKey // with kid, alg and use "sig"
}

// newSigningKey generates a key for alg with a random kid.
func newSigningKey(alg string) (*signingKey, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case "ES384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q (want ES384, ES256 or RS256)", alg)
	}
	if err != nil {
		return nil, err
	}
	kid := randomToken(16)
	return &signingKey{
		kid:     kid,
		alg:     jose.SignatureAlgorithm(alg),
		private: priv,
		public:  jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: alg, Use: "sig"},
	}, nil
}

// publicJSON is the JSON encoding of the public JWK.
func (k *signingKey) publicJSON() []byte {
	b, err := json.Marshal(k.public)
	if err != nil {
		panic("logtotest: marshal JWK: " + err.Error())
	}
	return b
}

// header returns the default JOSE header for a token of type typ.
func (k *signingKey) header(typ string) map[string]any {
	return map[string]any{"alg": string(k.alg), "kid": k.kid, "typ": typ}
}

// sign serialises a JWS with exactly the given header. header["alg"] "none"
// gives an unsigned token, "HS256" an HMAC keyed with the public JWK's JSON;
// anything else is signed with the key's own algorithm.
func (k *signingKey) sign(header, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	alg, _ := header["alg"].(string)
	if alg == "none" {
		h, err := json.Marshal(header)
		if err != nil {
			return "", fmt.Errorf("marshal header: %w", err)
		}
		enc := base64.RawURLEncoding
		return enc.EncodeToString(h) + "." + enc.EncodeToString(payload) + ".", nil
	}
	sk := jose.SigningKey{Algorithm: k.alg, Key: k.private}
	if alg == string(jose.HS256) {
		sk = jose.SigningKey{Algorithm: jose.HS256, Key: k.publicJSON()}
	}
	extra := map[jose.HeaderKey]any{}
	for name, v := range header {
		extra[jose.HeaderKey(name)] = v
	}
	signer, err := jose.NewSigner(sk, &jose.SignerOptions{ExtraHeaders: extra})
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// currentKey returns the current signing key.
func (s *Server) currentKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

// RotateKey makes a new signing key (same algorithm, new kid) current and
// returns its kid. The previous public keys stay in the JWKS until
// RemoveOldKeys.
func (s *Server) RotateKey() string {
	k, err := newSigningKey(string(s.currentKey().alg))
	if err != nil {
		panic("logtotest: RotateKey: " + err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
	return k.kid
}

// RemoveOldKeys drops every key but the current one from the JWKS. Tokens
// signed with the removed keys no longer verify.
func (s *Server) RemoveOldKeys() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = s.keys[len(s.keys)-1:]
}

// SigningKID returns the kid of the current signing key.
func (s *Server) SigningKID() string { return s.currentKey().kid }

// Sign returns a compact JWS of claims signed with the current key. The
// header defaults to {"alg":<alg>,"kid":<current kid>,"typ":"JWT"}; the
// given header fields override or add to it (a nil value is kept as JSON
// null), with the same special alg values as MutateIDTokens ("none",
// "HS256"). It panics if the claims cannot be encoded as JSON.
func (s *Server) Sign(header map[string]any, claims map[string]any) string {
	k := s.currentKey()
	h := k.header("JWT")
	for name, v := range header {
		h[name] = v
	}
	tok, err := k.sign(h, claims)
	if err != nil {
		panic("logtotest: Sign: " + err.Error())
	}
	return tok
}

// jwksDocument returns the public key set as a JSON-like map.
func (s *Server) jwksDocument() map[string]any {
	s.mu.Lock()
	keys := append([]*signingKey(nil), s.keys...)
	s.mu.Unlock()
	list := make([]any, 0, len(keys))
	for _, k := range keys {
		var m map[string]any
		_ = json.Unmarshal(k.publicJSON(), &m)
		list = append(list, m)
	}
	return map[string]any{"keys": list}
}

// verifyOwnToken checks that token was signed by one of the server's keys
// and returns its claims (expiry is not checked).
func (s *Server) verifyOwnToken(token string) (map[string]any, error) {
	s.mu.Lock()
	keys := append([]*signingKey(nil), s.keys...)
	s.mu.Unlock()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256})
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		payload, err := jws.Verify(k.private.Public())
		if err != nil {
			continue
		}
		var claims map[string]any
		if err := json.Unmarshal(payload, &claims); err != nil {
			return nil, err
		}
		return claims, nil
	}
	return nil, errors.New("signature not made by a current key")
}
