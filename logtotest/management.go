package logtotest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ManagementAPIResource is the Management API's resource indicator, as on
// a self-hosted Logto. The server knows it from the start; an M2M app
// calls the Management API with a client-credentials token for it with
// the scope all:
//
//	srv.AddApp(logtotest.App{ID: "admin", Secret: "s", Type: logtotest.AppMachineToMachine,
//		ResourceScopes: map[string][]string{logtotest.ManagementAPIResource: {"all"}}})
const ManagementAPIResource = "https://default.logto.app/api"

// managementScope is the scope every Management API route needs.
const managementScope = "all"

// Lifetimes of Logto's Management API tokens.
const (
	subjectTokenTTL    = 10 * time.Minute
	oneTimeTokenTTL    = 10 * time.Minute
	managementTenantID = "default"
)

// managementState holds what the Management API routes create. Its maps
// are made on first use; the server lock guards them.
type managementState struct {
	subjectTokens map[string]*subjectToken // by token
	pats          []*personalAccessToken   // in creation order
	oneTimeTokens map[string]*oneTimeToken // by id
}

// subjectToken is an impersonation token (POST /api/subject-tokens).
type subjectToken struct {
	userID     string
	context    map[string]any
	creatorID  string
	expiresAt  time.Time
	consumedAt time.Time // zero until exchanged
}

// personalAccessToken is a user's personal access token.
type personalAccessToken struct {
	userID    string
	name      string
	value     string
	createdAt time.Time
	expiresAt time.Time // zero: never
}

// oneTimeToken is a one-time token (POST /api/one-time-tokens).
type oneTimeToken struct {
	id        string
	email     string
	token     string
	jitOrgs   []string
	status    string // active, consumed, revoked, expired
	createdAt time.Time
	expiresAt time.Time
}

func (m *managementState) patByValue(value string) *personalAccessToken {
	for _, p := range m.pats {
		if p.value == value {
			return p
		}
	}
	return nil
}

func (m *managementState) patByName(userID, name string) (int, *personalAccessToken) {
	for i, p := range m.pats {
		if p.userID == userID && p.name == name {
			return i, p
		}
	}
	return -1, nil
}

// mgmtError is a Management API error in Logto's shape:
// {"code":...,"message":...} plus details for input errors.
type mgmtError struct {
	status  int
	code    string
	message string
	details string
}

func (e *mgmtError) write(w http.ResponseWriter) {
	body := map[string]any{"code": e.code, "message": e.message}
	if e.details != "" {
		body["details"] = e.details
	}
	writeJSON(w, e.status, body)
}

// Logto's Management API errors (packages/phrases, errors/*.ts).
var (
	errHeaderMissing   = &mgmtError{http.StatusUnauthorized, "auth.authorization_header_missing", "Authorization header is missing.", ""}
	errTypeUnsupported = &mgmtError{http.StatusUnauthorized, "auth.authorization_token_type_not_supported", "Authorization type is not supported.", ""}
	errUnauthorized    = &mgmtError{http.StatusUnauthorized, "auth.unauthorized", "Unauthorized. Please check credentials and its scope.", ""}
	errForbidden       = &mgmtError{http.StatusForbidden, "auth.forbidden", "Forbidden. Please check your user roles and permissions.", ""}
	errNotFound        = &mgmtError{http.StatusNotFound, "entity.not_found", "The resource does not exist.", ""}
	errForeignKey      = &mgmtError{http.StatusNotFound, "entity.relation_foreign_key_not_found",
		"Cannot find one or more foreign keys. Please check the input and ensure that all referenced entities exist.", ""}
	errPATNameExists = &mgmtError{http.StatusUnprocessableEntity, "user.personal_access_token_name_exists", "Personal access token name already exists.", ""}
	errPATExpiry     = &mgmtError{http.StatusBadRequest, "request.invalid_input", "Input is invalid. The value of `expiresAt` must be in the future.", ""}
)

func invalidBody(details string) *mgmtError {
	return &mgmtError{http.StatusBadRequest, "guard.invalid_input", "The request body is invalid.", details}
}

// managementRoute wraps a Management API handler: it authenticates the
// bearer token as Logto's koaAuth does (a JWT of the server for
// ManagementAPIResource, unexpired, with the scope all), decodes the JSON
// body (when the route has one) and writes the handler's answer.
func (s *Server) managementRoute(h func(r *http.Request, body map[string]any, sub string) (int, any, *mgmtError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sub, e := s.managementAuth(r)
		if e != nil {
			e.write(w)
			return
		}
		var body map[string]any
		if r.Method == http.MethodPost {
			raw, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
			if len(bytes.TrimSpace(raw)) > 0 {
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.UseNumber()
				if dec.Decode(&body) != nil {
					invalidBody("the request body is not a JSON object").write(w)
					return
				}
			}
			if body == nil {
				body = map[string]any{}
			}
		}
		status, out, e := h(r, body, sub)
		if e != nil {
			e.write(w)
			return
		}
		if out == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, out)
	}
}

// managementAuth returns the sub of the request's Management API token.
func (s *Server) managementAuth(r *http.Request) (string, *mgmtError) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return "", errHeaderMissing
	}
	token, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return "", errTypeUnsupported
	}
	claims, err := s.verifyOwnToken(token)
	if err != nil {
		return "", errUnauthorized
	}
	exp, _ := claims["exp"].(float64)
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	scope, _ := claims["scope"].(string)
	if iss != s.Issuer() || !audienceHas(claims["aud"], ManagementAPIResource) || !s.Now().Before(time.Unix(int64(exp), 0)) {
		return "", errUnauthorized
	}
	if sub == "" {
		return "", &mgmtError{http.StatusUnauthorized, "auth.jwt_sub_missing", "Missing `sub` in JWT.", ""}
	}
	if !contains(strings.Fields(scope), managementScope) {
		return "", errForbidden
	}
	return sub, nil
}

func audienceHas(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.Contains(a, any(want))
	}
	return false
}

// handleCreateSubjectToken is POST /api/subject-tokens.
func (s *Server) handleCreateSubjectToken(_ *http.Request, body map[string]any, sub string) (int, any, *mgmtError) {
	userID, ok := body["userId"].(string)
	if !ok {
		return 0, nil, invalidBody(`Error in key path "userId": (invalid_type) Expected string.`)
	}
	tokenContext := map[string]any{}
	if c, present := body["context"]; present {
		if tokenContext, ok = c.(map[string]any); !ok {
			return 0, nil, invalidBody(`Error in key path "context": (invalid_type) Expected object.`)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userID] == nil {
		return 0, nil, errForeignKey
	}
	token := subjectTokenPrefix + randomID()
	if s.mgmt.subjectTokens == nil {
		s.mgmt.subjectTokens = map[string]*subjectToken{}
	}
	s.mgmt.subjectTokens[token] = &subjectToken{
		userID: userID, context: tokenContext, creatorID: sub, expiresAt: s.nowLocked().Add(subjectTokenTTL),
	}
	return http.StatusCreated, map[string]any{"subjectToken": token, "expiresIn": int64(subjectTokenTTL.Seconds())}, nil
}

// patJSON renders a personal access token as Logto does.
func patJSON(p *personalAccessToken) map[string]any {
	var exp any
	if !p.expiresAt.IsZero() {
		exp = p.expiresAt.UnixMilli()
	}
	return map[string]any{
		"tenantId": managementTenantID, "userId": p.userID, "name": p.name, "value": p.value,
		"createdAt": p.createdAt.UnixMilli(), "expiresAt": exp,
	}
}

// handleCreatePAT is POST /api/users/{userId}/personal-access-tokens.
func (s *Server) handleCreatePAT(r *http.Request, body map[string]any, _ string) (int, any, *mgmtError) {
	userID := r.PathValue("userId")
	name, ok := body["name"].(string)
	if !ok || name == "" {
		return 0, nil, invalidBody(`Error in key path "name": (invalid_type) Expected string.`)
	}
	var expiresAt time.Time
	if v, present := body["expiresAt"]; present && v != nil {
		n, ok := v.(json.Number)
		ms, err := n.Int64()
		if !ok || err != nil {
			return 0, nil, invalidBody(`Error in key path "expiresAt": (invalid_type) Expected number.`)
		}
		expiresAt = time.UnixMilli(ms)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if !expiresAt.IsZero() && !expiresAt.After(now) {
		return 0, nil, errPATExpiry
	}
	if s.users[userID] == nil {
		return 0, nil, errForeignKey
	}
	if _, p := s.mgmt.patByName(userID, name); p != nil {
		return 0, nil, errPATNameExists
	}
	p := &personalAccessToken{
		userID: userID, name: name, value: "pat_" + randomAlnum(32),
		createdAt: now.Truncate(time.Millisecond), expiresAt: expiresAt,
	}
	s.mgmt.pats = append(s.mgmt.pats, p)
	return http.StatusCreated, patJSON(p), nil
}

// handleListPATs is GET /api/users/{userId}/personal-access-tokens.
func (s *Server) handleListPATs(r *http.Request, _ map[string]any, _ string) (int, any, *mgmtError) {
	userID := r.PathValue("userId")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userID] == nil {
		return 0, nil, errNotFound
	}
	list := []map[string]any{}
	for _, p := range s.mgmt.pats {
		if p.userID == userID {
			list = append(list, patJSON(p))
		}
	}
	return http.StatusOK, list, nil
}

// handleDeletePAT is POST /api/users/{userId}/personal-access-tokens/delete
// (name in the body) and DELETE .../personal-access-tokens/{name}.
func (s *Server) handleDeletePAT(r *http.Request, body map[string]any, _ string) (int, any, *mgmtError) {
	userID, name := r.PathValue("userId"), r.PathValue("name")
	if r.Method == http.MethodPost {
		var ok bool
		if name, ok = body["name"].(string); !ok {
			return 0, nil, invalidBody(`Error in key path "name": (invalid_type) Expected string.`)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, p := s.mgmt.patByName(userID, name)
	if p == nil {
		return 0, nil, errNotFound
	}
	s.mgmt.pats = slices.Delete(s.mgmt.pats, i, i+1)
	return http.StatusNoContent, nil, nil
}

// handleCreateOneTimeToken is POST /api/one-time-tokens. As in Logto, the
// email is not checked on creation, only context.jitOrganizationIds is
// kept of the context, and the email's other tokens that are past their
// expiry are marked expired.
func (s *Server) handleCreateOneTimeToken(_ *http.Request, body map[string]any, _ string) (int, any, *mgmtError) {
	email, ok := body["email"].(string)
	if !ok {
		return 0, nil, invalidBody(`Error in key path "email": (invalid_type) Expected string.`)
	}
	ttl := oneTimeTokenTTL
	if v, present := body["expiresIn"]; present {
		n, ok := v.(json.Number)
		secs, err := n.Float64()
		if !ok || err != nil || secs < 1 {
			return 0, nil, invalidBody(`Error in key path "expiresIn": (too_small) Number must be greater than or equal to 1`)
		}
		ttl = time.Duration(secs * float64(time.Second))
	}
	var jit []string
	if c, present := body["context"]; present {
		cm, ok := c.(map[string]any)
		if !ok {
			return 0, nil, invalidBody(`Error in key path "context": (invalid_type) Expected object.`)
		}
		if ids, present := cm["jitOrganizationIds"]; present {
			list, ok := ids.([]any)
			for _, id := range list {
				str, isStr := id.(string)
				ok = ok && isStr
				jit = append(jit, str)
			}
			if !ok {
				return 0, nil, invalidBody(`Error in key path "context.jitOrganizationIds": (invalid_type) Expected array of strings.`)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if s.mgmt.oneTimeTokens == nil {
		s.mgmt.oneTimeTokens = map[string]*oneTimeToken{}
	}
	for _, t := range s.mgmt.oneTimeTokens {
		if t.email == email && t.status == "active" && !now.Before(t.expiresAt) {
			t.status = "expired"
		}
	}
	t := &oneTimeToken{
		id: randomID(), email: email, token: randomAlnum(32), jitOrgs: jit, status: "active",
		createdAt: now.Truncate(time.Millisecond), expiresAt: now.Add(ttl).Truncate(time.Millisecond),
	}
	s.mgmt.oneTimeTokens[t.id] = t
	// The token signs its user in from a magic link like one made with
	// AddOneTimeToken, and is consumed there.
	s.addOneTimeTokenLocked(t.email, t.token, t.expiresAt)
	tokenContext := map[string]any{}
	if jit != nil {
		tokenContext["jitOrganizationIds"] = jit
	}
	return http.StatusCreated, map[string]any{
		"tenantId": managementTenantID, "id": t.id, "email": t.email, "token": t.token, "context": tokenContext,
		"status": t.status, "createdAt": t.createdAt.UnixMilli(), "expiresAt": t.expiresAt.UnixMilli(),
	}, nil
}

// managementRoutes registers the Management API routes of the fake.
func (s *Server) managementRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/subject-tokens", s.managementRoute(s.handleCreateSubjectToken))
	mux.HandleFunc("GET /api/users/{userId}/personal-access-tokens", s.managementRoute(s.handleListPATs))
	mux.HandleFunc("POST /api/users/{userId}/personal-access-tokens", s.managementRoute(s.handleCreatePAT))
	mux.HandleFunc("POST /api/users/{userId}/personal-access-tokens/delete", s.managementRoute(s.handleDeletePAT))
	mux.HandleFunc("DELETE /api/users/{userId}/personal-access-tokens/{name}", s.managementRoute(s.handleDeletePAT))
	mux.HandleFunc("POST /api/one-time-tokens", s.managementRoute(s.handleCreateOneTimeToken))
}

// isManagementPath reports whether path is one of the Management API
// routes of the fake.
func isManagementPath(path string) bool {
	switch {
	case path == "/api/subject-tokens", path == "/api/one-time-tokens":
		return true
	case strings.HasPrefix(path, "/api/users/"):
		_, rest, _ := strings.Cut(strings.TrimPrefix(path, "/api/users/"), "/")
		return rest == "personal-access-tokens" || strings.HasPrefix(rest, "personal-access-tokens/")
	}
	return false
}

// Alphabets of Logto's generateStandardId and generateStandardSecret.
const (
	idAlphabet     = "0123456789abcdefghijklmnopqrstuvwxyz"
	secretAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// randomID is an id like Logto's: 21 lower-case letters and digits.
func randomID() string { return randomFrom(idAlphabet, 21) }

// randomAlnum is a secret like Logto's: n letters and digits.
func randomAlnum(n int) string { return randomFrom(secretAlphabet, n) }

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
