package logtotest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// TestManagementAuth: the routes take what Logto's Management API takes,
// a JWT for https://default.logto.app/api with the scope all, and answer
// Logto's codes otherwise.
func TestManagementAuth(t *testing.T) {
	srv := newExchangeFixture(t)
	good := managementToken(t, srv, logtotest.ManagementAPIResource, "all")
	tests := []struct {
		name   string
		header string
		status int
		code   string
	}{
		{"no header", "", 401, "auth.authorization_header_missing"},
		{"basic credentials", "Basic " + "YTpi", 401, "auth.authorization_token_type_not_supported"},
		{"not a JWT", "Bearer abc", 401, "auth.unauthorized"},
		{"token for another API", "Bearer " + managementToken(t, srv, apiA, "read"), 401, "auth.unauthorized"},
		{"forged signature", "Bearer " + logtotest.CorruptSignature(good), 401, "auth.unauthorized"},
		{"no scope all", "Bearer " + managementToken(t, srv, logtotest.ManagementAPIResource, ""), 403, "auth.forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, route := range []struct{ method, path string }{
				{http.MethodPost, "/api/subject-tokens"},
				{http.MethodGet, "/api/users/u-alice/personal-access-tokens"},
				{http.MethodPost, "/api/users/u-alice/personal-access-tokens"},
				{http.MethodPost, "/api/users/u-alice/personal-access-tokens/delete"},
				{http.MethodDelete, "/api/users/u-alice/personal-access-tokens/x"},
				{http.MethodPost, "/api/one-time-tokens"},
			} {
				req, err := http.NewRequest(route.method, srv.URL()+route.path, strings.NewReader(`{"userId":"u-alice"}`))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				status, body := doJSON(t, req)
				assert.Equal(t, tt.status, status, "%s %s", route.method, route.path)
				assert.Equal(t, tt.code, body["code"], "%s %s", route.method, route.path)
				assert.NotEmpty(t, body["message"])
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		srv.Advance(time.Hour)
		status, body := mgmtCall(t, srv, http.MethodPost, "/api/subject-tokens", good, map[string]any{"userId": "u-alice"})
		assert.Equal(t, 401, status)
		assert.Equal(t, "auth.unauthorized", body.(map[string]any)["code"])
	})
	assert.Equal(t, len(tests)*6+1, srv.RequestCount(logtotest.EndpointManagement), "every call is logged under EndpointManagement")
	// Other Management API routes are not served.
	status, _, _ := getJSON(t, srv.URL()+"/api/users/u-alice/roles", good)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, 1, srv.RequestCount(logtotest.EndpointUnknown))
}

// TestManagementRoutes: the bodies and statuses of the routes, as Logto
// answers them (recorded on the real server).
func TestManagementRoutes(t *testing.T) {
	srv := newExchangeFixture(t)
	tok := managementToken(t, srv, logtotest.ManagementAPIResource, "all")
	call := func(method, path string, body any) (int, any) {
		t.Helper()
		return mgmtCall(t, srv, method, path, tok, body)
	}
	obj := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	nowMs := float64(srv.Now().UnixMilli())

	t.Run("subject tokens", func(t *testing.T) {
		status, body := call(http.MethodPost, "/api/subject-tokens", map[string]any{"userId": "u-alice", "context": map[string]any{"ticket": 1}})
		require.Equal(t, 201, status, body)
		assert.Equal(t, []string{"expiresIn", "subjectToken"}, sortedKeys(obj(body)))
		assert.Equal(t, float64(600), obj(body)["expiresIn"])
		assert.Regexp(t, `^sub_[0-9a-z]{21}$`, obj(body)["subjectToken"])
		for name, tt := range map[string]struct {
			body   any
			status int
			code   string
		}{
			"unknown user":     {map[string]any{"userId": "nobody"}, 404, "entity.relation_foreign_key_not_found"},
			"no user":          {map[string]any{}, 400, "guard.invalid_input"},
			"context not JSON": {map[string]any{"userId": "u-alice", "context": "x"}, 400, "guard.invalid_input"},
		} {
			status, body := call(http.MethodPost, "/api/subject-tokens", tt.body)
			assert.Equal(t, tt.status, status, name)
			assert.Equal(t, tt.code, obj(body)["code"], name)
		}
	})

	t.Run("personal access tokens", func(t *testing.T) {
		path := "/api/users/u-alice/personal-access-tokens"
		status, body := call(http.MethodPost, path, map[string]any{"name": "ci"})
		require.Equal(t, 201, status, body)
		pat := obj(body)
		assert.Equal(t, []string{"createdAt", "expiresAt", "name", "tenantId", "userId", "value"}, sortedKeys(pat))
		assert.Nil(t, pat["expiresAt"])
		assert.Equal(t, nowMs, pat["createdAt"])
		assert.Equal(t, "default", pat["tenantId"])
		assert.Regexp(t, `^pat_[0-9A-Za-z]{32}$`, pat["value"])
		exp := nowMs + 60000
		status, body = call(http.MethodPost, path, map[string]any{"name": "job", "expiresAt": exp})
		require.Equal(t, 201, status, body)
		assert.Equal(t, exp, obj(body)["expiresAt"])

		status, body = call(http.MethodGet, path, nil)
		require.Equal(t, 200, status)
		list, _ := body.([]any)
		require.Len(t, list, 2)
		assert.Equal(t, pat, list[0])

		for name, tt := range map[string]struct {
			method, path string
			body         any
			status       int
			code         string
		}{
			"duplicate name":              {http.MethodPost, path, map[string]any{"name": "ci"}, 422, "user.personal_access_token_name_exists"},
			"past expiry":                 {http.MethodPost, path, map[string]any{"name": "x", "expiresAt": nowMs}, 400, "request.invalid_input"},
			"unknown user":                {http.MethodPost, "/api/users/nobody/personal-access-tokens", map[string]any{"name": "x"}, 404, "entity.relation_foreign_key_not_found"},
			"no name":                     {http.MethodPost, path, map[string]any{}, 400, "guard.invalid_input"},
			"list for nobody":             {http.MethodGet, "/api/users/nobody/personal-access-tokens", nil, 404, "entity.not_found"},
			"delete unknown":              {http.MethodPost, path + "/delete", map[string]any{"name": "nope"}, 404, "entity.not_found"},
			"delete no name":              {http.MethodPost, path + "/delete", map[string]any{}, 400, "guard.invalid_input"},
			"legacy delete, unknown name": {http.MethodDelete, path + "/nope", nil, 404, "entity.not_found"},
		} {
			status, body := call(tt.method, tt.path, tt.body)
			assert.Equal(t, tt.status, status, name)
			assert.Equal(t, tt.code, obj(body)["code"], name)
		}

		status, _ = call(http.MethodPost, path+"/delete", map[string]any{"name": "ci"})
		assert.Equal(t, 204, status)
		status, _ = call(http.MethodDelete, path+"/job", nil)
		assert.Equal(t, 204, status)
		status, body = call(http.MethodGet, path, nil)
		require.Equal(t, 200, status)
		assert.Equal(t, []any{}, body)
	})

	t.Run("one-time tokens", func(t *testing.T) {
		status, body := call(http.MethodPost, "/api/one-time-tokens", map[string]any{
			"email": "new@example.com", "expiresIn": 60, "context": map[string]any{"jitOrganizationIds": []string{"org1"}, "other": 1},
		})
		require.Equal(t, 201, status, body)
		ott := obj(body)
		assert.Equal(t, []string{"context", "createdAt", "email", "expiresAt", "id", "status", "tenantId", "token"}, sortedKeys(ott))
		assert.Equal(t, map[string]any{"jitOrganizationIds": []any{"org1"}}, ott["context"], "only jitOrganizationIds is kept")
		assert.Equal(t, "active", ott["status"])
		assert.Equal(t, nowMs+60000, ott["expiresAt"])
		assert.Regexp(t, `^[0-9A-Za-z]{32}$`, ott["token"])
		// It is a magic link's token like one made with AddOneTimeToken.
		assert.Equal(t, logtotest.OneTimeTokenActive, srv.OneTimeTokenStatus(ott["token"].(string)))

		status, body = call(http.MethodPost, "/api/one-time-tokens", map[string]any{"email": "new@example.com"})
		require.Equal(t, 201, status, body)
		assert.Equal(t, nowMs+600000, obj(body)["expiresAt"], "ten minutes by default")
		assert.Equal(t, map[string]any{}, obj(body)["context"])

		for name, b := range map[string]any{
			"no email":          map[string]any{},
			"zero lifetime":     map[string]any{"email": "a@example.com", "expiresIn": 0},
			"string lifetime":   map[string]any{"email": "a@example.com", "expiresIn": "60"},
			"organization list": map[string]any{"email": "a@example.com", "context": map[string]any{"jitOrganizationIds": "org1"}},
		} {
			status, body := call(http.MethodPost, "/api/one-time-tokens", b)
			assert.Equal(t, 400, status, name)
			assert.Equal(t, "guard.invalid_input", obj(body)["code"], name)
		}
	})
}
