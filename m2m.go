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
type M2MClient struct {
	core *core
	cfg  M2MConfig

	mu      sync.Mutex
	current *oauth2.Token
	// fetching is closed when the request in flight ends; nil when none.
	fetching chan struct{}
	fetchErr error
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
func (m *M2MClient) Token(ctx context.Context) (*oauth2.Token, error) {
	for {
		m.mu.Lock()
		if t := m.current; t != nil && m.core.set.now().Before(t.Expiry) {
			m.mu.Unlock()
			return t, nil
		}
		if ch := m.fetching; ch != nil {
			m.mu.Unlock()
			select {
			case <-ch:
				m.mu.Lock()
				err := m.fetchErr
				m.mu.Unlock()
				if err != nil && ctx.Err() == nil && !isContextErr(err) {
					return nil, err
				}
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		ch := make(chan struct{})
		m.fetching = ch
		m.mu.Unlock()

		t, err := m.fetch(ctx)

		m.mu.Lock()
		if err == nil {
			m.current = t
		}
		m.fetchErr = err
		m.fetching = nil
		close(ch)
		m.mu.Unlock()
		return t, err
	}
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
