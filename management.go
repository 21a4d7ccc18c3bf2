package logto

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Management API helpers of M2MClient cover what token exchange and
// magic links need, nothing more: subject tokens for impersonation,
// personal access tokens and one-time tokens. For anything else, call the
// Management API with M2MClient.HTTPClient.

// ManagementError is an error answered by Logto's Management API: an HTTP
// status other than the route's success status, with Logto's JSON error
// body. It is a refusal, not a malformed answer, so it does not match
// ErrInvalidResponse; an answer that is not in Logto's error format is
// ErrInvalidResponse with its status. Use errors.As to read it:
//
//	var me *logto.ManagementError
//	if errors.As(err, &me) && me.Code == "entity.not_found" { ... }
type ManagementError struct {
	// StatusCode is the HTTP status, e.g. 404.
	StatusCode int
	// Code is Logto's error code, e.g. "entity.not_found",
	// "user.personal_access_token_name_exists", "auth.forbidden",
	// "guard.invalid_input".
	Code string
	// Message is Logto's English message for Code.
	Message string
	// Details is Logto's details member, when it sends one (which input
	// was invalid).
	Details string
	// Method and Path name the request, e.g. "POST" and
	// "/api/subject-tokens".
	Method, Path string
}

// Error implements error. It holds what Logto answered and the request's
// method and path, never a token or secret.
func (e *ManagementError) Error() string {
	msg := "logto: management API " + e.Method + " " + e.Path + " (HTTP " + strconv.Itoa(e.StatusCode) + "): " + e.Code
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Details != "" && e.Details != e.Message {
		msg += " (" + e.Details + ")"
	}
	return msg
}

// managementErrorBody is Logto's error body (RequestError).
type managementErrorBody struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}

// ManagementAPIScope is the Management API's scope that every route needs.
const ManagementAPIScope = "all"

// checkManagement reports whether m can call the Management API: its
// tokens must be for the Management API resource with the scope all.
// Anything else would be refused by Logto on every call.
func (m *M2MClient) checkManagement() error {
	r := m.cfg.Resource
	if m.cfg.OrganizationID != "" || !strings.HasPrefix(r, "https://") || !strings.HasSuffix(r, ".logto.app/api") {
		return fmt.Errorf("%w: Management API helpers need an M2MClient whose Resource is the Management API (DefaultManagementAPIResource, or ManagementAPIResource(tenant) on Logto Cloud) and no OrganizationID", ErrInvalidConfig)
	}
	if !slices.Contains(m.cfg.Scopes, ManagementAPIScope) {
		return fmt.Errorf("%w: Management API helpers need an M2MClient whose Scopes include %q", ErrInvalidConfig, ManagementAPIScope)
	}
	return nil
}

// management sends one Management API request with the client's token
// and decodes the answer into out (when not nil). want is the route's
// success status.
func (m *M2MClient) management(ctx context.Context, method, path string, body any, want int, out any) error {
	if err := m.checkManagement(); err != nil {
		return err
	}
	var payload io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%w: management API %s %s: encode body: %w", ErrInvalidRequest, method, path, err)
		}
		payload = bytes.NewReader(b)
	}
	tok, err := m.Token(ctx)
	if err != nil {
		return wrapf(err, "management API token")
	}
	req, err := http.NewRequestWithContext(ctx, method, m.cfg.Endpoint+path, payload)
	if err != nil {
		return wrapf(err, "management API %s %s", method, path)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	a, err := m.core.send(req)
	if err != nil {
		return wrapf(err, "management API %s %s", method, path)
	}
	if a.status != want {
		return managementFailure(a, method, path)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return fmt.Errorf("%w: management API %s %s: answer is not the expected JSON: %w", ErrInvalidResponse, method, path, err)
	}
	return nil
}

// managementFailure is the error of an answer with another status than
// the route's: a *ManagementError when the body is Logto's error format,
// ErrInvalidResponse otherwise.
func managementFailure(a answer, method, path string) error {
	var eb managementErrorBody
	if json.Unmarshal(a.body, &eb) == nil && eb.Code != "" {
		e := &ManagementError{StatusCode: a.status, Code: eb.Code, Message: eb.Message, Method: method, Path: path}
		// details is a string in Logto's RequestError; anything else is
		// left out rather than echoed.
		_ = json.Unmarshal(eb.Details, &e.Details)
		return e
	}
	return fmt.Errorf("%w: management API %s %s answered HTTP %d", ErrInvalidResponse, method, path, a.status)
}

// epochMillis is a Management API time: epoch milliseconds, or null.
type epochMillis struct{ t time.Time }

func (e *epochMillis) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		e.t = time.Time{}
		return nil
	}
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("a time is not epoch milliseconds: %w", err)
	}
	e.t = time.UnixMilli(ms)
	return nil
}

// userPath is /api/users/<id><rest>, the id path-escaped.
func userPath(userID, rest string) string {
	return "/api/users/" + url.PathEscape(userID) + rest
}

// SubjectToken is a subject token for impersonation ("sub_…"): exchange it
// with TokenTypeImpersonationToken (see TokenExchangeRequest). Logto
// accepts it once, until Expiry.
type SubjectToken struct {
	// Token is the subject token. Hand it only to the application that
	// exchanges it.
	Token string
	// Expiry is when Logto stops accepting it: the second the request
	// was sent plus the lifetime Logto answered (ten minutes in Logto
	// 1.42).
	Expiry time.Time
}

// CreateSubjectToken asks Logto for a subject token that names the user
// (POST /api/subject-tokens), for impersonation: an application with
// token exchange enabled exchanges it for the user's access token, with
// the administrator's own access token as the actor token so that the
// issued token records who acted (the act claim). tokenContext, when not
// nil, is stored with the subject token (a JSON object Logto's custom
// JWT claims scripts can read, e.g. a support ticket number).
//
// Errors: *ManagementError (404 entity.relation_foreign_key_not_found for
// an unknown user), ErrInvalidRequest for an empty userID (nothing sent),
// ErrInvalidConfig when the client is not set up for the Management API.
func (m *M2MClient) CreateSubjectToken(ctx context.Context, userID string, tokenContext map[string]any) (*SubjectToken, error) {
	if userID == "" {
		return nil, fmt.Errorf("%w: CreateSubjectToken needs a user ID", ErrInvalidRequest)
	}
	body := map[string]any{"userId": userID}
	if tokenContext != nil {
		body["context"] = tokenContext
	}
	var out struct {
		SubjectToken string `json:"subjectToken"`
		ExpiresIn    int64  `json:"expiresIn"`
	}
	at := m.core.set.now()
	if err := m.management(ctx, http.MethodPost, "/api/subject-tokens", body, http.StatusCreated, &out); err != nil {
		return nil, err
	}
	if out.SubjectToken == "" || out.ExpiresIn <= 0 {
		return nil, fmt.Errorf("%w: management API POST /api/subject-tokens: answer has no subjectToken or expiresIn", ErrInvalidResponse)
	}
	return &SubjectToken{Token: out.SubjectToken, Expiry: time.Unix(at.Unix()+out.ExpiresIn, 0)}, nil
}

// PersonalAccessToken is a user's personal access token, for scripts and
// CI: exchange Value with TokenTypePersonalAccessToken (see
// TokenExchangeRequest) for an access token of the user.
type PersonalAccessToken struct {
	// UserID is the user the token belongs to.
	UserID string
	// Name is the token's name, unique for the user.
	Name string
	// Value is the token ("pat_…"), a secret to keep like a password.
	Value string
	// CreatedAt is when Logto created it.
	CreatedAt time.Time
	// ExpiresAt is when it stops being accepted; zero means never.
	ExpiresAt time.Time
}

// patAnswer is a personal access token as the Management API sends it.
type patAnswer struct {
	UserID    string      `json:"userId"`
	Name      string      `json:"name"`
	Value     string      `json:"value"`
	CreatedAt epochMillis `json:"createdAt"`
	ExpiresAt epochMillis `json:"expiresAt"`
}

func (p patAnswer) token() PersonalAccessToken {
	return PersonalAccessToken{UserID: p.UserID, Name: p.Name, Value: p.Value, CreatedAt: p.CreatedAt.t, ExpiresAt: p.ExpiresAt.t}
}

// CreatePersonalAccessToken creates a personal access token for the user
// (POST /api/users/{userID}/personal-access-tokens). expiresAt zero means
// it never expires; Logto refuses a time that is not in the future (400
// request.invalid_input).
//
// Errors: *ManagementError (422 user.personal_access_token_name_exists
// when the user already has a token of that name, 404
// entity.relation_foreign_key_not_found for an unknown user),
// ErrInvalidRequest for an empty userID or name (nothing sent).
func (m *M2MClient) CreatePersonalAccessToken(ctx context.Context, userID, name string, expiresAt time.Time) (*PersonalAccessToken, error) {
	if userID == "" || name == "" {
		return nil, fmt.Errorf("%w: CreatePersonalAccessToken needs a user ID and a name", ErrInvalidRequest)
	}
	body := map[string]any{"name": name}
	if !expiresAt.IsZero() {
		body["expiresAt"] = expiresAt.UnixMilli()
	}
	path := userPath(userID, "/personal-access-tokens")
	var out patAnswer
	if err := m.management(ctx, http.MethodPost, path, body, http.StatusCreated, &out); err != nil {
		return nil, err
	}
	if out.Value == "" {
		return nil, fmt.Errorf("%w: management API POST %s: answer has no value", ErrInvalidResponse, path)
	}
	t := out.token()
	return &t, nil
}

// ListPersonalAccessTokens returns the user's personal access tokens (GET
// /api/users/{userID}/personal-access-tokens), values included. An
// unknown user is a *ManagementError 404 entity.not_found.
func (m *M2MClient) ListPersonalAccessTokens(ctx context.Context, userID string) ([]PersonalAccessToken, error) {
	if userID == "" {
		return nil, fmt.Errorf("%w: ListPersonalAccessTokens needs a user ID", ErrInvalidRequest)
	}
	var out []patAnswer
	if err := m.management(ctx, http.MethodGet, userPath(userID, "/personal-access-tokens"), nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	list := make([]PersonalAccessToken, 0, len(out))
	for _, p := range out {
		list = append(list, p.token())
	}
	return list, nil
}

// DeletePersonalAccessToken revokes the user's personal access token of
// that name (POST /api/users/{userID}/personal-access-tokens/delete, the
// name in the body): Logto refuses it in token exchanges from then on
// (invalid_grant); access tokens already issued from it stay valid until
// they expire. An unknown user or name is a *ManagementError 404
// entity.not_found.
func (m *M2MClient) DeletePersonalAccessToken(ctx context.Context, userID, name string) error {
	if userID == "" || name == "" {
		return fmt.Errorf("%w: DeletePersonalAccessToken needs a user ID and a name", ErrInvalidRequest)
	}
	return m.management(ctx, http.MethodPost, userPath(userID, "/personal-access-tokens/delete"),
		map[string]any{"name": name}, http.StatusNoContent, nil)
}

// OneTimeTokenStatus is the state of a one-time token.
type OneTimeTokenStatus string

// One-time token states.
const (
	OneTimeTokenActive   OneTimeTokenStatus = "active"
	OneTimeTokenConsumed OneTimeTokenStatus = "consumed"
	OneTimeTokenRevoked  OneTimeTokenStatus = "revoked"
	OneTimeTokenExpired  OneTimeTokenStatus = "expired"
)

// OneTimeTokenRequest describes a one-time token to create.
type OneTimeTokenRequest struct {
	// Email is the address the token is for (required): the magic link
	// signs in, or signs up, the user with this email.
	Email string
	// TTL is how long the token is accepted, in whole seconds (at least
	// one); zero means Logto's default, ten minutes.
	TTL time.Duration
	// JITOrganizationIDs are organizations the user joins when signing
	// in with the token (the token's context.jitOrganizationIds).
	JITOrganizationIDs []string
}

// OneTimeToken is a one-time token for a magic link: put Token and Email
// in the link, and sign in with them (Logto's one_time_token and
// login_hint sign-in parameters).
type OneTimeToken struct {
	// ID is the token's Management API id.
	ID string
	// Email is the address it is for.
	Email string
	// Token is the secret of the link.
	Token string
	// Status is OneTimeTokenActive for a new token.
	Status OneTimeTokenStatus
	// JITOrganizationIDs are the organizations of the request.
	JITOrganizationIDs []string
	// CreatedAt and ExpiresAt are Logto's times.
	CreatedAt, ExpiresAt time.Time
}

// CreateOneTimeToken creates a one-time token (POST /api/one-time-tokens).
// Logto marks the email's expired tokens as expired at the same time.
//
// Errors: ErrInvalidRequest for an empty email or a TTL that is negative
// or under a second (nothing sent), *ManagementError for Logto's refusals.
func (m *M2MClient) CreateOneTimeToken(ctx context.Context, req OneTimeTokenRequest) (*OneTimeToken, error) {
	if req.Email == "" {
		return nil, fmt.Errorf("%w: CreateOneTimeToken needs an email", ErrInvalidRequest)
	}
	if req.TTL < 0 || (req.TTL > 0 && req.TTL < time.Second) {
		return nil, fmt.Errorf("%w: one-time token TTL must be zero (Logto's default) or at least one second", ErrInvalidRequest)
	}
	body := map[string]any{"email": req.Email}
	if req.TTL > 0 {
		body["expiresIn"] = int64(req.TTL / time.Second)
	}
	if len(req.JITOrganizationIDs) > 0 {
		body["context"] = map[string]any{"jitOrganizationIds": req.JITOrganizationIDs}
	}
	var out struct {
		ID      string `json:"id"`
		Email   string `json:"email"`
		Token   string `json:"token"`
		Status  string `json:"status"`
		Context struct {
			JITOrganizationIDs []string `json:"jitOrganizationIds"`
		} `json:"context"`
		CreatedAt epochMillis `json:"createdAt"`
		ExpiresAt epochMillis `json:"expiresAt"`
	}
	if err := m.management(ctx, http.MethodPost, "/api/one-time-tokens", body, http.StatusCreated, &out); err != nil {
		return nil, err
	}
	if out.Token == "" || out.ExpiresAt.t.IsZero() {
		return nil, fmt.Errorf("%w: management API POST /api/one-time-tokens: answer has no token or expiresAt", ErrInvalidResponse)
	}
	return &OneTimeToken{
		ID: out.ID, Email: out.Email, Token: out.Token, Status: OneTimeTokenStatus(out.Status),
		JITOrganizationIDs: out.Context.JITOrganizationIDs,
		CreatedAt:          out.CreatedAt.t, ExpiresAt: out.ExpiresAt.t,
	}, nil
}
