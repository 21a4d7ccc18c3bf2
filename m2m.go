package logto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// DefaultManagementAPIResource is the Management API's resource indicator
// on self-hosted Logto. On Logto Cloud use ManagementAPIResource.
const DefaultManagementAPIResource = "https://default.logto.app/api"

// ManagementAPIResource returns the Management API's resource indicator of
// a Logto Cloud tenant: "https://<tenant-id>.logto.app/api".
func ManagementAPIResource(tenantID string) string {
	return "https://" + tenantID + ".logto.app/api"
}

// M2MConfig describes a machine-to-machine application and what it asks
// tokens for.
type M2MConfig struct {
	// Endpoint is the Logto tenant URL.
	Endpoint string
	// AppId and AppSecret are the M2M application's credentials.
	AppId     string
	AppSecret string
	// Resource is the API resource indicator the tokens are for. Required
	// unless OrganizationID is set.
	Resource string
	// Scopes are requested. Logto grants the requested scopes that the
	// app's roles allow: with none requested, the token carries no scope.
	Scopes []string
	// OrganizationID asks for an organization token (with Resource: an
	// organization-scoped API token).
	OrganizationID string
}

// M2MClient fetches access tokens with the client credentials grant for a
// Logto machine-to-machine application. It caches the token until shortly
// before it expires and shares one request among concurrent callers. It is
// safe for concurrent use; create one per (app, resource) and keep it.
//
// golang.org/x/oauth2/clientcredentials is not used underneath: its
// Config could carry Logto's resource and organization_id parameters as
// EndpointParams, but it needs a fixed token URL where this client
// discovers and checks the tenant's, and its TokenSource serialises
// callers on a mutex with the context given when it was made, so a caller
// whose context ends cannot leave a slow request. Its answers are read up
// to 1 MiB and cut there without an error, where the SDK's are bounded by
// WithMaxBodyBytes and refused when larger (ErrResponseTooLarge); its
// failures are *oauth2.RetrieveError rather than the *OAuthError,
// ErrInvalidResponse and ErrDiscovery every other call of the SDK
// returns; it tries a second client authentication style after a
// failure, sending the secret again; and it keeps a token without
// expires_in forever, where the SDK refuses it.
type M2MClient struct {
	core *core
	cfg  M2MConfig

	// flight shares the request in flight among the callers of Token.
	flight singleflight.Group

	mu      sync.Mutex
	current *oauth2.Token
	// waiting counts the callers waiting for a request; when the last one
	// gives up, cancel (set while a request is in flight) ends it.
	waiting int
	cancel  context.CancelFunc
}

// NewM2MClient validates cfg and returns a client. It makes no request
// until the first token is needed. Options are those of NewLogtoClient
// (HTTP client, clock, early expiry, body cap).
func NewM2MClient(cfg M2MConfig, opts ...Option) (*M2MClient, error) {
	s, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	endpoint, err := validateEndpoint(cfg.Endpoint, &s)
	if err != nil {
		return nil, err
	}
	if cfg.AppId == "" || cfg.AppSecret == "" {
		return nil, fmt.Errorf("%w: an M2M app needs AppId and AppSecret", ErrInvalidConfig)
	}
	if cfg.Resource == "" && cfg.OrganizationID == "" {
		return nil, fmt.Errorf("%w: M2MConfig needs a Resource or an OrganizationID", ErrInvalidConfig)
	}
	cfg.Endpoint = endpoint
	cfg.Scopes = append([]string(nil), cfg.Scopes...)
	core := newCore(LogtoConfig{Endpoint: endpoint, AppId: cfg.AppId, AppSecret: cfg.AppSecret}, s)
	return &M2MClient{core: core, cfg: cfg}, nil
}

// AccessToken returns a valid access token, fetching a new one when the
// cached token is within the early-expiry window of its end (see Token).
func (m *M2MClient) AccessToken(ctx context.Context) (string, error) {
	t, err := m.Token(ctx)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// Token returns the current token as an *oauth2.Token whose Expiry is
// already moved earlier by the early-expiry window (at most half the
// token's lifetime, so a short-lived token is used for its first half).
//
// Concurrent callers share one request. A caller whose ctx ends returns
// ctx.Err() at once while the request goes on for the others; it is
// cancelled when every caller waiting for it has given up. The request
// keeps the values of the context of the caller that started it, not its
// deadline: it is bounded by the HTTP client's timeout.
func (m *M2MClient) Token(ctx context.Context) (*oauth2.Token, error) {
	for {
		if t := m.valid(); t != nil {
			return t, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m.join()
		ch := m.flight.DoChan("token", func() (any, error) { return m.fetchShared(ctx) })
		select {
		case r := <-ch:
			m.leave()
			if errors.Is(r.Err, errAbandoned) {
				continue // the callers before this one gave up on that request
			}
			if r.Err != nil {
				return nil, r.Err
			}
			return r.Val.(*oauth2.Token), nil
		case <-ctx.Done():
			m.leave()
			return nil, ctx.Err()
		}
	}
}

// errAbandoned ends a request whose callers all gave up.
var errAbandoned = errors.New("logto: token request abandoned by its callers")

// valid returns the cached token while it is valid, or nil.
func (m *M2MClient) valid() *oauth2.Token {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.current; t != nil && m.core.set.now().Before(t.Expiry) {
		return t
	}
	return nil
}

// join counts a caller about to wait for a request.
func (m *M2MClient) join() {
	m.mu.Lock()
	m.waiting++
	m.mu.Unlock()
}

// leave uncounts a caller, and cancels the request in flight when nobody
// waits for it any more.
func (m *M2MClient) leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.waiting--; m.waiting == 0 && m.cancel != nil {
		m.cancel()
	}
}

// fetchShared is the request shared by the callers of Token (one at a
// time: singleflight runs one per key). It runs under a context of its
// own, which keeps ctx's values and is cancelled only by leave.
func (m *M2MClient) fetchShared(ctx context.Context) (*oauth2.Token, error) {
	if t := m.valid(); t != nil {
		return t, nil // stored by the request that ended just before
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	m.mu.Lock()
	m.cancel = cancel
	if m.waiting == 0 {
		cancel() // every caller left before the request began
	}
	m.mu.Unlock()

	t, err := m.fetch(fctx)

	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancel = nil
	switch {
	case err != nil && fctx.Err() != nil:
		return nil, errAbandoned
	case err != nil:
		return nil, err
	}
	m.current = t
	return t, nil
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (m *M2MClient) fetch(ctx context.Context) (*oauth2.Token, error) {
	meta, err := m.core.provider(ctx)
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if m.cfg.Resource != "" {
		form.Set("resource", m.cfg.Resource)
	}
	if m.cfg.OrganizationID != "" {
		form.Set("organization_id", m.cfg.OrganizationID)
	}
	if len(m.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(m.cfg.Scopes, " "))
	}
	at := m.core.set.now()
	tr, err := m.core.postToken(ctx, meta, form)
	if err != nil {
		return nil, wrapf(err, "client credentials")
	}
	t := &oauth2.Token{
		AccessToken: tr.AccessToken,
		TokenType:   "Bearer",
		Expiry:      m.core.set.renewAt(at, at.Add(time.Duration(tr.ExpiresIn)*time.Second)),
	}
	return t.WithExtra(map[string]any{"scope": tr.Scope}), nil
}

// TokenSource adapts m to oauth2.TokenSource. oauth2's interface has no
// context, so Token uses ctx for its requests: pass a long-lived context
// (not a request's) when the source outlives a request.
func (m *M2MClient) TokenSource(ctx context.Context) oauth2.TokenSource {
	return m2mSource{ctx: ctx, m: m}
}

// HTTPClient returns an *http.Client that adds a valid bearer token to
// every request, for calling the Management API or any API. Its transport
// is the one of the HTTP client given with WithHTTPClient, if any.
func (m *M2MClient) HTTPClient(ctx context.Context) *http.Client {
	if base := m.core.set.httpClient; base != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, base)
	}
	return oauth2.NewClient(ctx, m.TokenSource(ctx))
}

type m2mSource struct {
	ctx context.Context
	m   *M2MClient
}

func (s m2mSource) Token() (*oauth2.Token, error) { return s.m.Token(s.ctx) }
