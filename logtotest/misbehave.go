package logtotest

import (
	"encoding/base64"
	"strings"
)

// This file holds the hooks that make the fake misbehave in ways a relying
// party must survive: responses rewritten after signing, corrupted
// signatures and endpoints that never answer. With MutateIDTokens,
// MutateDiscovery, MutateJWKS, FailNext and Intercept they let a test play
// every malicious or broken provider of the OpenID relying-party
// certification and of a fault matrix.

// MutateTokenResponses registers fn, applied to the JSON body of every
// successful token endpoint response (all grants), after its tokens are
// signed and before it is written (nil stops it). resp holds the decoded
// JSON (access_token, expires_in as a float64, id_token, refresh_token,
// scope, token_type); fn may change, add or delete any member, for example
// to corrupt a signature (see CorruptSignature), to drop a field, to give a
// field an odd type or to add an "error" member to a 200 response. The
// server's own state is unaffected: a refresh token removed from the
// response is still valid at the server.
func (s *Server) MutateTokenResponses(fn func(resp map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateTokenResp = fn
}

// MutateUserInfo registers fn, applied to the decoded claims of every
// successful userinfo response before it is written (nil stops it), for
// example to answer about another subject.
func (s *Server) MutateUserInfo(fn func(claims map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateUserInfo = fn
}

// Stall makes every later request to endpoint e wait without an answer, as
// a server that accepted the connection but never responds, until the
// client gives up (its request context ends or it closes the connection),
// Resume(e) is called or the server is closed. Stalled requests are logged
// when they arrive. A stalled EndpointAuth also blocks Authorize.
func (s *Server) Stall(e Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stalls[e] == nil {
		s.stalls[e] = make(chan struct{})
	}
}

// Resume releases the requests stalled at endpoint e (they then get their
// normal answer) and ends the stall started by Stall.
func (s *Server) Resume(e Endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.stalls[e]; ch != nil {
		close(ch)
		delete(s.stalls, e)
	}
}

// resumeAll releases every stalled request (at Close).
func (s *Server) resumeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e, ch := range s.stalls {
		close(ch)
		delete(s.stalls, e)
	}
}

// stall returns the channel closed when endpoint e stops stalling, or nil.
func (s *Server) stall(e Endpoint) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.stalls[e]; ch != nil {
		return ch
	}
	return nil
}

// CorruptSignature returns the compact JWS token with one bit of its
// signature flipped: header and payload are unchanged, so the kid still
// names a published key, but the signature no longer verifies. A token
// without a signature part gets a bogus one. It is meant for tests of
// signature checks ("invalid signature" certification cases).
func CorruptSignature(token string) string {
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return token
	}
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) == 0 {
		return token[:i+1] + base64.RawURLEncoding.EncodeToString([]byte("not a signature"))
	}
	sig[len(sig)/2] ^= 0x01
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}
