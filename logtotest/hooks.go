package logtotest

import (
	"net/http"
	"strings"
)

// failure is a queued raw response (see FailNext).
type failure struct {
	status int
	body   string
}

func (f failure) write(w http.ResponseWriter) {
	if strings.HasPrefix(strings.TrimSpace(f.body), "{") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(f.status)
	_, _ = w.Write([]byte(f.body))
}

// FailNext makes the next request to endpoint e receive this raw response
// (Content-Type application/json when body starts with '{', text/plain
// otherwise); normal behaviour then resumes. Each call queues one failure.
// The request is still logged.
func (s *Server) FailNext(e Endpoint, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[e] = append(s.failures[e], failure{status: status, body: body})
}

// popFailure dequeues the next failure for e.
func (s *Server) popFailure(e Endpoint) (failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[e]
	if len(q) == 0 {
		return failure{}, false
	}
	s.failures[e] = q[1:]
	return q[0], true
}

// Intercept wraps every request to endpoint e with h until Intercept(e, nil)
// is called. h receives the normal handler as next and may call it, change
// the request or the response, or answer by itself. The request is logged
// before h runs; a failure queued with FailNext takes precedence over h.
func (s *Server) Intercept(e Endpoint, h func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h == nil {
		delete(s.intercepts, e)
		return
	}
	s.intercepts[e] = h
}

// MutateIDTokens registers fn, applied to the header and claims of every ID
// token issued by the token endpoint before it is signed (nil stops it). It
// can produce invalid tokens: wrong iss or aud, missing sub, wrong nonce, an
// unknown kid, and so on. If fn sets header["alg"] to "none", the token is
// left unsigned ("<header>.<claims>."); if it sets "HS256", the token is
// signed with HMAC-SHA256 keyed with the JSON encoding of the current public
// JWK (an algorithm-confusion attack). Other alg values are written as given
// while the signature is still made with the current key.
func (s *Server) MutateIDTokens(fn func(header, claims map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateIDToken = fn
}

// MutateDiscovery registers fn, applied to a fresh copy of the discovery
// document on each request (nil stops it).
func (s *Server) MutateDiscovery(fn func(doc map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateDiscovery = fn
}

// MutateJWKS registers fn, applied to a fresh copy of the JWKS document
// ({"keys":[...]}) on each request (nil stops it).
func (s *Server) MutateJWKS(fn func(jwks map[string]any)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutateJWKS = fn
}
