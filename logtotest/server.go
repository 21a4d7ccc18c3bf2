package logtotest

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a fake Logto instance. Create it with NewServer (in tests) or
// Start (elsewhere). All its methods are safe for concurrent use.
type Server struct {
	mu       sync.Mutex // guards everything below except the immutable fields
	updateMu sync.Mutex // serialises UpdateUser

	// Immutable after Start.
	opts      options
	url       string
	srv       *http.Server
	handler   http.Handler
	client    *http.Client
	closeOnce sync.Once

	// clock is read without mu (Now is on the SDK's cached paths when it
	// is the client's clock) and replaced under mu.
	clock atomic.Pointer[clockReading]
	keys  []*signingKey // the last one is current

	apps      map[string]*App
	users     map[string]*User
	resources map[string]*Resource
	roles     map[string]map[string][]string // role -> resource -> scopes
	orgs      map[string]Organization
	orgRoles  map[string]*orgRole

	autoLogin string
	denial    *oauthError

	codes         map[string]*authCode
	grants        map[string]*grant
	refreshTokens map[string]*refreshToken
	accessTokens  map[string]*accessToken
	sessions      map[string]*session
	sessionSeq    uint64
	interactions  map[string]*interaction
	logouts       map[string]*logoutRequest // by xsrf
	oneTimeTokens map[string]*oneTimeLink   // by token value; made on first use
	device        deviceState
	mgmt          managementState // Management API objects

	log             []Request
	failures        map[Endpoint][]failure
	intercepts      map[Endpoint]func(http.ResponseWriter, *http.Request, http.Handler)
	mutateIDToken   func(header, claims map[string]any)
	mutateDiscovery func(doc map[string]any)
	mutateJWKS      func(jwks map[string]any)
	mutateTokenResp func(resp map[string]any)
	mutateUserInfo  func(claims map[string]any)
	stalls          map[Endpoint]chan struct{}
}

// TB is the part of testing.TB that NewServer uses: a *testing.T,
// *testing.B or *testing.F satisfies it. It is an interface of its own, in
// the manner of miniredis's Tester, so that this package does not import
// package testing, which would otherwise be linked into every program that
// embeds the fake (a demo app, the quickstart).
type TB interface {
	// Helper marks the caller as a test helper.
	Helper()
	// Fatalf reports a fatal failure and stops the test.
	Fatalf(format string, args ...any)
	// Cleanup registers a function to run when the test ends.
	Cleanup(func())
}

// NewServer starts a fake Logto on a loopback port (see WithAddr) and
// registers its Close with t.Cleanup. It fails the test (t.Fatalf) if the
// server cannot start. Programs that are not tests call Start instead.
func NewServer(t TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("logtotest: %v", err)
		return nil
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake Logto like NewServer, for programs that have no TB
// (demo apps): it returns an error instead of failing a test, and the caller
// must call Close.
func Start(opts ...Option) (*Server, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	key, err := newSigningKey(o.alg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q: %w", o.addr, err)
	}
	s := &Server{
		opts:          o,
		url:           "http://" + dialableAddr(ln.Addr()),
		client:        &http.Client{Timeout: 10 * time.Second},
		keys:          []*signingKey{key},
		apps:          map[string]*App{},
		users:         map[string]*User{},
		resources:     map[string]*Resource{ManagementAPIResource: {Indicator: ManagementAPIResource, Scopes: []string{managementScope}}},
		roles:         map[string]map[string][]string{},
		orgs:          map[string]Organization{},
		orgRoles:      map[string]*orgRole{},
		codes:         map[string]*authCode{},
		grants:        map[string]*grant{},
		refreshTokens: map[string]*refreshToken{},
		accessTokens:  map[string]*accessToken{},
		sessions:      map[string]*session{},
		interactions:  map[string]*interaction{},
		logouts:       map[string]*logoutRequest{},
		failures:      map[Endpoint][]failure{},
		intercepts:    map[Endpoint]func(http.ResponseWriter, *http.Request, http.Handler){},
		stalls:        map[Endpoint]chan struct{}{},
	}
	s.clock.Store(&clockReading{base: o.start, wallStart: time.Now()})
	s.handler = s.middleware(s.routes())
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }() // returns http.ErrServerClosed on Close
	return s, nil
}

// dialableAddr turns a listener address into a host:port that clients can
// dial (a wildcard address becomes 127.0.0.1).
func dialableAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// URL returns the Logto endpoint, e.g. "http://127.0.0.1:41234", without a
// trailing slash.
func (s *Server) URL() string { return s.url }

// Issuer returns the OpenID Connect issuer, URL()+"/oidc".
func (s *Server) Issuer() string { return s.url + "/oidc" }

// Close shuts the server down, closing open connections. It is safe to call
// more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.resumeAll()
		_ = s.srv.Close()
		s.client.CloseIdleConnections()
	})
}

// Handler returns the server's HTTP handler (request logging, fault
// injection and all endpoints), e.g. to mount it elsewhere. Issued tokens
// still name URL() as their issuer.
func (s *Server) Handler() http.Handler { return s.handler }

// routes builds the endpoint multiplexer.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oidc/.well-known/openid-configuration", s.handleDiscovery)
	mux.HandleFunc("GET /oidc/.well-known/oauth-authorization-server", s.handleDiscovery)
	mux.HandleFunc("GET /oidc/jwks", s.handleJWKS)
	mux.HandleFunc("GET /oidc/auth", s.handleAuth)
	mux.HandleFunc("POST /oidc/auth", s.handleAuth)
	mux.HandleFunc("POST /oidc/token", s.handleToken)
	mux.HandleFunc("GET /oidc/me", s.handleUserInfo)
	mux.HandleFunc("POST /oidc/me", s.handleUserInfo)
	mux.HandleFunc("POST /oidc/token/revocation", s.handleRevocation)
	mux.HandleFunc("POST /oidc/token/introspection", s.handleIntrospection)
	mux.HandleFunc("GET /oidc/session/end", s.handleEndSession)
	mux.HandleFunc("POST /oidc/session/end", s.handleEndSession)
	mux.HandleFunc("POST /oidc/session/end/confirm", s.handleEndSessionConfirm)
	mux.HandleFunc("GET /oidc/session/end/success", s.handleEndSessionSuccess)
	for route := range screens {
		mux.HandleFunc("GET /"+route, s.handleSignInPage)
	}
	mux.HandleFunc("GET /"+routeDirect+"/", s.handleDirectSignIn)
	mux.HandleFunc("POST /sign-in", s.handleSignInSubmit)
	s.deviceRoutes(mux)
	s.managementRoutes(mux)
	return mux
}

// endpointFor maps a request path to its Endpoint.
func endpointFor(path string) Endpoint {
	if ep, ok := deviceEndpoint(path); ok {
		return ep
	}
	switch strings.TrimSuffix(path, "/") {
	case "/oidc/.well-known/openid-configuration", "/oidc/.well-known/oauth-authorization-server":
		return EndpointDiscovery
	case "/oidc/auth":
		return EndpointAuth
	case "/oidc/token":
		return EndpointToken
	case "/oidc/me":
		return EndpointUserInfo
	case "/oidc/jwks":
		return EndpointJWKS
	case "/oidc/session/end":
		return EndpointEndSession
	case "/oidc/session/end/confirm":
		return EndpointEndSessionConfirm
	case "/oidc/session/end/success":
		return EndpointEndSessionSuccess
	case "/oidc/token/revocation":
		return EndpointRevocation
	case "/oidc/token/introspection":
		return EndpointIntrospection
	}
	if isManagementPath(path) {
		return EndpointManagement
	}
	if route := strings.TrimPrefix(path, "/"); isExperienceScreen(route) || strings.HasPrefix(route, routeDirect+"/") {
		return EndpointSignIn
	}
	return EndpointUnknown
}
