package logto_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto"
	"github.com/gologto/logto/logtotest"
)

func requireManagementError(t testing.TB, err error, status int, code string) *logto.ManagementError {
	t.Helper()
	var me *logto.ManagementError
	require.ErrorAs(t, err, &me, "%v", err)
	assert.Equal(t, status, me.StatusCode, "%v", err)
	assert.Equal(t, code, me.Code, "%v", err)
	assert.NotErrorIs(t, err, logto.ErrInvalidResponse)
	return me
}

// TestManagementSubjectToken: the subject token names the user, expires
// ten minutes after the request, and is sent with the client's
// Management API token.
func TestManagementSubjectToken(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	m := managementClient(t, srv)
	at := srv.Now()
	st, err := m.CreateSubjectToken(ctx, aliceID, map[string]any{"ticket": "T-1"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(st.Token, "sub_"), st.Token)
	assert.Equal(t, time.Unix(at.Unix()+600, 0), st.Expiry)

	sent := srv.Requests(logtotest.EndpointManagement)
	require.Len(t, sent, 1)
	assert.Equal(t, http.MethodPost, sent[0].Method)
	assert.Equal(t, "/api/subject-tokens", sent[0].Path)
	assert.Equal(t, "application/json", sent[0].Header.Get("Content-Type"))
	assert.Equal(t, aliceID, sent[0].Form.Get("userId"))
	tok, err := m.AccessToken(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Bearer "+tok, sent[0].Header.Get("Authorization"))
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointToken), "one client-credentials token for every call")

	_, err = m.CreateSubjectToken(ctx, "nobody", nil)
	me := requireManagementError(t, err, 404, "entity.relation_foreign_key_not_found")
	assert.Equal(t, "POST", me.Method)
	assert.Equal(t, "/api/subject-tokens", me.Path)
	assert.Equal(t, "logto: management API POST /api/subject-tokens (HTTP 404): entity.relation_foreign_key_not_found: "+
		"Cannot find one or more foreign keys. Please check the input and ensure that all referenced entities exist.", err.Error())
}

// TestManagementPersonalAccessTokens: create, list and delete, with
// Logto's refusals.
func TestManagementPersonalAccessTokens(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	m := managementClient(t, srv)
	exp := srv.Now().Add(24 * time.Hour).Truncate(time.Millisecond)

	forever, err := m.CreatePersonalAccessToken(ctx, aliceID, "ci", time.Time{})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(forever.Value, "pat_"), forever.Value)
	assert.Equal(t, aliceID, forever.UserID)
	assert.Equal(t, "ci", forever.Name)
	assert.True(t, forever.ExpiresAt.IsZero(), "never expires")
	assert.Equal(t, srv.Now().Truncate(time.Millisecond), forever.CreatedAt)
	daily, err := m.CreatePersonalAccessToken(ctx, aliceID, "nightly job/1", exp)
	require.NoError(t, err)
	assert.Equal(t, exp, daily.ExpiresAt)

	list, err := m.ListPersonalAccessTokens(ctx, aliceID)
	require.NoError(t, err)
	assert.Equal(t, []logto.PersonalAccessToken{*forever, *daily}, list)
	list, err = m.ListPersonalAccessTokens(ctx, bobID)
	require.NoError(t, err)
	assert.Empty(t, list)
	assert.NotNil(t, list)

	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"name taken", func() error {
			_, err := m.CreatePersonalAccessToken(ctx, aliceID, "ci", time.Time{})
			return err
		}, 422, "user.personal_access_token_name_exists"},
		{"expiry in the past", func() error {
			_, err := m.CreatePersonalAccessToken(ctx, aliceID, "old", srv.Now().Add(-time.Second))
			return err
		}, 400, "request.invalid_input"},
		{"unknown user", func() error {
			_, err := m.CreatePersonalAccessToken(ctx, "nobody", "ci", time.Time{})
			return err
		}, 404, "entity.relation_foreign_key_not_found"},
		{"list of an unknown user", func() error {
			_, err := m.ListPersonalAccessTokens(ctx, "nobody")
			return err
		}, 404, "entity.not_found"},
		{"delete an unknown name", func() error { return m.DeletePersonalAccessToken(ctx, aliceID, "nope") }, 404, "entity.not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireManagementError(t, tt.call(), tt.status, tt.code) })
	}

	// A name with a slash is sent in the body, not the path.
	require.NoError(t, m.DeletePersonalAccessToken(ctx, aliceID, "nightly job/1"))
	sent := srv.Requests(logtotest.EndpointManagement)
	last := sent[len(sent)-1]
	assert.Equal(t, "/api/users/"+aliceID+"/personal-access-tokens/delete", last.Path)
	assert.Equal(t, "nightly job/1", last.Form.Get("name"))
	list, err = m.ListPersonalAccessTokens(ctx, aliceID)
	require.NoError(t, err)
	assert.Equal(t, []logto.PersonalAccessToken{*forever}, list)
}

// TestManagementOneTimeToken: the token's fields, and the TTL sent in
// whole seconds.
func TestManagementOneTimeToken(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	m := managementClient(t, srv)
	now := srv.Now().Truncate(time.Millisecond)

	ott, err := m.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: "new@example.com"})
	require.NoError(t, err)
	assert.Equal(t, "new@example.com", ott.Email)
	assert.Equal(t, logto.OneTimeTokenActive, ott.Status)
	assert.Len(t, ott.Token, 32)
	assert.NotEmpty(t, ott.ID)
	assert.Empty(t, ott.JITOrganizationIDs)
	assert.Equal(t, now, ott.CreatedAt)
	assert.Equal(t, now.Add(10*time.Minute), ott.ExpiresAt, "Logto's default lifetime")

	ott, err = m.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: "new@example.com", TTL: 90*time.Second + 500*time.Millisecond,
		JITOrganizationIDs: []string{memberOrg}})
	require.NoError(t, err)
	assert.Equal(t, now.Add(90*time.Second), ott.ExpiresAt)
	assert.Equal(t, []string{memberOrg}, ott.JITOrganizationIDs)
	sent := srv.Requests(logtotest.EndpointManagement)
	assert.Equal(t, "90", sent[len(sent)-1].Form.Get("expiresIn"))
}

// TestManagementRefusedBeforeSending: bad arguments and a client not set
// up for the Management API send nothing.
func TestManagementRefusedBeforeSending(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	m := managementClient(t, srv)
	newM2M := func(resource, org string, scopes ...string) *logto.M2MClient {
		c, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: adminAppID, AppSecret: adminAppSecret,
			Resource: resource, OrganizationID: org, Scopes: scopes})
		require.NoError(t, err)
		return c
	}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"subject token without user", func() error { _, err := m.CreateSubjectToken(ctx, "", nil); return err }, logto.ErrInvalidRequest},
		{"PAT without name", func() error { _, err := m.CreatePersonalAccessToken(ctx, aliceID, "", time.Time{}); return err }, logto.ErrInvalidRequest},
		{"PAT without user", func() error { _, err := m.CreatePersonalAccessToken(ctx, "", "n", time.Time{}); return err }, logto.ErrInvalidRequest},
		{"list without user", func() error { _, err := m.ListPersonalAccessTokens(ctx, ""); return err }, logto.ErrInvalidRequest},
		{"delete without name", func() error { return m.DeletePersonalAccessToken(ctx, aliceID, "") }, logto.ErrInvalidRequest},
		{"one-time token without email", func() error { _, err := m.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{}); return err }, logto.ErrInvalidRequest},
		{"one-time token TTL under a second", func() error {
			_, err := m.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: "a@example.com", TTL: time.Millisecond})
			return err
		}, logto.ErrInvalidRequest},
		{"negative one-time token TTL", func() error {
			_, err := m.CreateOneTimeToken(ctx, logto.OneTimeTokenRequest{Email: "a@example.com", TTL: -time.Second})
			return err
		}, logto.ErrInvalidRequest},
		{"context that is not JSON", func() error {
			_, err := m.CreateSubjectToken(ctx, aliceID, map[string]any{"f": func() {}})
			return err
		}, logto.ErrInvalidRequest},
		{"API resource client", func() error {
			_, err := newM2M(apiResource, "", "all").CreateSubjectToken(ctx, aliceID, nil)
			return err
		}, logto.ErrInvalidConfig},
		{"organization client", func() error {
			_, err := newM2M(logto.DefaultManagementAPIResource, memberOrg, "all").CreateSubjectToken(ctx, aliceID, nil)
			return err
		}, logto.ErrInvalidConfig},
		{"client without the scope all", func() error {
			_, err := newM2M(logto.DefaultManagementAPIResource, "").CreateSubjectToken(ctx, aliceID, nil)
			return err
		}, logto.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetRequests()
			err := tt.call()
			assert.ErrorIs(t, err, tt.want)
			assert.Zero(t, srv.RequestCount(logtotest.EndpointManagement)+srv.RequestCount(logtotest.EndpointToken), "nothing sent")
		})
	}
	// A Logto Cloud tenant's Management API passes the check.
	cloud, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: adminAppID, AppSecret: adminAppSecret,
		Resource: logto.ManagementAPIResource("tenant1"), Scopes: []string{"all"}}, logto.WithClock(srv.Now))
	require.NoError(t, err)
	_, err = cloud.CreateSubjectToken(ctx, aliceID, nil)
	requireOAuthError(t, err, "invalid_target") // the fake has only the self-hosted resource
}

// TestManagementAnswers: what the helpers make of the Management API's
// answers: Logto's error format is a *ManagementError, anything else
// ErrInvalidResponse; bodies are bounded; the context is honoured.
func TestManagementAnswers(t *testing.T) {
	ctx := context.Background()
	srv := newExchangeProvider(t)
	m := managementClient(t, srv)
	create := func(ctx context.Context) error { _, err := m.CreateSubjectToken(ctx, aliceID, nil); return err }
	require.NoError(t, create(ctx))

	srv.FailNext(logtotest.EndpointManagement, http.StatusForbidden,
		`{"code":"auth.forbidden","message":"Forbidden. Please check your user roles and permissions."}`)
	requireManagementError(t, create(ctx), 403, "auth.forbidden")

	srv.FailNext(logtotest.EndpointManagement, http.StatusBadRequest,
		`{"code":"guard.invalid_input","message":"The request body is invalid.","details":"Error in key path \"userId\""}`)
	me := requireManagementError(t, create(ctx), 400, "guard.invalid_input")
	assert.Equal(t, `Error in key path "userId"`, me.Details)
	assert.Contains(t, me.Error(), `(Error in key path "userId")`)

	for name, fail := range map[string]struct {
		status int
		body   string
	}{
		"HTML error page":         {http.StatusBadGateway, "<html>bad gateway</html>"},
		"error without a code":    {http.StatusNotFound, `{"message":"x"}`},
		"success of another kind": {http.StatusOK, `{"subjectToken":"sub_x","expiresIn":600}`},
		"created, not JSON":       {http.StatusCreated, "sub_x"},
		"created without token":   {http.StatusCreated, `{"expiresIn":600}`},
	} {
		t.Run(name, func(t *testing.T) {
			srv.FailNext(logtotest.EndpointManagement, fail.status, fail.body)
			err := create(ctx)
			assert.ErrorIs(t, err, logto.ErrInvalidResponse)
			var me *logto.ManagementError
			assert.False(t, errors.As(err, &me))
		})
	}

	// Discovery fits in 8 KiB, a list of 60 tokens does not.
	small := managementClient(t, srv, logto.WithMaxResponseBytes(8<<10))
	_, err := small.ListPersonalAccessTokens(ctx, aliceID)
	require.NoError(t, err)
	for i := range 60 { // about 160 bytes each
		_, err := m.CreatePersonalAccessToken(ctx, aliceID, fmt.Sprint("pat-", i), time.Time{})
		require.NoError(t, err)
	}
	_, err = small.ListPersonalAccessTokens(ctx, aliceID)
	assert.ErrorIs(t, err, logto.ErrResponseTooLarge)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	srv.ResetRequests()
	assert.ErrorIs(t, create(canceled), context.Canceled)
	assert.Zero(t, srv.RequestCount(logtotest.EndpointManagement))

	// The client-credentials token is refused: the token endpoint's error.
	bad, err := logto.NewM2MClient(logto.M2MConfig{Endpoint: srv.URL(), AppId: adminAppID, AppSecret: "wrong",
		Resource: logto.DefaultManagementAPIResource, Scopes: []string{"all"}})
	require.NoError(t, err)
	_, err = bad.CreateSubjectToken(ctx, aliceID, nil)
	requireOAuthError(t, err, "invalid_client")
}
