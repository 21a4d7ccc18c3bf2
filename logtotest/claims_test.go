package logtotest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// TestClaimsOfUserWithoutValues pins what Logto 1.42 sends for a user who
// has no values, every scope granted: null for name, picture, username,
// email and phone_number; absent (not null) for address and for the profile
// fields, preferred_username included when there is no username.
func TestClaimsOfUserWithoutValues(t *testing.T) {
	created := time.UnixMilli(1_700_000_000_000)
	srv := logtotest.NewServer(t)
	srv.AddApp(logtotest.App{ID: webID, Secret: webSecret, RedirectURIs: []string{redirectURI}})
	srv.AddUser(logtotest.User{ID: "u-empty", CreatedAt: created, UpdatedAt: created})
	srv.AddUser(logtotest.User{ID: "u-named", Username: "nina", CreatedAt: created, UpdatedAt: created,
		Profile: map[string]any{"preferred_username": "Nina N."}})

	scope := "openid profile email phone address"
	common := map[string]any{
		"name": nil, "picture": nil, "email": nil, "email_verified": false,
		"phone_number": nil, "phone_number_verified": false,
		"created_at": float64(created.UnixMilli()), "updated_at": float64(created.UnixMilli()),
	}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range common {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		user string
		want map[string]any // user claims, without the protocol ones
	}{
		{"u-empty", with("sub", "u-empty", "username", nil)},
		{"u-named", with("sub", "u-named", "username", "nina", "preferred_username", "Nina N.")},
	}
	protocol := []string{"iss", "aud", "exp", "iat", "nonce"}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			body := signIn(t, srv, tt.user, scope, nil)
			_, id := verifyJWT(t, srv, str(body["id_token"]))
			for _, k := range protocol {
				delete(id, k)
			}
			assert.Equal(t, tt.want, id, "ID token")
			status, _, info := getJSON(t, srv.Issuer()+"/me", str(body["access_token"]))
			require.Equal(t, http.StatusOK, status, info)
			assert.Equal(t, tt.want, info, "user info")
		})
	}

	// A username without a profile preferred_username is copied to it.
	srv.AddUser(logtotest.User{ID: "u-plain", Username: "paul"})
	_, id := verifyJWT(t, srv, str(signIn(t, srv, "u-plain", scope, url.Values{})["id_token"]))
	assert.Equal(t, "paul", id["preferred_username"])
	assert.NotContains(t, id, "address")
}
