package logtotest

import (
	"net/http"
	"net/url"
	"strings"
)

// tokenResponse is the token endpoint's success body.
type tokenResponse struct {
	AccessToken  string  `json:"access_token"`
	ExpiresIn    int64   `json:"expires_in"`
	IDToken      string  `json:"id_token,omitempty"`
	RefreshToken string  `json:"refresh_token,omitempty"`
	Scope        *string `json:"scope,omitempty"`
	TokenType    string  `json:"token_type"`
}

// issued is what a grant decided to issue, before signing (signing and the
// MutateIDTokens hook run without the server lock).
type issued struct {
	opaqueAT     string         // opaque access token, or
	atClaims     map[string]any // the claims of a JWT access token
	expiresIn    int64
	idClaims     map[string]any // nil: no ID token
	refreshToken string
	scope        string
	// omitEmptyScope leaves an empty scope out of the answer (Logto's
	// client credentials grant); the other grants send "scope": "".
	omitEmptyScope bool
}

// handleToken is the token endpoint.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	resp, e := s.token(w, r)
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	s.mu.Lock()
	mutate := s.mutateTokenResp
	s.mu.Unlock()
	if mutate != nil {
		body := roundTripValue(resp)
		mutate(body)
		writeJSON(w, http.StatusOK, body)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) (*tokenResponse, *oauthError) {
	form, e := readBody(w, r)
	if e != nil {
		return nil, e
	}
	// resource may repeat (RFC 8707); each grant refuses several values.
	if d := duplicateParam(form, "resource"); d != "" {
		return nil, invalidRequest("'" + d + "' parameter must not be provided twice")
	}
	gt := form.Get("grant_type")
	switch gt {
	case "":
		return nil, missingParam("grant_type")
	case "authorization_code", "refresh_token", "client_credentials", DeviceCodeGrantType:
	default:
		return nil, errorf(http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type requested")
	}
	app, e := s.authenticateClient(r, form)
	if e != nil {
		return nil, e
	}
	if !app.grantAllowed(gt) {
		return nil, errorf(http.StatusBadRequest, "unauthorized_client", "requested grant type is not allowed for this client")
	}
	var out *issued
	s.mu.Lock()
	switch gt {
	case "authorization_code":
		out, e = s.codeGrantLocked(app, form)
	case "refresh_token":
		out, e = s.refreshGrantLocked(app, form)
	case DeviceCodeGrantType:
		out, e = s.deviceGrantLocked(app, form)
	default:
		out, e = s.clientCredentialsLocked(app, form)
	}
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.finish(out)
}

// finish signs the tokens of out.
func (s *Server) finish(out *issued) (*tokenResponse, *oauthError) {
	key := s.currentKey()
	resp := &tokenResponse{
		AccessToken:  out.opaqueAT,
		ExpiresIn:    out.expiresIn,
		RefreshToken: out.refreshToken,
		TokenType:    "Bearer",
	}
	if out.scope != "" || !out.omitEmptyScope {
		resp.Scope = &out.scope
	}
	if out.atClaims != nil {
		at, err := key.sign(key.header("at+jwt"), out.atClaims)
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "server_error", err.Error())
		}
		resp.AccessToken = at
	}
	if out.idClaims != nil {
		// oidc-provider's ID tokens have no typ.
		header := map[string]any{"alg": string(key.alg), "kid": key.kid}
		s.mu.Lock()
		mutate := s.mutateIDToken
		s.mu.Unlock()
		if mutate != nil {
			// A deep copy, so that the hook cannot reach the stored user.
			out.idClaims = roundTrip(out.idClaims)
			mutate(header, out.idClaims)
		}
		idt, err := key.sign(header, out.idClaims)
		if err != nil {
			return nil, errorf(http.StatusInternalServerError, "server_error", err.Error())
		}
		resp.IDToken = idt
	}
	return resp, nil
}

// opaqueAccessTokenLocked stores a new opaque access token for g (OIDC
// scopes only, for /oidc/me) and returns it.
func (s *Server) opaqueAccessTokenLocked(g *grant, scopes []string) *accessToken {
	now := s.nowLocked()
	at := &accessToken{
		value:     randomToken(32),
		grantID:   g.id,
		clientID:  g.clientID,
		userID:    g.userID,
		scopes:    intersect(scopes, oidcScopes),
		issuedAt:  now,
		expiresAt: now.Add(s.opts.accessTTL),
	}
	s.accessTokens[at.value] = at
	return at
}

// newRefreshTokenLocked stores the first refresh token of g.
func (s *Server) newRefreshTokenLocked(g *grant, scopes []string) *refreshToken {
	now := s.nowLocked()
	rt := &refreshToken{
		value:     randomToken(32),
		grantID:   g.id,
		clientID:  g.clientID,
		scopes:    scopes,
		issuedAt:  now,
		expiresAt: g.rtExpiry,
		iiat:      now,
	}
	s.refreshTokens[rt.value] = rt
	return rt
}

// rotateRefreshTokenLocked stores the refresh token that replaces old. As in
// Logto, a public app's new token keeps the old expiry; a confidential
// app's gets the full lifetime.
func (s *Server) rotateRefreshTokenLocked(app *App, old *refreshToken) *refreshToken {
	now := s.nowLocked()
	rt := &refreshToken{
		value:     randomToken(32),
		grantID:   old.grantID,
		clientID:  old.clientID,
		scopes:    old.scopes,
		issuedAt:  now,
		expiresAt: old.expiresAt,
		iiat:      old.iiat,
	}
	if !app.public() {
		rt.expiresAt = now.Add(s.opts.refreshTTL)
	}
	s.refreshTokens[rt.value] = rt
	return rt
}

// singleResource returns the resource parameter of a token request,
// refusing several values as oidc-provider does (with desc).
func singleResource(form url.Values, desc string) (string, *oauthError) {
	if len(form["resource"]) > 1 {
		return "", invalidTarget(desc)
	}
	return form.Get("resource"), nil
}

// Descriptions of oidc-provider's errors for several resource values.
const (
	multipleResources   = "only a single resource indicator value must be requested/resolved during Access Token Request"
	multipleResourcesCC = "only a single resource indicator value is supported for this grant type"
)

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }
