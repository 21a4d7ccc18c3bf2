package logto_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gologto/logto"
)

// This file is the yardstick for the SDK's per-call overhead: a client an
// application would write by hand with go-oidc and x/oauth2 only, against
// the same logtotest provider as bench_test.go. BenchmarkVersus* run the
// SDK and this client side by side (sub-benchmarks impl=logto and
// impl=handwritten); compare them with `benchstat -col /impl`.

// handSession is the session store of a hand-written app: a map behind a
// read-write lock, as an in-memory web session would be.
type handSession struct {
	mu sync.RWMutex
	m  map[string]string
}

func (s *handSession) get(k string) string {
	s.mu.RLock()
	v := s.m[k]
	s.mu.RUnlock()
	return v
}

func (s *handSession) set(k, v string) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[k] = v
	s.mu.Unlock()
}

func (s *handSession) del(k string) {
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// handSubject is what the hand-written app remembers of the ID token it
// decoded last, so that it does not decode the same token on every request.
type handSubject struct {
	raw string
	sub string
}

// handUserInfo has the same claims as logto.UserInfo in the plain types an
// application would choose (no absent/null distinction).
type handUserInfo struct {
	Subject             string                    `json:"sub"`
	Name                string                    `json:"name"`
	Username            string                    `json:"username"`
	Picture             string                    `json:"picture"`
	GivenName           string                    `json:"given_name"`
	FamilyName          string                    `json:"family_name"`
	MiddleName          string                    `json:"middle_name"`
	Nickname            string                    `json:"nickname"`
	PreferredUsername   string                    `json:"preferred_username"`
	Profile             string                    `json:"profile"`
	Website             string                    `json:"website"`
	Gender              string                    `json:"gender"`
	Birthdate           string                    `json:"birthdate"`
	Zoneinfo            string                    `json:"zoneinfo"`
	Locale              string                    `json:"locale"`
	CreatedAt           int64                     `json:"created_at"`
	UpdatedAt           int64                     `json:"updated_at"`
	Email               string                    `json:"email"`
	EmailVerified       bool                      `json:"email_verified"`
	PhoneNumber         string                    `json:"phone_number"`
	PhoneNumberVerified bool                      `json:"phone_number_verified"`
	Address             *logto.Address            `json:"address"`
	CustomData          json.RawMessage           `json:"custom_data"`
	Identities          map[string]logto.Identity `json:"identities"`
	SSOIdentities       []logto.SSOIdentity       `json:"sso_identities"`
	Roles               []string                  `json:"roles"`
	Organizations       []string                  `json:"organizations"`
	OrganizationRoles   []string                  `json:"organization_roles"`
	OrganizationData    []logto.OrganizationData  `json:"organization_data"`
}

// handwritten is the hand-written go-oidc + x/oauth2 client.
type handwritten struct {
	oauth       oauth2.Config
	verifier    *oidc.IDTokenVerifier
	userinfoURL string
	issuer      string
	http        *http.Client
	session     *handSession
	last        atomic.Pointer[handSubject]
}

// newHandwritten discovers srv's configuration with go-oidc and signs user
// in through the provider: authorization URL, code exchange with PKCE, ID
// token verification, tokens kept in the session.
func newHandwritten(b *testing.B, f *fixture, user string) *handwritten {
	b.Helper()
	ctx := oidc.ClientContext(context.Background(), &http.Client{Timeout: 30 * time.Second})
	provider, err := oidc.NewProvider(ctx, f.srv.Issuer())
	if err != nil {
		b.Fatal(err)
	}
	var meta struct {
		UserinfoEndpoint string `json:"userinfo_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		b.Fatal(err)
	}
	h := &handwritten{
		oauth: oauth2.Config{
			ClientID: appID, ClientSecret: appSecret, RedirectURL: redirectURI,
			Endpoint: provider.Endpoint(),
			Scopes:   append([]string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}, allScopes()...),
		},
		verifier:    provider.Verifier(&oidc.Config{ClientID: appID, Now: f.srv.Now}),
		userinfoURL: meta.UserinfoEndpoint,
		issuer:      f.srv.Issuer(),
		http:        &http.Client{Timeout: 30 * time.Second},
		session:     &handSession{},
	}
	authURL, err := h.signInURL()
	if err != nil {
		b.Fatal(err)
	}
	cb, err := f.srv.Authorize(authURL, user)
	if err != nil {
		b.Fatal(err)
	}
	if err := h.callback(ctx, cb); err != nil {
		b.Fatal(err)
	}
	return h
}

// handRandom is 32 random bytes, base64url: state, nonce and verifier.
func handRandom() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// handPending is the one pending sign-in the hand-written app keeps.
type handPending struct {
	State    string `json:"state"`
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
}

// signInURL draws state, nonce and PKCE verifier, keeps them in the session
// and returns the authorization URL with the same parameters as the SDK's.
func (h *handwritten) signInURL() (string, error) {
	p := handPending{State: handRandom(), Nonce: handRandom(), Verifier: oauth2.GenerateVerifier()}
	u := h.oauth.AuthCodeURL(p.State,
		oauth2.S256ChallengeOption(p.Verifier), oidc.Nonce(p.Nonce),
		oauth2.SetAuthURLParam("resource", apiResource),
		oauth2.SetAuthURLParam("prompt", "consent"))
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	h.session.set("pending", string(b))
	return u, nil
}

func (h *handwritten) callback(ctx context.Context, cb string) error {
	var p handPending
	if err := json.Unmarshal([]byte(h.session.get("pending")), &p); err != nil {
		return err
	}
	u, err := url.Parse(cb)
	if err != nil {
		return err
	}
	q := u.Query()
	if q.Get("state") != p.State {
		return errors.New("state mismatch")
	}
	tok, err := h.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return err
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := h.verifier.Verify(ctx, rawID)
	if err != nil {
		return err
	}
	if idt.Nonce != p.Nonce {
		return errors.New("nonce mismatch")
	}
	h.session.del("pending")
	h.session.set("id_token", rawID)
	h.session.set("access_token", tok.AccessToken)
	return nil
}

// subject returns the user of the stored ID token: the token must decode
// and be issued by the provider for this app. The last decoded token is
// remembered.
func (h *handwritten) subject() (string, bool) {
	raw := h.session.get("id_token")
	if raw == "" {
		return "", false
	}
	if s := h.last.Load(); s != nil && s.raw == raw {
		return s.sub, true
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Iss != h.issuer || c.Sub == "" || !strings.Contains(string(c.Aud), `"`+appID+`"`) {
		return "", false
	}
	h.last.Store(&handSubject{raw: raw, sub: c.Sub})
	return c.Sub, true
}

func (h *handwritten) isAuthenticated() bool {
	_, ok := h.subject()
	return ok
}

// userInfo is a plain GET with the stored access token and one
// json.Unmarshal, checked against the session's user.
func (h *handwritten) userInfo(ctx context.Context) (handUserInfo, error) {
	sub, ok := h.subject()
	if !ok {
		return handUserInfo{}, errors.New("not signed in")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.userinfoURL, nil)
	if err != nil {
		return handUserInfo{}, err
	}
	req.Header.Set("Authorization", "Bearer "+h.session.get("access_token"))
	req.Header.Set("Accept", "application/json")
	resp, err := h.http.Do(req)
	if err != nil {
		return handUserInfo{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return handUserInfo{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return handUserInfo{}, fmt.Errorf("userinfo: HTTP %d", resp.StatusCode)
	}
	var info handUserInfo
	if err := json.Unmarshal(body, &info); err != nil {
		return handUserInfo{}, err
	}
	if info.Subject != sub {
		return handUserInfo{}, errors.New("userinfo is about another user")
	}
	return info, nil
}

// versus runs the SDK's and the hand-written client's version of one
// operation as sub-benchmarks impl=logto and impl=handwritten, then
// alternately as impl=paired (bench_paired_test.go), whose ratio metric is
// the SDK's time over the hand-written client's. Each
// returns a loop running the operation n times, so that no indirect call
// per operation blurs the cheapest ones.
func versus(b *testing.B, sdk func(f *fixture) func(n int) error, hand func(h *handwritten) func(n int) error) {
	f := signedIn(b)
	h := newHandwritten(b, f, aliceID)
	sdkLoop, handLoop := sdk(f), hand(h)
	for _, impl := range []struct {
		name string
		loop func(n int) error
	}{{"logto", sdkLoop}, {"handwritten", handLoop}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			if err := impl.loop(1); err != nil { // warm: discovery, keys, caches
				b.Fatal(err)
			}
			measure(b, f.srv, func() {
				if err := impl.loop(b.N); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("impl=paired", func(b *testing.B) { pairedLoops(b, sdkLoop, handLoop) })
}

// BenchmarkVersusSignIn: a sign-in from a session with no pending sign-in
// (a signed-out visitor clicks "Sign in"): draw state, nonce and verifier,
// build the URL, keep the transaction in the session. Both clients clear
// the pending sign-in first, so each operation starts from the same state.
func BenchmarkVersusSignIn(b *testing.B) {
	ctx := context.Background()
	versus(b,
		func(f *fixture) func(int) error {
			return func(n int) error {
				for i := 0; i < n; i++ {
					if err := f.store.Delete(ctx, logto.StorageKeySignInSession); err != nil {
						return err
					}
					if _, err := f.client.SignIn(ctx, logto.SignInOptions{RedirectURI: redirectURI}); err != nil {
						return err
					}
				}
				return nil
			}
		},
		func(h *handwritten) func(int) error {
			return func(n int) error {
				for i := 0; i < n; i++ {
					h.session.del("pending")
					if _, err := h.signInURL(); err != nil {
						return err
					}
				}
				return nil
			}
		})
}

// BenchmarkVersusFetchUserInfo: one user info request and its decoding,
// checked against the session's user.
func BenchmarkVersusFetchUserInfo(b *testing.B) {
	ctx := context.Background()
	versus(b,
		func(f *fixture) func(int) error {
			return func(n int) error {
				for i := 0; i < n; i++ {
					if _, err := f.client.FetchUserInfo(ctx); err != nil {
						return err
					}
				}
				return nil
			}
		},
		func(h *handwritten) func(int) error {
			return func(n int) error {
				for i := 0; i < n; i++ {
					if _, err := h.userInfo(ctx); err != nil {
						return err
					}
				}
				return nil
			}
		})
}

// BenchmarkVersusIsAuthenticated: the session holds an ID token that
// decodes and belongs to this issuer and application.
func BenchmarkVersusIsAuthenticated(b *testing.B) {
	ctx := context.Background()
	errSignedOut := errors.New("signed out")
	versus(b,
		func(f *fixture) func(int) error {
			return func(n int) error {
				for i := 0; i < n; i++ {
					if !f.client.IsAuthenticated(ctx) {
						return errSignedOut
					}
				}
				return nil
			}
		},
		func(h *handwritten) func(int) error {
			return func(n int) error {
				for i := 0; i < n; i++ {
					if !h.isAuthenticated() {
						return errSignedOut
					}
				}
				return nil
			}
		})
}
