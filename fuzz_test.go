package logto

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gologto/logto/internal/jwks"
)

// Fuzz targets for everything the SDK parses from outside: callback URLs,
// token endpoint responses, ID tokens and their claims, discovery
// documents, and the values it reads back from a Storage. They run against
// fuzzProvider, an in-memory provider (no sockets), with a fixed clock and
// fixed state, nonce and PKCE verifier, so that seeds stay valid forever.
// Run one with, e.g.:
//
//	go test -run='^$' -fuzz='^FuzzHandleCallback$' -fuzztime=10s .
//
// Seeds are in testdata/fuzz/<FuzzName>/ and in the f.Add calls.

// fuzzKeyJWK is a P-384 key generated for these tests only; it signs
// nothing but fuzz seeds.
const fuzzKeyJWK = `{"use":"sig","kty":"EC","kid":"fuzz-key","crv":"P-384","alg":"ES384",` +
	`"x":"o1kaB6iBWovaM9U-zMmrdhX7Wz6GTaSn3pvKFX_z5nTFlozXvOzTvlGr5gvRBiAZ",` +
	`"y":"0aGdNoGoTwzgGrbcF7s4hE2hpuar-y7OFlnI5t13_9Xbg7MBtX_RzoM0qphfWMZB",` +
	`"d":"35UeRtYUDfSVL8Bx65XEwXPvjlKcqTFkkf2xA8Ke3dZSWQDWO5zKozCaESq4wGpI"}`

const (
	fuzzEndpoint = "https://logto.test"
	fuzzIssuer   = fuzzEndpoint + "/oidc"
	fuzzApp      = "fuzz-app"
	fuzzSecret   = "fuzz-secret"
	fuzzRedirect = "https://app.test/callback"
	fuzzAPI      = "https://api.test"
	fuzzUser     = "user-1"
)

var fuzzNow = time.Unix(1_700_000_000, 0)

func fuzzKey() *jose.JSONWebKey {
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON([]byte(fuzzKeyJWK)); err != nil {
		panic(err)
	}
	return &k
}

// fuzzSign signs claims with the fuzz key (ES384, kid fuzz-key).
func fuzzSign(claims map[string]any) string {
	k := fuzzKey()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: *k}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func fuzzIDClaims() map[string]any {
	return map[string]any{
		"iss": fuzzIssuer, "sub": fuzzUser, "aud": fuzzApp, "nonce": "nonce",
		"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix(), "name": "Fuzz",
	}
}

func fuzzDiscoveryDoc() []byte {
	b, _ := json.Marshal(map[string]any{
		"issuer":                                fuzzIssuer,
		"authorization_endpoint":                fuzzIssuer + "/auth",
		"token_endpoint":                        fuzzIssuer + "/token",
		"userinfo_endpoint":                     fuzzIssuer + "/me",
		"jwks_uri":                              fuzzIssuer + "/jwks",
		"end_session_endpoint":                  fuzzIssuer + "/session/end",
		"revocation_endpoint":                   fuzzIssuer + "/token/revocation",
		"id_token_signing_alg_values_supported": []string{"ES384"},
		"authorization_response_iss_parameter_supported": true,
	})
	return b
}

func fuzzJWKSDoc() []byte {
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{fuzzKey().Public()}})
	return b
}

// fuzzTokenBody is a valid code-exchange response for the fixed sign-in.
func fuzzTokenBody() []byte {
	b, _ := json.Marshal(map[string]any{
		"access_token": "opaque-access-token", "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": "refresh-token", "scope": "openid offline_access profile",
		"id_token": fuzzSign(fuzzIDClaims()),
	})
	return b
}

// fuzzProvider is an in-memory Logto answering through http.RoundTripper.
type fuzzProvider struct {
	mu        sync.Mutex
	discovery []byte
	jwks      []byte
	token     func(form url.Values) (int, []byte)
	userinfo  func() (int, []byte)
	hits      map[string]int
}

func newFuzzProvider() *fuzzProvider {
	body := fuzzTokenBody()
	return &fuzzProvider{
		discovery: fuzzDiscoveryDoc(),
		jwks:      fuzzJWKSDoc(),
		token:     func(url.Values) (int, []byte) { return 200, body },
		userinfo:  func() (int, []byte) { return 200, []byte(`{"sub":"` + fuzzUser + `","name":"Fuzz"}`) },
		hits:      map[string]int{},
	}
}

func (p *fuzzProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	p.mu.Lock()
	p.hits[r.URL.Path]++
	status, out := 404, []byte(`{"error":"not_found"}`)
	switch r.URL.Path {
	case "/oidc/.well-known/openid-configuration":
		status, out = 200, p.discovery
	case "/oidc/jwks":
		status, out = 200, p.jwks
	case "/oidc/token":
		form, _ := url.ParseQuery(string(body))
		status, out = p.token(form)
	case "/oidc/me":
		status, out = p.userinfo()
	case "/oidc/token/revocation":
		status, out = 200, nil
	}
	p.mu.Unlock()
	return &http.Response{
		StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(out)), ContentLength: int64(len(out)), Request: r,
	}, nil
}

func (p *fuzzProvider) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

func newFuzzClient(t testing.TB, p *fuzzProvider) *LogtoClient {
	c, err := NewLogtoClient(LogtoConfig{Endpoint: fuzzEndpoint, AppId: fuzzApp, AppSecret: fuzzSecret, Resources: []string{fuzzAPI}}, nil,
		WithHTTPClient(&http.Client{Transport: p}), WithClock(func() time.Time { return fuzzNow }), fixedRandom())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fuzzCallback is the callback the provider would send for the fixed
// sign-in (state "state").
const fuzzCallback = fuzzRedirect + "?code=the-code&state=state&iss=https%3A%2F%2Flogto.test%2Foidc"

// signInView returns a view with a fresh storage holding the fixed pending
// sign-in.
func signInView(t testing.TB, base *LogtoClient) (*LogtoClient, *MemoryStorage) {
	store := NewMemoryStorage()
	v := base.WithStorage(store)
	if _, err := v.SignIn(context.Background(), SignInOptions{RedirectURI: fuzzRedirect}); err != nil {
		t.Fatal(err)
	}
	return v, store
}

// knownError reports whether err is one the SDK documents.
func knownError(err error) bool {
	var oe *OAuthError
	for _, e := range []error{ErrInvalidConfig, ErrNotAuthenticated, ErrSessionExpired, ErrSignInSessionNotFound,
		ErrRedirectURIMismatch, ErrMissingCode, ErrIssuerMismatch, ErrInvalidIDToken, ErrSubjectMismatch,
		ErrDiscovery, ErrInvalidResponse, ErrResponseTooLarge, ErrStorage, ErrTokenMalformed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.As(err, &oe) || strings.HasPrefix(err.Error(), "logto: callback URL")
}

func FuzzHandleCallback(f *testing.F) {
	for _, s := range []string{
		fuzzCallback,
		fuzzRedirect + "?error=access_denied&error_description=no&state=state&iss=https%3A%2F%2Flogto.test%2Foidc",
		fuzzRedirect + "?code=c&state=state",
		fuzzRedirect + "?code=c&state=state&state=state&iss=https%3A%2F%2Flogto.test%2Foidc",
		"https://APP.test/callback?code=c&state=state&iss=https%3A%2F%2Flogto.test%2Foidc",
		"https://app.test/callback/?code=c&state=state&iss=https%3A%2F%2Flogto.test%2Foidc",
		"https://app.test/%63allback?code=c&state=state&iss=https%3A%2F%2Flogto.test%2Foidc",
		"https://app.test/callback?code=c;state=state",
		"https://app.test/callback?code=%zz&state=state",
		"http://[::1",
		"",
	} {
		f.Add(s)
	}
	p := newFuzzProvider()
	base := newFuzzClient(f, p)
	f.Fuzz(func(t *testing.T, raw string) {
		v, store := signInView(t, base)
		before := p.count("/oidc/token")
		err := v.HandleCallback(context.Background(), raw)
		exchanged := p.count("/oidc/token") > before
		if err != nil && !knownError(err) {
			t.Fatalf("undocumented error: %v", err)
		}
		if (err == nil) != exchanged {
			t.Fatalf("err=%v, code exchanged=%v: a valid token response must complete the sign-in", err, exchanged)
		}
		if !exchanged {
			if s, _ := store.Get(context.Background(), StorageKeyIDToken); s != "" {
				t.Fatal("tokens stored without a code exchange")
			}
			return
		}
		// The code went to Logto: the callback must have been right in
		// every respect the SDK checks.
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("unparsable URL %q led to a code exchange", raw)
		}
		q, qerr := url.ParseQuery(u.RawQuery)
		switch {
		case qerr != nil, len(q["state"]) != 1, q.Get("state") != "state", q.Get("code") == "",
			len(q["iss"]) != 1, q.Get("iss") != fuzzIssuer, q.Get("error") != "", len(q["code"]) != 1:
			t.Fatalf("callback %q exchanged despite bad parameters", raw)
		case !strings.EqualFold(u.Scheme, "https") || !strings.EqualFold(u.Host, "app.test") || u.EscapedPath() != "/callback":
			t.Fatalf("callback %q exchanged at another endpoint than the redirect URI", raw)
		}
		if !v.IsAuthenticated(context.Background()) {
			t.Fatal("successful callback but no session")
		}
	})
}

func FuzzTokenResponse(f *testing.F) {
	valid := fuzzTokenBody()
	f.Add(200, valid)
	f.Add(200, []byte(`{"error":"invalid_grant","error_description":"x"}`))
	f.Add(400, []byte(`{"error":"invalid_grant"}`))
	f.Add(200, []byte(`<html>`))
	f.Add(302, []byte(``))
	f.Add(200, []byte(`{"access_token":"a","token_type":"bearer","expires_in":"3600","id_token":"a.b.c"}`))
	f.Add(200, []byte(`null`))
	f.Add(500, valid)
	// Found by this target: a response without expires_in was accepted,
	// and its access token never served.
	var noLifetime map[string]any
	_ = json.Unmarshal(valid, &noLifetime)
	delete(noLifetime, "expires_in")
	b, _ := json.Marshal(noLifetime)
	f.Add(200, b)
	p := newFuzzProvider()
	base := newFuzzClient(f, p)
	var mu sync.Mutex
	var status int
	var body []byte
	p.token = func(url.Values) (int, []byte) { mu.Lock(); defer mu.Unlock(); return status, body }
	f.Fuzz(func(t *testing.T, st int, b []byte) {
		if st < 100 || st > 999 {
			st = 200
		}
		mu.Lock()
		status, body = st, b
		mu.Unlock()
		v, store := signInView(t, base)
		ctx := context.Background()
		err := v.HandleCallback(ctx, fuzzCallback)
		idt, _ := store.Get(ctx, StorageKeyIDToken)
		rt, _ := store.Get(ctx, StorageKeyRefreshToken)
		ats, _ := store.Get(ctx, StorageKeyAccessTokens)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("undocumented error: %v", err)
			}
			if idt != "" || rt != "" || ats != "" {
				t.Fatal("a refused response left tokens in storage")
			}
			return
		}
		if st != 200 {
			t.Fatalf("accepted a token response with HTTP %d", st)
		}
		var resp struct {
			AccessToken  string `json:"access_token"`
			IDToken      string `json:"id_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(b, &resp) != nil || resp.AccessToken == "" || resp.IDToken != idt || resp.RefreshToken != rt {
			t.Fatalf("stored tokens differ from the accepted response")
		}
		claims, err := v.GetIdTokenClaims(ctx)
		if err != nil || claims.Subject == "" || claims.Issuer != fuzzIssuer || claims.Nonce != "nonce" {
			t.Fatalf("accepted ID token does not decode to the expected claims: %+v, %v", claims, err)
		}
		tok, err := v.GetAccessToken(ctx, "")
		if err != nil || tok != resp.AccessToken {
			t.Fatalf("cached access token %q, %v; want %q", tok, err, resp.AccessToken)
		}
	})
}

func FuzzVerifyIDToken(f *testing.F) {
	f.Add(fuzzSign(fuzzIDClaims()))
	c := fuzzIDClaims()
	c["aud"] = []string{fuzzApp, "other"}
	c["azp"] = fuzzApp
	f.Add(fuzzSign(c))
	c = fuzzIDClaims()
	delete(c, "iat")
	f.Add(fuzzSign(c))
	c = fuzzIDClaims()
	c["nbf"] = 1.5e9
	c["exp"] = float64(fuzzNow.Unix()) + 0.5
	f.Add(fuzzSign(c))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	// Found by FuzzClaims: a signed token with a number beyond float64
	// used to be accepted, and Claims(&map) then failed.
	c = fuzzIDClaims()
	c["x"] = json.Number("1e700")
	f.Add(fuzzSign(c))
	p := newFuzzProvider()
	base := newFuzzClient(f, p)
	ctx := context.Background()
	m, err := base.core.provider(ctx)
	if err != nil {
		f.Fatal(err)
	}
	pub := fuzzKey().Public()
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := base.core.verifyIDToken(ctx, m, raw, idTokenCheck{nonce: "nonce"})
		if err != nil {
			if !errors.Is(err, ErrInvalidIDToken) {
				t.Fatalf("verification error outside ErrInvalidIDToken: %v", err)
			}
			return
		}
		// Accepted: it must be a compact JWS signed by the provider's key
		// and carry every claim the SDK promises to check.
		jws, err := jose.ParseSignedCompact(raw, jwks.Algorithms)
		if err != nil {
			t.Fatalf("accepted a token that is not a compact JWS: %v", err)
		}
		if _, err := jws.Verify(pub); err != nil {
			t.Fatalf("accepted a token the provider's key does not verify: %v", err)
		}
		leeway := DefaultLeeway
		switch {
		case claims.Issuer != fuzzIssuer, !claims.Audience.Contains(fuzzApp), claims.Subject == "",
			claims.Nonce != "nonce", claims.IssuedAt == 0, claims.Expiry == 0,
			!fuzzNow.Before(claims.Expiry.Time().Add(leeway)), claims.IssuedAt.Time().After(fuzzNow.Add(leeway)),
			len(claims.Audience) > 1 && claims.AZP != fuzzApp:
			t.Fatalf("accepted claims that fail a check: %+v", claims)
		}
		if d, err := decodeIDToken(raw); err != nil || d.Subject != claims.Subject {
			t.Fatalf("an accepted token must decode again from storage: %v", err)
		}
		var extra map[string]any
		if err := claims.Claims(&extra); err != nil {
			t.Fatalf("Claims on an accepted token: %v", err)
		}
	})
}

func FuzzClaims(f *testing.F) {
	for _, s := range []string{
		`{"iss":"i","sub":"s","aud":["a","b"],"exp":1.5,"iat":2,"name":null,"email_verified":true,"custom_data":{"a":[1,{}]}}`,
		`{"sub":"s","aud":"a","identities":{"google":{"userId":"1","details":{"x":null}}},"organization_data":[{"id":"o","name":"n"}]}`,
		`{"scope":"a b","aud":null,"created_at":1700000000123,"address":{"country":"UK"},"roles":[]}`,
		`{"exp":1e300}`, `{"SUB":"upper","Sub":"mixed"}`, `[]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		stable := func(name string, v, again any) {
			if json.Unmarshal(data, v) != nil {
				return
			}
			b1, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%s: decoded value does not encode: %v", name, err)
			}
			if err := json.Unmarshal(b1, again); err != nil {
				t.Fatalf("%s: own encoding %s does not decode: %v", name, b1, err)
			}
			b2, _ := json.Marshal(again)
			if !bytes.Equal(b1, b2) {
				t.Fatalf("%s: encoding not stable:\n%s\n%s", name, b1, b2)
			}
		}
		stable("IdTokenClaims", &IdTokenClaims{}, &IdTokenClaims{})
		stable("UserInfo", &UserInfo{}, &UserInfo{})
		stable("AccessTokenClaims", &AccessTokenClaims{}, &AccessTokenClaims{})
		stable("tokenResponse", &tokenResponse{}, &tokenResponse{})

		// The same bytes as a JWT payload, read back as from storage.
		enc := base64.RawURLEncoding
		tok := enc.EncodeToString([]byte(`{"alg":"ES384"}`)) + "." + enc.EncodeToString(data) + ".c2ln"
		if c, err := decodeIDToken(tok); err == nil {
			var obj map[string]json.RawMessage
			if json.Unmarshal(data, &obj) != nil {
				t.Fatal("decoded an ID token whose payload is not a JSON object")
			}
			var extra map[string]any
			if err := c.Claims(&extra); err != nil {
				t.Fatalf("Claims on a decoded token: %v", err)
			}
		} else if !errors.Is(err, ErrTokenMalformed) {
			t.Fatalf("decode error outside ErrTokenMalformed: %v", err)
		}
		if _, err := decodeAccessToken(tok); err != nil && !errors.Is(err, ErrTokenMalformed) {
			t.Fatalf("decode error outside ErrTokenMalformed: %v", err)
		}
	})
}

func FuzzDiscovery(f *testing.F) {
	f.Add(fuzzDiscoveryDoc())
	var doc map[string]any
	_ = json.Unmarshal(fuzzDiscoveryDoc(), &doc)
	for _, mutate := range []func(){
		func() { doc["authorization_endpoint"] = "javascript:alert(1)" },
		func() { doc["token_endpoint"] = "http://127.0.0.1:1/token" },
		func() { doc["id_token_signing_alg_values_supported"] = []string{"HS256", "none"} },
		func() { delete(doc, "id_token_signing_alg_values_supported") },
		func() { doc["issuer"] = fuzzIssuer + "/" },
		func() { doc["authorization_endpoint"] = "https://user:pw@logto.test/auth?x=1" },
	} {
		mutate()
		b, _ := json.Marshal(doc)
		f.Add(b)
		_ = json.Unmarshal(fuzzDiscoveryDoc(), &doc)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p := newFuzzProvider()
		p.discovery = body
		c := newFuzzClient(t, p)
		u, err := c.SignIn(context.Background(), SignInOptions{RedirectURI: fuzzRedirect})
		if err != nil {
			if !errors.Is(err, ErrDiscovery) {
				t.Fatalf("discovery failure outside ErrDiscovery: %v", err)
			}
			if c.Storage().(*MemoryStorage).Len() != 0 {
				t.Fatal("a failed discovery stored a transaction")
			}
			return
		}
		m, _ := c.core.provider(context.Background())
		if m.Issuer != fuzzIssuer {
			t.Fatalf("accepted issuer %q", m.Issuer)
		}
		for _, e := range []string{m.AuthorizationEndpoint, m.TokenEndpoint, m.JWKSURI, m.UserinfoEndpoint, m.EndSessionEndpoint, m.RevocationEndpoint} {
			if e == "" {
				continue
			}
			pu, err := url.Parse(e)
			if err != nil || pu.User != nil || pu.Host == "" || !(pu.Scheme == "https" || pu.Scheme == "http" && isLoopback(pu.Hostname())) {
				t.Fatalf("accepted endpoint %q", e)
			}
		}
		if len(m.algs) == 0 {
			t.Fatal("no algorithm")
		}
		for _, a := range m.algs {
			ok := false
			for _, good := range jwks.Algorithms {
				ok = ok || a == string(good)
			}
			if !ok {
				t.Fatalf("accepted signing algorithm %q", a)
			}
		}
		au, err := url.Parse(u)
		ae, _ := url.Parse(m.AuthorizationEndpoint)
		if err != nil || au.Scheme != ae.Scheme || au.Host != ae.Host || au.Path != ae.Path {
			t.Fatalf("sign-in URL %q is not at the authorization endpoint %q", u, m.AuthorizationEndpoint)
		}
		if q := au.Query(); q.Get("state") != "state" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != fuzzApp {
			t.Fatalf("sign-in URL lost its binding parameters: %q", u)
		}
	})
}

func FuzzStoredSession(f *testing.F) {
	tx := func(state string, created int64) string {
		b, _ := json.Marshal([]transaction{{State: state, Nonce: "nonce", CodeVerifier: "codeVerifier",
			RedirectURI: fuzzRedirect, Issuer: fuzzIssuer, CreatedAt: created}})
		return string(b)
	}
	idt := fuzzSign(fuzzIDClaims())
	entries := `{"":{"token":"at","expiresAt":` + jsonInt(fuzzNow.Add(time.Hour).Unix()) + `},"` + fuzzAPI + `":{"token":"api","expiresAt":1}}`
	f.Add(idt, "rt", entries, tx("state", fuzzNow.Unix()))
	f.Add(idt, "", "", "")
	f.Add("not.a.jwt", "rt", "{not json", `[{"state":1}]`)
	f.Add(idt[:len(idt)/2], "rt", `["a"]`, tx("other", fuzzNow.Unix()-7200))
	f.Add("", "", `{"":{"token":"at","expiresAt":9999999999}}`, tx("state", fuzzNow.Unix()+3600))
	p := newFuzzProvider()
	valid := fuzzTokenBody()
	p.token = func(form url.Values) (int, []byte) {
		if form.Get("grant_type") == "authorization_code" {
			return 200, valid
		}
		return 400, []byte(`{"error":"invalid_grant"}`)
	}
	base := newFuzzClient(f, p)
	f.Fuzz(func(t *testing.T, idToken, refreshToken, accessTokens, signIn string) {
		ctx := context.Background()
		store := NewMemoryStorage()
		for k, v := range map[string]string{StorageKeyIDToken: idToken, StorageKeyRefreshToken: refreshToken,
			StorageKeyAccessTokens: accessTokens, StorageKeySignInSession: signIn} {
			if v != "" {
				_ = store.Set(ctx, k, v)
			}
		}
		c := base.WithStorage(store)
		check := func(what string, err error) {
			if err != nil && !knownError(err) {
				t.Fatalf("%s: undocumented error: %v", what, err)
			}
		}
		authed := c.IsAuthenticated(ctx)
		claims, err := c.GetIdTokenClaims(ctx)
		check("GetIdTokenClaims", err)
		if authed && (err != nil || claims.Issuer != fuzzIssuer || claims.Subject == "" || !claims.Audience.Contains(fuzzApp)) {
			t.Fatalf("IsAuthenticated with an unusable ID token: %+v, %v", claims, err)
		}
		_, err = c.GetAccessToken(ctx, "")
		check("GetAccessToken", err)
		_, err = c.GetAccessToken(ctx, fuzzAPI)
		check("GetAccessToken(api)", err)
		info, err := c.FetchUserInfo(ctx)
		check("FetchUserInfo", err)
		if err == nil {
			if cl, cerr := c.GetIdTokenClaims(ctx); cerr != nil || cl.Subject != info.Subject {
				t.Fatalf("user info %q returned for session %q (%v)", info.Subject, cl.Subject, cerr)
			}
		}
		err = c.HandleCallback(ctx, fuzzCallback)
		check("HandleCallback", err)
		if err == nil && !c.IsAuthenticated(ctx) {
			t.Fatal("callback succeeded without a session")
		}
		_, err = c.SignIn(ctx, SignInOptions{RedirectURI: fuzzRedirect})
		check("SignIn", err)
		_, err = c.SignOut(ctx, "")
		check("SignOut", err)
		if store.Len() != 0 {
			t.Fatal("SignOut left values in storage")
		}
	})
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestFuzzHarness checks that the fuzz harness accepts what it should, so
// that the targets do not pass by refusing everything.
func TestFuzzHarness(t *testing.T) {
	ctx := context.Background()
	p := newFuzzProvider()
	base := newFuzzClient(t, p)
	v, _ := signInView(t, base)
	if err := v.HandleCallback(ctx, fuzzCallback); err != nil {
		t.Fatalf("the fixed callback must complete: %v", err)
	}
	info, err := v.FetchUserInfo(ctx)
	if err != nil || info.Subject != fuzzUser {
		t.Fatalf("user info: %+v, %v", info, err)
	}
	m, _ := base.core.provider(ctx)
	if _, err := base.core.verifyIDToken(ctx, m, fuzzSign(fuzzIDClaims()), idTokenCheck{nonce: "nonce"}); err != nil {
		t.Fatalf("the fixed ID token must verify: %v", err)
	}
	if _, err := v.SignOut(ctx, ""); err != nil {
		t.Fatal(err)
	}
}
