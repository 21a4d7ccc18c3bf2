package logto

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// GrantTypeTokenExchange is the grant_type of an RFC 8693 token exchange.
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// TokenType names the kind of a token in a token exchange (RFC 8693 3):
// the subject token, the actor token and the issued token.
type TokenType string

// The token types Logto accepts in a token exchange.
const (
	// TokenTypeAccessToken is an access token Logto issued to a
	// first-party application: an opaque one (the default token of a
	// signed-in user) or a JWT (an API resource token). Logto also
	// accepts an impersonation token ("sub_…") under this type. It is
	// the only type Logto accepts for an actor token, and the type of
	// every token Logto issues.
	TokenTypeAccessToken TokenType = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypePersonalAccessToken is a user's personal access token
	// ("pat_…", see M2MClient.CreatePersonalAccessToken). It can be
	// exchanged until it expires or is deleted.
	TokenTypePersonalAccessToken TokenType = "urn:logto:token-type:personal_access_token"
	// TokenTypeImpersonationToken is a subject token created for
	// impersonation ("sub_…", see M2MClient.CreateSubjectToken). It can
	// be exchanged once, within ten minutes of its creation.
	TokenTypeImpersonationToken TokenType = "urn:logto:token-type:impersonation_token"
)

// Valid reports whether t is one of the token types Logto accepts as a
// subject token.
func (t TokenType) Valid() bool {
	switch t {
	case TokenTypeAccessToken, TokenTypePersonalAccessToken, TokenTypeImpersonationToken:
		return true
	}
	return false
}

// ErrInvalidRequest means the SDK refused to send a request that cannot
// succeed: an unknown token type, a required value left empty, a scope
// with white space, a resource that is not an absolute URI. Nothing was
// sent.
var ErrInvalidRequest = errors.New("logto: invalid request")

// TokenExchangeRequest is an RFC 8693 token exchange at Logto's token
// endpoint: Logto verifies the subject token and issues an access token
// for the user it names, as if the exchanging application had signed
// that user in. The application must have token exchange enabled
// (customClientMetadata.allowTokenExchange in the Management API, "Token
// exchange" in the Console); Logto answers invalid_request otherwise.
type TokenExchangeRequest struct {
	// SubjectToken is the token that names the user (required).
	SubjectToken string
	// SubjectTokenType says what SubjectToken is (required): one of the
	// TokenType constants. Any other value is refused before sending.
	SubjectTokenType TokenType
	// ActorToken, when set, is the opaque access token (with the openid
	// scope) of whoever acts for the user, typically the administrator
	// who impersonates them: the issued token then has an act claim
	// whose sub is the actor's user ID (AccessTokenClaims.Act).
	ActorToken string
	// ActorTokenType is the type of ActorToken. Empty means
	// TokenTypeAccessToken, the only type Logto accepts.
	ActorTokenType TokenType
	// Resource asks for a JWT for an API resource (its indicator). With
	// neither Resource nor OrganizationID, Logto issues an opaque token
	// for its user info endpoint, with the requested OIDC scopes.
	Resource string
	// OrganizationID asks for an organization token (with Resource: an
	// organization-scoped API token). The user must be a member.
	OrganizationID string
	// Scopes are requested. Logto grants those the user's roles allow for
	// the resource or organization; with none requested, none are
	// granted.
	Scopes []string
}

// form validates r and returns the token request's parameters.
func (r TokenExchangeRequest) form() (url.Values, error) {
	if r.SubjectToken == "" {
		return nil, fmt.Errorf("%w: token exchange needs a SubjectToken", ErrInvalidRequest)
	}
	if !r.SubjectTokenType.Valid() {
		return nil, fmt.Errorf("%w: unknown subject token type %q", ErrInvalidRequest, string(r.SubjectTokenType))
	}
	form := url.Values{
		"grant_type":         {GrantTypeTokenExchange},
		"subject_token":      {r.SubjectToken},
		"subject_token_type": {string(r.SubjectTokenType)},
	}
	switch {
	case r.ActorToken == "" && r.ActorTokenType != "":
		return nil, fmt.Errorf("%w: ActorTokenType without an ActorToken", ErrInvalidRequest)
	case r.ActorToken != "" && r.ActorTokenType != "" && r.ActorTokenType != TokenTypeAccessToken:
		return nil, fmt.Errorf("%w: unknown actor token type %q (Logto accepts only %s)", ErrInvalidRequest, string(r.ActorTokenType), TokenTypeAccessToken)
	case r.ActorToken != "":
		form.Set("actor_token", r.ActorToken)
		form.Set("actor_token_type", string(TokenTypeAccessToken))
	}
	if r.Resource != "" {
		if u, err := url.Parse(r.Resource); err != nil || !u.IsAbs() {
			return nil, fmt.Errorf("%w: resource %q must be an absolute URI", ErrInvalidRequest, r.Resource)
		}
		form.Set("resource", r.Resource)
	}
	if r.OrganizationID != "" {
		form.Set("organization_id", r.OrganizationID)
	}
	for _, sc := range r.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n") {
			return nil, fmt.Errorf("%w: scope %q is empty or contains white space", ErrInvalidRequest, sc)
		}
	}
	if len(r.Scopes) > 0 {
		form.Set("scope", strings.Join(r.Scopes, " "))
	}
	return form, nil
}

// ExchangedToken is the access token a token exchange issued. It is
// returned to the caller, never stored: it belongs to the subject user,
// not to the session or the machine-to-machine app that asked for it.
type ExchangedToken struct {
	// AccessToken is the token: a JWT for an API resource or an
	// organization, an opaque token otherwise.
	AccessToken string
	// TokenType is the token_type of the answer, "Bearer".
	TokenType string
	// IssuedTokenType is the issued_token_type of the answer.
	// Logto 1.42 leaves it out, though RFC 8693 requires it; the issued
	// token is then an access token, TokenTypeAccessToken.
	IssuedTokenType TokenType
	// Scope is the granted scope, space-separated (possibly empty).
	Scope string
	// Expiry is when the token expires: the second the request was sent
	// plus the lifetime Logto answered (expires_in), never later than the
	// token's own exp. Unlike M2MClient.Token, it is not moved earlier.
	Expiry time.Time
}

// Scopes splits Scope on spaces.
func (t *ExchangedToken) Scopes() []string { return strings.Fields(t.Scope) }

// Claims decodes (without verifying) the token's claims; the token must
// be a JWT (ErrTokenMalformed otherwise), as API resource and
// organization tokens are.
func (t *ExchangedToken) Claims() (AccessTokenClaims, error) { return decodeAccessToken(t.AccessToken) }

// OAuth2Token returns the token as an *oauth2.Token, for an
// oauth2.StaticTokenSource or an HTTP client calling the API.
func (t *ExchangedToken) OAuth2Token() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry}
}

// Actor is the act claim of a token issued by a token exchange with an
// actor token (RFC 8693 4.1): who acts on behalf of the token's subject.
type Actor struct {
	// Subject is the actor's user ID.
	Subject string `json:"sub"`
	// Act is the actor's own actor in a delegation chain (RFC 8693
	// 4.1); Logto never sets it.
	Act *Actor `json:"act,omitempty"`
}

// ExchangeToken exchanges a subject token for an access token (RFC 8693),
// with the client authentication of the app (client_secret_basic for
// confidential apps, client_id for public ones). The session is neither
// read nor changed: the issued token is returned, not stored.
//
// A request that cannot work (unknown token type, empty subject token)
// is refused with ErrInvalidRequest before anything is sent. Logto's
// refusals are *OAuthError: invalid_grant for a subject or actor token
// it does not accept (unknown, expired, already used, deleted, from
// another tenant), invalid_request "requested grant type is not allowed
// for this client" for an app without token exchange, invalid_target
// for an unknown resource, access_denied for an organization the user
// is not a member of.
func (c *LogtoClient) ExchangeToken(ctx context.Context, req TokenExchangeRequest) (*ExchangedToken, error) {
	return c.core.exchangeToken(ctx, req)
}

// ExchangeToken exchanges a subject token for an access token (RFC 8693)
// with the machine-to-machine app's credentials (client_secret_basic),
// for a back end that acts for a user: see LogtoClient.ExchangeToken for
// the request and its errors. The issued token is returned, not cached;
// the client's own client-credentials token is not involved.
func (m *M2MClient) ExchangeToken(ctx context.Context, req TokenExchangeRequest) (*ExchangedToken, error) {
	return m.core.exchangeToken(ctx, req)
}

func (c *core) exchangeToken(ctx context.Context, req TokenExchangeRequest) (*ExchangedToken, error) {
	form, err := req.form()
	if err != nil {
		return nil, err
	}
	meta, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	at := c.set.now()
	tr, err := c.postToken(ctx, meta, form)
	if err != nil {
		return nil, wrapf(err, "token exchange")
	}
	issued := TokenType(tr.IssuedTokenType)
	if issued == "" {
		issued = TokenTypeAccessToken
	}
	return &ExchangedToken{
		AccessToken:     tr.AccessToken,
		TokenType:       "Bearer",
		IssuedTokenType: issued,
		Scope:           tr.Scope,
		// Counted from the second the request was sent, like the token's
		// own exp (Logto truncates iat), so never later than exp.
		Expiry: time.Unix(at.Unix()+int64(tr.ExpiresIn), 0),
	}, nil
}
