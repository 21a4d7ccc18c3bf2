package logtotest

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// GrantTypeTokenExchange is the grant_type of an RFC 8693 token exchange.
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// The subject and actor token types Logto accepts in a token exchange.
const (
	// TokenTypeAccessToken is an access token issued to an app of the
	// fake: an opaque token, a JWT access token, or a subject token
	// ("sub_…", accepted under this type as by Logto). It is the only
	// actor token type.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// TokenTypePersonalAccessToken is a personal access token ("pat_…").
	TokenTypePersonalAccessToken = "urn:logto:token-type:personal_access_token"
	// TokenTypeImpersonationToken is a subject token ("sub_…") created
	// with POST /api/subject-tokens.
	TokenTypeImpersonationToken = "urn:logto:token-type:impersonation_token"
)

// subjectTokenPrefix starts every subject token, as in Logto.
const subjectTokenPrefix = "sub_"

// grantNotAllowed is oidc-provider's answer to a grant type the client
// may not use (Logto answers it for token exchange by an app without
// allowTokenExchange).
func grantNotAllowed() *oauthError {
	return invalidRequest("requested grant type is not allowed for this client")
}

// jwtSubject is what a JWT access token names, once verified.
type jwtSubject struct {
	claims map[string]any
	typ    string
	ok     bool // signed by a key of the server
}

// tokenExchange handles grant_type=urn:ietf:params:oauth:grant-type:token-exchange
// for apps with AllowTokenExchange, in Logto's order: the subject token
// (invalid_grant when unknown, expired, already used or not an access
// token of one of the server's apps), its user (invalid_grant when gone
// or suspended), the organization (access_denied for a non-member), the
// resource (invalid_target), the actor token (invalid_grant unless an
// opaque access token with openid), and only then is an impersonation
// token consumed. Every invalid_grant has the generic description, as in
// Logto.
func (s *Server) tokenExchange(app *App, form url.Values) (*issued, *oauthError) {
	subject, subjectType := form.Get("subject_token"), form.Get("subject_token_type")
	if subject == "" {
		return nil, missingParam("subject_token")
	}
	if subjectType == "" {
		return nil, missingParam("subject_token_type")
	}
	// A JWT subject is verified before the lock is taken (verifyOwnToken
	// takes it).
	var js jwtSubject
	if subjectType == TokenTypeAccessToken && looksLikeJWT(subject) {
		if claims, err := s.verifyOwnToken(subject); err == nil {
			js = jwtSubject{claims: claims, typ: jwtType(subject), ok: true}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	userID, consume, e := s.exchangeSubjectLocked(subject, subjectType, js)
	if e != nil {
		return nil, e
	}
	u := s.users[userID]
	if u == nil || u.Suspended {
		return nil, invalidGrant()
	}
	orgID := form.Get("organization_id")
	if orgID != "" {
		if _, member := u.membership(orgID); !member {
			return nil, accessDenied("user is not a member of the organization")
		}
	}
	resource, e := singleResource(form, multipleResources)
	if e != nil {
		return nil, e
	}
	if resource != "" && s.resources[resource] == nil {
		return nil, invalidTarget("")
	}
	actorID, e := s.exchangeActorLocked(form)
	if e != nil {
		return nil, e
	}
	requested := scopeList(form.Get("scope"))
	out := &issued{}
	switch {
	case resource != "":
		scopes := intersect(requested, s.userResourceScopesLocked(u, resource, orgID))
		ttl := s.resourceTTLLocked(resource)
		out.atClaims = s.jwtAccessTokenClaimsLocked(u.ID, app.ID, resource, scopes, ttl)
		if orgID != "" {
			out.atClaims["organization_id"] = orgID
		}
		out.expiresIn, out.scope = int64(ttl.Seconds()), joinScopes(scopes)
	case orgID != "":
		m, _ := u.membership(orgID)
		scopes := intersect(requested, s.orgScopesLocked(m.Roles))
		out.atClaims = s.jwtAccessTokenClaimsLocked(u.ID, app.ID, organizationAudience(orgID), scopes, organizationTokenTTL)
		out.expiresIn, out.scope = int64(organizationTokenTTL.Seconds()), joinScopes(scopes)
	default:
		// An opaque token for /oidc/me, with the OIDC scopes requested, in
		// a grant of its own (no refresh token).
		g := &grant{id: randomToken(16), clientID: app.ID, userID: u.ID, scopes: requested, rtExpiry: s.nowLocked()}
		s.grants[g.id] = g
		at := s.opaqueAccessTokenLocked(g, requested)
		out.opaqueAT, out.expiresIn, out.scope = at.value, int64(s.opts.accessTTL.Seconds()), joinScopes(at.scopes)
	}
	if actorID != "" && out.atClaims != nil {
		out.atClaims["act"] = map[string]any{"sub": actorID}
	}
	if consume != nil {
		consume.consumedAt = s.nowLocked()
	}
	return out, nil
}

// exchangeSubjectLocked returns the user a subject token names, and the
// impersonation token to consume once the exchange succeeds (nil for the
// other types, which may be exchanged again).
func (s *Server) exchangeSubjectLocked(token, typ string, js jwtSubject) (string, *subjectToken, *oauthError) {
	now := s.nowLocked()
	impersonation := func() (string, *subjectToken, *oauthError) {
		st := s.mgmt.subjectTokens[token]
		if st == nil || !now.Before(st.expiresAt) || !st.consumedAt.IsZero() {
			return "", nil, invalidGrant()
		}
		return st.userID, st, nil
	}
	switch typ {
	case TokenTypeImpersonationToken:
		return impersonation()
	case TokenTypePersonalAccessToken:
		pat := s.mgmt.patByValue(token)
		if pat == nil || (!pat.expiresAt.IsZero() && !now.Before(pat.expiresAt)) {
			return "", nil, invalidGrant()
		}
		return pat.userID, nil, nil
	case TokenTypeAccessToken:
		if strings.HasPrefix(token, subjectTokenPrefix) {
			return impersonation()
		}
		if at := s.accessTokens[token]; at != nil && at.userID != "" {
			// An opaque access token: expired, revoked or issued to an app
			// the server no longer knows is refused.
			if s.liveAccessTokenLocked(token) == nil || s.apps[at.clientID] == nil {
				return "", nil, invalidGrant()
			}
			return at.userID, nil, nil
		}
		if !js.ok {
			return "", nil, invalidGrant()
		}
		// A JWT access token (never an ID token: typ at+jwt and a
		// client_id), of this issuer, unexpired, issued to a known app.
		c := js.claims
		sub, _ := c["sub"].(string)
		clientID, _ := c["client_id"].(string)
		iss, _ := c["iss"].(string)
		exp, _ := c["exp"].(float64)
		if js.typ != "at+jwt" || clientID == "" || sub == "" || iss != s.Issuer() ||
			!now.Before(time.Unix(int64(exp), 0)) || s.apps[clientID] == nil {
			return "", nil, invalidGrant()
		}
		return sub, nil, nil
	}
	return "", nil, invalidGrant()
}

// exchangeActorLocked returns the user of the actor token, "" without
// one. As in Logto, the actor token must be a live opaque access token of
// a user with the openid scope, of type access_token.
func (s *Server) exchangeActorLocked(form url.Values) (string, *oauthError) {
	actor := form.Get("actor_token")
	if actor == "" {
		return "", nil
	}
	if form.Get("actor_token_type") != TokenTypeAccessToken {
		return "", invalidGrant()
	}
	at := s.liveAccessTokenLocked(actor)
	if at == nil || at.userID == "" || !contains(at.scopes, "openid") {
		return "", invalidGrant()
	}
	return at.userID, nil
}

// jwtType returns the typ header of a compact JWS, lower-cased without
// an application/ prefix (RFC 7515 4.1.9), or "".
func jwtType(token string) string {
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return strings.TrimPrefix(strings.ToLower(h.Typ), "application/")
}
