package logto

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// S256 of the literal "codeVerifier", computed independently with Python's hashlib;
// the SDK must produce the same.
const challengeOfCodeVerifier = "N1E4yRMD7xixn_oFyO_W3htYN3rY7-HMDKJe6z6r928"

const pyBase = "https://logto.app/oidc/auth?client_id=replace-with-your-app-id&redirect_uri=redirectUri"

func TestSignInURL(t *testing.T) {
	ds := newDiscoveryServer(t, nil)
	tail := "&code_challenge=" + challengeOfCodeVerifier + "&code_challenge_method=S256&state=state&nonce=nonce"
	tests := []struct {
		name string
		cfg  func(*LogtoConfig)
		opts SignInOptions
		want string
	}{
		{
			name: "interaction mode",
			opts: SignInOptions{InteractionMode: InteractionModeSignUp},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&interaction_mode=signUp",
		},
		{
			name: "multiple resources",
			cfg:  func(c *LogtoConfig) { c.Resources = []string{"https://resource1", "https://resource2"} },
			opts: SignInOptions{InteractionMode: InteractionModeSignUp},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&resource=https%3A%2F%2Fresource1&resource=https%3A%2F%2Fresource2&prompt=consent" + tail + "&interaction_mode=signUp",
		},
		{
			name: "multiple scopes",
			cfg:  func(c *LogtoConfig) { c.Scopes = []string{ScopeEmail, "phone"} },
			want: pyBase + "&response_type=code&scope=email+phone+openid+offline_access+profile&prompt=consent" + tail,
		},
		{
			name: "organization scope adds the organizations resource",
			cfg:  func(c *LogtoConfig) { c.Scopes = []string{"urn:logto:scope:organizations"} },
			want: pyBase + "&response_type=code&scope=urn%3Alogto%3Ascope%3Aorganizations+openid+offline_access+profile&resource=urn%3Alogto%3Aresource%3Aorganizations&prompt=consent" + tail,
		},
		{
			name: "reserved scopes never duplicated",
			cfg:  func(c *LogtoConfig) { c.Scopes = []string{"openid", "email", "email", "profile"} },
			want: pyBase + "&response_type=code&scope=openid+email+profile+offline_access&prompt=consent" + tail,
		},
		{
			name: "all configs",
			cfg: func(c *LogtoConfig) {
				c.Scopes = []string{"email", "phone"}
				c.Resources = []string{"https://resource1", "https://resource2"}
				c.Prompt = PromptLogin
			},
			opts: SignInOptions{InteractionMode: InteractionModeSignUp},
			want: pyBase + "&response_type=code&scope=email+phone+openid+offline_access+profile&resource=https%3A%2F%2Fresource1&resource=https%3A%2F%2Fresource2&prompt=login" + tail + "&interaction_mode=signUp",
		},
		{
			name: "prompt option overrides config",
			opts: SignInOptions{Prompt: "login consent"},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=login+consent" + tail,
		},
		{
			name: "direct sign-in sso",
			opts: SignInOptions{DirectSignIn: &DirectSignIn{Method: DirectSignInSSO, Target: "arbitrary-sso-id"}},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&direct_sign_in=sso%3Aarbitrary-sso-id",
		},
		{
			name: "direct sign-in social",
			opts: SignInOptions{DirectSignIn: &DirectSignIn{Method: DirectSignInSocial, Target: "google"}},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&direct_sign_in=social%3Agoogle",
		},
		{
			name: "login hint",
			opts: SignInOptions{LoginHint: "john@wick.com"},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&login_hint=john%40wick.com",
		},
		{
			name: "magic link",
			opts: SignInOptions{LoginHint: "john@wick.com", OneTimeToken: "ott-1"},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&login_hint=john%40wick.com&one_time_token=ott-1",
		},
		{
			name: "organization sign-in experience",
			opts: SignInOptions{OrganizationID: "org-1"},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&organization_id=org-1",
		},
		{
			name: "UI locales in order",
			opts: SignInOptions{UILocales: []string{"fr-CA", "fr", "en"}},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&ui_locales=fr-CA+fr+en",
		},
		{
			name: "every sign-in experience option",
			opts: SignInOptions{
				FirstScreen: FirstScreenIdentifierSignIn, Identifiers: []Identifier{IdentifierEmail},
				LoginHint: "a@b.c", OneTimeToken: "t", OrganizationID: "o", UILocales: []string{"de"},
			},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail +
				"&first_screen=identifier%3Asign_in&identifier=email&login_hint=a%40b.c&one_time_token=t&organization_id=o&ui_locales=de",
		},
		{
			name: "extra param overrides a typed option in place",
			opts: SignInOptions{UILocales: []string{"de"}, ExtraParams: map[string]string{"ui_locales": "ja"}},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&ui_locales=ja",
		},
		{
			name: "new scope constants",
			cfg:  func(c *LogtoConfig) { c.Scopes = []string{ScopeSessions, ScopeTrustedDevices} },
			want: pyBase + "&response_type=code&scope=urn%3Alogto%3Ascope%3Asessions+urn%3Alogto%3Ascope%3Atrusted_devices+openid+offline_access+profile&prompt=consent" + tail,
		},
		{
			name: "extra params",
			opts: SignInOptions{ExtraParams: map[string]string{"custom_param_2": "value_2", "custom_param_1": "value_1"}},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&custom_param_1=value_1&custom_param_2=value_2",
		},
		{
			name: "extra params override in place",
			opts: SignInOptions{FirstScreen: FirstScreenRegister, ExtraParams: map[string]string{"prompt": "login", "first_screen": "sign_in"}},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=login" + tail + "&first_screen=sign_in",
		},
		{
			name: "multiple params",
			opts: SignInOptions{
				InteractionMode: InteractionModeSignUp,
				FirstScreen:     FirstScreenIdentifierRegister,
				Identifiers:     []Identifier{IdentifierEmail},
				ExtraParams:     map[string]string{"custom_param_1": "value_1", "custom_param_2": "value_2"},
			},
			want: pyBase + "&response_type=code&scope=openid+offline_access+profile&prompt=consent" + tail + "&interaction_mode=signUp&first_screen=identifier%3Aregister&identifier=email&custom_param_1=value_1&custom_param_2=value_2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := LogtoConfig{Endpoint: ds.URL, AppId: "replace-with-your-app-id"}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			c, err := NewLogtoClient(cfg, nil, fixedRandom())
			require.NoError(t, err)
			opts := tt.opts
			opts.RedirectURI = "https://app.example/callback"
			got, err := c.SignIn(context.Background(), opts)
			require.NoError(t, err)
			// The Python vectors use the literal redirect URI "redirectUri".
			got = strings.Replace(got, url.QueryEscape(opts.RedirectURI), "redirectUri", 1)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestSignInFirstScreenIdentifiers ports the Python test that walks every
// first screen with every non-empty combination of identifiers.
func TestSignInFirstScreenIdentifiers(t *testing.T) {
	ds := newDiscoveryServer(t, nil)
	screens := []FirstScreen{FirstScreenIdentifierRegister, FirstScreenIdentifierSignIn, FirstScreenSingleSignOn, FirstScreenResetPassword}
	all := []Identifier{IdentifierUsername, IdentifierEmail, IdentifierPhone}
	for _, fs := range screens {
		for mask := 1; mask < 1<<len(all); mask++ {
			var ids []Identifier
			var names []string
			for i, id := range all {
				if mask&(1<<i) != 0 {
					ids = append(ids, id)
					names = append(names, string(id))
				}
			}
			t.Run(string(fs)+"/"+strings.Join(names, "+"), func(t *testing.T) {
				c, err := NewLogtoClient(LogtoConfig{Endpoint: ds.URL, AppId: "app"}, nil, fixedRandom())
				require.NoError(t, err)
				got, err := c.SignIn(context.Background(), SignInOptions{RedirectURI: "https://app.example/cb", FirstScreen: fs, Identifiers: ids})
				require.NoError(t, err)
				assert.True(t, strings.HasSuffix(got, "&state=state&nonce=nonce&first_screen="+url.QueryEscape(string(fs))+"&identifier="+strings.Join(names, "+")), got)
			})
		}
	}
}

func TestSignInStoresTransactions(t *testing.T) {
	ds := newDiscoveryServer(t, nil)
	ctx := context.Background()
	store := NewMemoryStorage()
	now := fixedClock()
	c, err := NewLogtoClient(LogtoConfig{Endpoint: ds.URL, AppId: "app"}, store, WithClock(now.Now))
	require.NoError(t, err)

	var states []string
	for i := 0; i < DefaultMaxPendingSignIns+2; i++ {
		u, err := c.SignIn(ctx, SignInOptions{RedirectURI: "https://app.example/cb"})
		require.NoError(t, err)
		pu, err := url.Parse(u)
		require.NoError(t, err)
		q := pu.Query()
		assert.Len(t, q.Get("state"), 43, "state is 32 random bytes, base64url")
		assert.Len(t, q.Get("nonce"), 43)
		assert.Len(t, q.Get("code_challenge"), 43)
		states = append(states, q.Get("state"))
	}
	assert.Len(t, uniq(states), len(states), "every sign-in draws a new state")
	txs, err := c.loadTransactions(ctx)
	require.NoError(t, err)
	require.Len(t, txs, DefaultMaxPendingSignIns, "only the newest pending sign-ins are kept")
	assert.Equal(t, states[len(states)-1], txs[len(txs)-1].State)
	assert.Equal(t, ds.URL+"/oidc", txs[0].Issuer)
	assert.Equal(t, int64(1), ds.hits.Load(), "discovery is fetched once")

	// Expired transactions are dropped at the next sign-in.
	now.Advance(DefaultTransactionTTL + time.Second)
	_, err = c.SignIn(ctx, SignInOptions{RedirectURI: "https://app.example/cb"})
	require.NoError(t, err)
	txs, err = c.loadTransactions(ctx)
	require.NoError(t, err)
	assert.Len(t, txs, 1)

	// A corrupted list is replaced, not fatal, at sign-in.
	require.NoError(t, store.Set(ctx, StorageKeySignInSession, "{not json"))
	_, err = c.SignIn(ctx, SignInOptions{RedirectURI: "https://app.example/cb"})
	require.NoError(t, err)
	txs, err = c.loadTransactions(ctx)
	require.NoError(t, err)
	assert.Len(t, txs, 1)
}

func TestSignInRejectsBadOptions(t *testing.T) {
	ds := newDiscoveryServer(t, nil)
	c, err := NewLogtoClient(LogtoConfig{Endpoint: ds.URL, AppId: "app"}, nil)
	require.NoError(t, err)
	tests := []struct {
		name string
		opts SignInOptions
	}{
		{"no redirect", SignInOptions{}},
		{"relative redirect", SignInOptions{RedirectURI: "/callback"}},
		{"redirect with fragment", SignInOptions{RedirectURI: "https://a.example/cb#x"}},
		{"extra param overrides state", SignInOptions{RedirectURI: "https://a.example/cb", ExtraParams: map[string]string{"state": "x"}}},
		{"extra param overrides code_challenge", SignInOptions{RedirectURI: "https://a.example/cb", ExtraParams: map[string]string{"code_challenge": "x"}}},
		{"extra param overrides redirect_uri", SignInOptions{RedirectURI: "https://a.example/cb", ExtraParams: map[string]string{"redirect_uri": "https://evil.example"}}},
		{"direct sign-in without target", SignInOptions{RedirectURI: "https://a.example/cb", DirectSignIn: &DirectSignIn{Method: DirectSignInSocial}}},
		{"one-time token without login hint", SignInOptions{RedirectURI: "https://a.example/cb", OneTimeToken: "t"}},
		{"empty UI locale", SignInOptions{RedirectURI: "https://a.example/cb", UILocales: []string{"en", ""}}},
		{"UI locale with a space", SignInOptions{RedirectURI: "https://a.example/cb", UILocales: []string{"en fr"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.SignIn(context.Background(), tt.opts)
			assert.True(t, errors.Is(err, ErrInvalidConfig), "got %v", err)
			assert.Equal(t, 0, c.storage.(*MemoryStorage).Len(), "nothing stored")
		})
	}
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}

// refQuery is queryBuilder as it was before it kept flat pairs: keys in
// insertion order, each with its list of values.
type refQuery struct {
	keys []string
	vals [][]string
}

func (q *refQuery) add(k, v string) {
	if v == "" {
		return
	}
	for i, kk := range q.keys {
		if kk == k {
			q.vals[i] = append(q.vals[i], v)
			return
		}
	}
	q.keys = append(q.keys, k)
	q.vals = append(q.vals, []string{v})
}

func (q *refQuery) set(k, v string) {
	for i, kk := range q.keys {
		if kk == k {
			q.vals[i] = []string{v}
			return
		}
	}
	q.keys = append(q.keys, k)
	q.vals = append(q.vals, []string{v})
}

func (q *refQuery) encode() string {
	var b strings.Builder
	for i, k := range q.keys {
		for _, v := range q.vals[i] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	return b.String()
}

// runQueryOps applies ops to both builders: each op is 3 bytes (add or
// set, key, value) over small alphabets so that keys repeat.
func runQueryOps(t *testing.T, ops []byte) {
	t.Helper()
	keys := []string{"resource", "scope", "a b", "prompt"}
	vals := []string{"", "x", "y&z", "é"}
	var got queryBuilder
	var want refQuery
	for i := 0; i+2 < len(ops); i += 3 {
		k, v := keys[int(ops[i+1])%len(keys)], vals[int(ops[i+2])%len(vals)]
		if ops[i]%2 == 0 {
			got.add(k, v)
			want.add(k, v)
		} else {
			got.set(k, v)
			want.set(k, v)
		}
	}
	assert.Equal(t, want.encode(), got.encode(), "ops %v", ops)
}

// TestQueryBuilderMatchesReference: same parameters in the same order as
// before, values of a key together, set replacing a key's values in place.
func TestQueryBuilderMatchesReference(t *testing.T) {
	for _, ops := range [][]byte{
		{},
		{0, 0, 1, 0, 1, 1, 0, 0, 2},          // resource, scope, resource: together
		{0, 0, 1, 0, 0, 2, 1, 0, 3},          // set replaces both resources
		{0, 1, 1, 1, 2, 2, 0, 2, 1, 1, 1, 0}, // set to "" keeps the key, add of "" is nothing
		{1, 3, 1, 0, 3, 2, 0, 0, 1, 1, 3, 3},
	} {
		runQueryOps(t, ops)
	}
}

func FuzzQueryBuilder(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 1, 1, 0, 0, 2, 1, 0, 3})
	f.Fuzz(func(t *testing.T, ops []byte) { runQueryOps(t, ops) })
}
