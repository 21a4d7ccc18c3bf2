package logto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// InteractionMode is the deprecated interaction_mode parameter; prefer
// FirstScreen.
type InteractionMode string

// Interaction modes.
const (
	InteractionModeSignIn InteractionMode = "signIn"
	InteractionModeSignUp InteractionMode = "signUp"
)

// FirstScreen is the first page Logto shows (first_screen parameter).
type FirstScreen string

// First screens Logto supports.
const (
	FirstScreenSignIn             FirstScreen = "sign_in"
	FirstScreenRegister           FirstScreen = "register"
	FirstScreenResetPassword      FirstScreen = "reset_password"
	FirstScreenIdentifierSignIn   FirstScreen = "identifier:sign_in"
	FirstScreenIdentifierRegister FirstScreen = "identifier:register"
	FirstScreenSingleSignOn       FirstScreen = "single_sign_on"
)

// Identifier is a sign-in identifier type, for FirstScreenIdentifierSignIn
// and FirstScreenIdentifierRegister.
type Identifier string

// Identifier types.
const (
	IdentifierUsername Identifier = "username"
	IdentifierEmail    Identifier = "email"
	IdentifierPhone    Identifier = "phone"
)

// DirectSignInMethod selects the kind of connector for DirectSignIn.
type DirectSignInMethod string

// Direct sign-in methods.
const (
	DirectSignInSocial DirectSignInMethod = "social"
	DirectSignInSSO    DirectSignInMethod = "sso"
)

// DirectSignIn skips Logto's sign-in page and goes straight to a social
// connector (Target is its target, e.g. "google") or an enterprise SSO
// connector (Target is the connector ID).
type DirectSignIn struct {
	Method DirectSignInMethod
	Target string
}

// SignInOptions shape one sign-in request.
type SignInOptions struct {
	// RedirectURI is where Logto sends the user back; it must be registered
	// in Logto. Required.
	RedirectURI string
	// InteractionMode is deprecated by Logto in favour of FirstScreen.
	InteractionMode InteractionMode
	FirstScreen     FirstScreen
	// Identifiers apply with the identifier first screens.
	Identifiers  []Identifier
	DirectSignIn *DirectSignIn
	// LoginHint pre-fills the identifier (e.g. an email address). With
	// OneTimeToken it is the email address the token was issued for.
	LoginHint string
	// OneTimeToken signs the user in from a magic link: a one-time token
	// created for LoginHint's email address with Logto's Management API
	// (POST /api/one-time-tokens) and sent to the user. Logto's sign-in
	// page verifies and consumes it and signs in, or registers, the user
	// with that email address, without a password; a token already used,
	// expired or revoked is refused there. It needs LoginHint.
	OneTimeToken string
	// OrganizationID shows the sign-in experience of this organization
	// (its branding and sign-in settings) instead of the tenant's. It does
	// not make the session's tokens organization tokens: use
	// GetOrganizationToken for those.
	OrganizationID string
	// UILocales are the user's preferred languages for the sign-in page,
	// BCP 47 tags in order of preference (ui_locales, e.g. "fr-CA fr").
	UILocales []string
	// Prompt overrides LogtoConfig.Prompt for this sign-in.
	Prompt Prompt
	// ExtraParams are added last and override the Logto parameters of the
	// same name (prompt, scope, first_screen, …). The parameters that bind
	// the response to this request (client_id, redirect_uri,
	// response_type, state, nonce, code_challenge, code_challenge_method)
	// cannot be overridden: SignIn returns an error.
	ExtraParams map[string]string
}

// protectedParams cannot be set through ExtraParams.
var protectedParams = [...]string{"client_id", "redirect_uri", "response_type", "state", "nonce", "code_challenge", "code_challenge_method"}

// transaction is one pending sign-in, stored until its callback.
type transaction struct {
	State        string `json:"state"`
	Nonce        string `json:"nonce"`
	CodeVerifier string `json:"codeVerifier"`
	RedirectURI  string `json:"redirectUri"`
	Issuer       string `json:"issuer"`
	CreatedAt    int64  `json:"createdAt"`
}

// SignIn starts a sign-in: it stores a new transaction (state, nonce, PKCE
// verifier) in the session and returns the authorization URL to redirect
// the user to. Tokens already in the session stay until a callback
// replaces them. Several sign-ins may be pending at once (browser tabs).
func (c *LogtoClient) SignIn(ctx context.Context, opts SignInOptions) (string, error) {
	redirect, err := url.Parse(opts.RedirectURI)
	if opts.RedirectURI == "" || err != nil || !redirect.IsAbs() || redirect.Host == "" || redirect.Fragment != "" {
		return "", fmt.Errorf("%w: SignInOptions.RedirectURI must be an absolute URL without fragment", ErrInvalidConfig)
	}
	for k := range opts.ExtraParams {
		if slices.Contains(protectedParams[:], k) {
			return "", fmt.Errorf("%w: ExtraParams cannot set %q", ErrInvalidConfig, k)
		}
	}
	if d := opts.DirectSignIn; d != nil && (d.Method == "" || d.Target == "") {
		return "", fmt.Errorf("%w: DirectSignIn needs a Method and a Target", ErrInvalidConfig)
	}
	if opts.OneTimeToken != "" && opts.LoginHint == "" {
		// Logto's sign-in page ignores a one-time token without the email
		// address it was issued for.
		return "", fmt.Errorf("%w: OneTimeToken needs LoginHint (the email address the token was issued for)", ErrInvalidConfig)
	}
	for _, l := range opts.UILocales {
		if l == "" || strings.ContainsAny(l, " \t\r\n") {
			return "", fmt.Errorf("%w: UILocales holds %q, not a language tag", ErrInvalidConfig, l)
		}
	}
	m, err := c.core.provider(ctx)
	if err != nil {
		return "", err
	}
	tx := transaction{
		State:        c.core.set.random(),
		Nonce:        c.core.set.random(),
		CodeVerifier: c.core.set.random(),
		RedirectURI:  opts.RedirectURI,
		Issuer:       m.Issuer,
		CreatedAt:    c.core.set.now().Unix(),
	}
	authURL, err := c.core.authorizationURL(m.AuthorizationEndpoint, tx, opts)
	if err != nil {
		return "", err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	// A corrupted transaction list is dropped: a new sign-in is the way to
	// recover from it.
	txs, _ := c.loadTransactions(ctx)
	txs = c.core.liveTransactions(txs)
	txs = append(txs, tx)
	if n := c.core.set.maxPending; len(txs) > n {
		txs = txs[len(txs)-n:]
	}
	if err := c.saveTransactions(ctx, txs); err != nil {
		return "", err
	}
	return authURL, nil
}

// queryBuilder writes query parameters in insertion order, the values of
// a key together at its first place; set on an existing key replaces its
// values in place. The zero value is ready; give pairs a capacity to spare
// the growth.
type queryBuilder struct {
	pairs []queryPair
}

type queryPair struct{ k, v string }

func (q *queryBuilder) add(k, v string) {
	if v == "" {
		return
	}
	// After the key's last value, to keep its values together.
	at := len(q.pairs)
	for i := len(q.pairs) - 1; i >= 0; i-- {
		if q.pairs[i].k == k {
			at = i + 1
			break
		}
	}
	q.pairs = append(q.pairs, queryPair{})
	copy(q.pairs[at+1:], q.pairs[at:])
	q.pairs[at] = queryPair{k, v}
}

func (q *queryBuilder) set(k, v string) {
	for i := range q.pairs {
		if q.pairs[i].k == k {
			q.pairs[i].v = v
			// The key's other values go.
			tail := slices.DeleteFunc(q.pairs[i+1:], func(p queryPair) bool { return p.k == k })
			q.pairs = q.pairs[:i+1+len(tail)]
			return
		}
	}
	q.pairs = append(q.pairs, queryPair{k, v})
}

func (q *queryBuilder) encode() string {
	n := 0
	for _, p := range q.pairs {
		n += len(p.k) + len(p.v) + 2
	}
	var b strings.Builder
	// Escaping may add to it; most values need none.
	b.Grow(n + n/4)
	for i, p := range q.pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.v))
	}
	return b.String()
}

func (c *core) authorizationURL(endpoint string, tx transaction, opts SignInOptions) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("%w: authorization_endpoint: %w", ErrDiscovery, err)
	}
	prompt := opts.Prompt
	if prompt == "" {
		prompt = c.cfg.Prompt
	}
	// Room for every parameter below: one allocation, no growth.
	q := queryBuilder{pairs: make([]queryPair, 0, 17+len(c.cfg.Resources)+len(opts.ExtraParams))}
	q.add("client_id", c.cfg.AppId)
	q.add("redirect_uri", tx.RedirectURI)
	q.add("response_type", "code")
	q.add("scope", c.scope)
	for _, r := range c.cfg.Resources {
		q.add("resource", r)
	}
	q.add("prompt", string(prompt))
	q.add("code_challenge", oauth2.S256ChallengeFromVerifier(tx.CodeVerifier))
	q.add("code_challenge_method", "S256")
	q.add("state", tx.State)
	q.add("nonce", tx.Nonce)
	q.add("interaction_mode", string(opts.InteractionMode))
	q.add("first_screen", string(opts.FirstScreen))
	ids := make([]string, 0, len(opts.Identifiers))
	for _, id := range opts.Identifiers {
		ids = append(ids, string(id))
	}
	q.add("identifier", strings.Join(ids, " "))
	if d := opts.DirectSignIn; d != nil {
		q.add("direct_sign_in", string(d.Method)+":"+d.Target)
	}
	q.add("login_hint", opts.LoginHint)
	q.add("one_time_token", opts.OneTimeToken)
	q.add("organization_id", opts.OrganizationID)
	q.add("ui_locales", strings.Join(opts.UILocales, " "))
	extra := make([]string, 0, len(opts.ExtraParams))
	for k := range opts.ExtraParams {
		extra = append(extra, k)
	}
	slices.Sort(extra)
	for _, k := range extra {
		q.set(k, opts.ExtraParams[k])
	}
	enc := q.encode()
	if u.RawQuery != "" {
		enc = u.RawQuery + "&" + enc
	}
	u.RawQuery = enc
	return u.String(), nil
}

func (c *LogtoClient) loadTransactions(ctx context.Context) ([]transaction, error) {
	raw, err := c.storage.Get(ctx, StorageKeySignInSession)
	if err != nil {
		return nil, storageErr("read", StorageKeySignInSession, err)
	}
	if raw == "" {
		return nil, nil
	}
	var txs []transaction
	if err := json.Unmarshal([]byte(raw), &txs); err != nil {
		return nil, storageErr("decode", StorageKeySignInSession, err)
	}
	return txs, nil
}

func (c *LogtoClient) saveTransactions(ctx context.Context, txs []transaction) error {
	var err error
	if len(txs) == 0 {
		err = c.storage.Delete(ctx, StorageKeySignInSession)
	} else {
		b, _ := json.Marshal(txs)
		err = c.storage.Set(ctx, StorageKeySignInSession, string(b))
	}
	if err != nil {
		return storageErr("write", StorageKeySignInSession, err)
	}
	return nil
}

// liveTransactions drops expired transactions.
func (c *core) liveTransactions(txs []transaction) []transaction {
	now := c.set.now().Unix()
	ttl := int64(c.set.transactionTTL.Seconds())
	out := txs[:0]
	for _, t := range txs {
		if t.State != "" && now-t.CreatedAt <= ttl && t.CreatedAt <= now+60 {
			out = append(out, t)
		}
	}
	return out
}
