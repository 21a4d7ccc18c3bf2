package reallogto

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// realTarget is the real Logto server of ../shared/real-logto, set up by
// start.sh (the fixtures) and, per test, through its Management API.
type realTarget struct {
	f *fixtures
	m *mgmt
	// keyIDs maps a JWK kid to its Management API key id.
	keyIDs sync.Map
}

func newRealTarget(t *testing.T) *realTarget {
	t.Helper()
	f := requireReal(t)
	return &realTarget{f: f, m: managementAPI(t, f)}
}

func (r *realTarget) name() string     { return "real" }
func (r *realTarget) endpoint() string { return r.f.Endpoint }
func (r *realTarget) issuer() string   { return r.f.Issuer }
func (r *realTarget) api() string      { return r.f.API.Indicator }
func (r *realTarget) org() string      { return r.f.Organization.ID }

func (r *realTarget) webApp() app {
	return app(r.f.WebApp)
}

func (r *realTarget) nativeApp() app {
	a := r.f.NativeApp
	return app{ID: a.ID, RedirectURI: a.RedirectURI, PostLogoutRedirectURI: a.PostLogoutRedirectURI}
}

func (r *realTarget) m2mApp() app { return app{ID: r.f.M2MApp.ID, Secret: r.f.M2MApp.Secret} }

var (
	apiScopeIDsOnce sync.Once
	apiScopeIDs     map[string]string
)

// scopeIDs maps the fixture API's scope names to their ids.
func (r *realTarget) scopeIDs(t *testing.T, names []string) []string {
	t.Helper()
	apiScopeIDsOnce.Do(func() {
		var scopes []map[string]any
		r.m.call(t, http.MethodGet, "/resources/"+r.f.API.ID+"/scopes", nil, &scopes)
		apiScopeIDs = map[string]string{}
		for _, s := range scopes {
			apiScopeIDs[s["name"].(string)] = s["id"].(string)
		}
	})
	ids := make([]string, 0, len(names))
	for _, n := range names {
		id, ok := apiScopeIDs[n]
		require.True(t, ok, "fixture API has no scope %q", n)
		ids = append(ids, id)
	}
	return ids
}

// newRole creates a global user role with the given scope ids and assigns
// it to users.
func (r *realTarget) newRole(t *testing.T, scopeIDs []string, users ...user) string {
	t.Helper()
	name := unique("go-sdk-role")
	var role map[string]any
	r.m.call(t, http.MethodPost, "/roles", map[string]any{
		"name": name, "description": "reallogto test role", "type": "User", "scopeIds": scopeIDs,
	}, &role)
	id := idOf(t, role)
	r.m.cleanup(t, "/roles/"+id)
	for _, u := range users {
		r.m.call(t, http.MethodPost, "/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{id}}, nil)
	}
	return name
}

func (r *realTarget) joinOrganization(t *testing.T, orgID string, u user) {
	t.Helper()
	r.m.call(t, http.MethodPost, "/organizations/"+orgID+"/users", map[string]any{"userIds": []string{u.ID}}, nil)
	r.m.call(t, http.MethodPost, "/organizations/"+orgID+"/users/"+u.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{r.f.Organization.Roles.Member.ID}}, nil)
}

func (r *realTarget) newUser(t *testing.T, spec userSpec) user {
	t.Helper()
	u := user{Username: slug("gosdk"), Password: userPassword, Name: "Go SDK Test User"}
	body := map[string]any{"username": u.Username, "password": u.Password, "name": u.Name}
	if spec.Email {
		u.Email = u.Username + "@example.com"
		body["primaryEmail"] = u.Email
	}
	if spec.CustomData != nil {
		body["customData"] = spec.CustomData
	}
	var created map[string]any
	r.m.call(t, http.MethodPost, "/users", body, &created)
	u.ID = idOf(t, created)
	r.m.cleanup(t, "/users/"+u.ID)
	for target, socialID := range spec.Identities {
		r.m.call(t, http.MethodPut, "/users/"+u.ID+"/identities/"+target,
			map[string]any{"userId": socialID, "details": map[string]any{}}, nil)
	}
	if len(spec.APIScopes) > 0 {
		u.RoleName = r.newRole(t, r.scopeIDs(t, spec.APIScopes), u)
	}
	for _, org := range spec.Organizations {
		r.joinOrganization(t, org, u)
	}
	return u
}

func (r *realTarget) grantAPIScopes(t *testing.T, u user, scopes ...string) func() {
	t.Helper()
	var role map[string]any
	r.m.call(t, http.MethodPost, "/roles", map[string]any{
		"name": unique("go-sdk-role"), "description": "reallogto test role", "type": "User", "scopeIds": r.scopeIDs(t, scopes),
	}, &role)
	id := idOf(t, role)
	r.m.cleanup(t, "/roles/"+id)
	r.m.call(t, http.MethodPost, "/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{id}}, nil)
	return func() { r.m.call(t, http.MethodDelete, "/users/"+u.ID+"/roles/"+id, nil, nil) }
}

func (r *realTarget) newResource(t *testing.T, spec resourceSpec) string {
	t.Helper()
	name := unique("go-sdk-api")
	indicator := "https://" + name + ".example.com"
	var res map[string]any
	r.m.call(t, http.MethodPost, "/resources", map[string]any{
		"name": name, "indicator": indicator, "accessTokenTtl": int(spec.TTL / time.Second),
	}, &res)
	id := idOf(t, res)
	r.m.cleanup(t, "/resources/"+id)
	var ids []string
	for _, s := range spec.Scopes {
		var sc map[string]any
		r.m.call(t, http.MethodPost, "/resources/"+id+"/scopes", map[string]any{"name": s, "description": s}, &sc)
		ids = append(ids, idOf(t, sc))
	}
	if len(spec.GrantTo) > 0 {
		r.newRole(t, ids, spec.GrantTo...)
	}
	return indicator
}

func (r *realTarget) newOrganization(t *testing.T, members ...user) string {
	t.Helper()
	var org map[string]any
	r.m.call(t, http.MethodPost, "/organizations", map[string]any{"name": unique("go-sdk-org")}, &org)
	id := idOf(t, org)
	r.m.cleanup(t, "/organizations/"+id)
	for _, u := range members {
		r.joinOrganization(t, id, u)
	}
	return id
}

func (r *realTarget) newApp(t *testing.T, spec appSpec) app {
	t.Helper()
	a := app{RedirectURI: spec.RedirectURI, PostLogoutRedirectURI: spec.PostLogoutRedirectURI}
	if a.RedirectURI == "" {
		a.RedirectURI = r.f.WebApp.RedirectURI
	}
	if a.PostLogoutRedirectURI == "" {
		a.PostLogoutRedirectURI = r.f.WebApp.PostLogoutRedirectURI
	}
	meta := map[string]any{"redirectUris": []string{a.RedirectURI}, "postLogoutRedirectUris": []string{a.PostLogoutRedirectURI}}
	if spec.BackchannelLogoutURI != "" {
		meta["backchannelLogoutUri"] = spec.BackchannelLogoutURI
		meta["backchannelLogoutSessionRequired"] = spec.BackchannelSessionRequired
	}
	typ := "Traditional"
	if spec.Native {
		typ = "Native"
	}
	var created map[string]any
	r.m.call(t, http.MethodPost, "/applications", map[string]any{
		"name": unique("go-sdk-app"), "type": typ, "oidcClientMetadata": meta,
	}, &created)
	a.ID = idOf(t, created)
	r.m.cleanup(t, "/applications/"+a.ID)
	if !spec.Native {
		var secrets []map[string]any
		r.m.call(t, http.MethodGet, "/applications/"+a.ID+"/secrets", nil, &secrets)
		require.NotEmpty(t, secrets)
		a.Secret, _ = secrets[0]["value"].(string)
		require.NotEmpty(t, a.Secret)
	}
	return a
}

// signIn walks the authorization request as Logto's sign-in page does,
// through the Experience API (README of ../shared/real-logto): every page
// of the sign-in experience is answered by password sign-in, consent is
// automatic for first-party apps.
func (r *realTarget) signIn(t *testing.T, b *browser, authURL string, u user) string {
	t.Helper()
	return r.walkAuthorization(t, b, authURL, func(*url.URL) string { return r.experienceSignIn(t, b, u) })
}

// walkAuthorization follows an authorization request on the real server:
// its OIDC redirects and consent are followed, and a page of the sign-in
// experience (/sign-in, /register, /direct/…) is answered by page, which
// returns where the browser goes next, or "" to stop there. It returns the
// first location outside Logto, or "" when page stopped.
func (r *realTarget) walkAuthorization(t *testing.T, b *browser, authURL string, page func(*url.URL) string) string {
	t.Helper()
	p := b.get(authURL)
	require.Equal(t, http.StatusSeeOther, p.status, "authorization request: %s", p)
	loc := p.location
	for hops := 0; hops < 12; hops++ {
		if !sameOrigin(loc, r.f.Endpoint) {
			return loc
		}
		lu, err := url.Parse(loc)
		require.NoError(t, err)
		switch {
		case strings.HasPrefix(lu.Path, "/oidc/"), lu.Path == "/consent":
			p = b.get(loc)
			require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
			loc = p.location
		default:
			if loc = page(lu); loc == "" {
				return ""
			}
		}
	}
	t.Fatalf("sign-in did not reach the app after 12 redirects (last %s)", loc)
	return ""
}

// experienceSignIn signs u in with username and password through the
// Experience API and returns where Logto sends the browser next.
func (r *realTarget) experienceSignIn(t *testing.T, b *browser, u user) string {
	t.Helper()
	e := r.f.Endpoint + "/api/experience"
	p := b.sendJSON(http.MethodPut, e, map[string]any{"interactionEvent": "SignIn"})
	require.Equal(t, http.StatusNoContent, p.status, "PUT /api/experience: %s", p)
	p = b.sendJSON(http.MethodPost, e+"/verification/password", map[string]any{
		"identifier": map[string]any{"type": "username", "value": u.Username}, "password": u.Password,
	})
	require.Equal(t, http.StatusOK, p.status, "password verification: %s", p)
	var v struct {
		VerificationID string `json:"verificationId"`
	}
	require.NoError(t, json.Unmarshal(p.body, &v))
	return identifyAndSubmit(t, b, e, v.VerificationID)
}

// identifyAndSubmit ends an Experience API interaction at e whose user was
// verified as verificationID, and returns where Logto sends the browser
// next.
func identifyAndSubmit(t *testing.T, b *browser, e, verificationID string) string {
	t.Helper()
	p := b.sendJSON(http.MethodPost, e+"/identification", map[string]any{"verificationId": verificationID})
	require.Equal(t, http.StatusNoContent, p.status, "identification: %s", p)
	p = b.sendJSON(http.MethodPost, e+"/submit", nil)
	require.Equal(t, http.StatusOK, p.status, "submit: %s", p)
	var s struct {
		RedirectTo string `json:"redirectTo"`
	}
	require.NoError(t, json.Unmarshal(p.body, &s))
	require.NotEmpty(t, s.RedirectTo, "submit: %s", p)
	return s.RedirectTo
}

func (r *realTarget) authorizeOnly(t *testing.T, b *browser, authURL string) string {
	t.Helper()
	loc := authURL
	for hops := 0; hops < 6; hops++ {
		p := b.get(loc)
		require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
		loc = p.location
		lu, err := url.Parse(loc)
		require.NoError(t, err)
		if !sameOrigin(loc, r.f.Endpoint) || !strings.HasPrefix(lu.Path, "/oidc/") {
			return loc
		}
	}
	t.Fatalf("no page after 6 redirects (last %s)", loc)
	return ""
}

// publishedKIDs reads the key ids the OIDC JWKS endpoint serves now.
func (r *realTarget) publishedKIDs(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.f.Endpoint+"/oidc/jwks", nil)
	resp, err := (&http.Client{}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	kids := make([]string, 0, len(set.Keys))
	for _, k := range set.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

// waitForKIDs polls the JWKS until it serves exactly want (the tenant
// reloads its keys lazily after a change through the Management API).
func (r *realTarget) waitForKIDs(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	require.Eventually(t, func() bool {
		got = r.publishedKIDs(t)
		return strings.Join(got, " ") == strings.Join(want, " ")
	}, 20*time.Second, 100*time.Millisecond, "JWKS never served %v (last %v)", want, got)
}

// rotateSigningKey rotates through the Management API (POST
// /api/configs/oidc/private-keys/rotate: the new key becomes Current, the
// old one Previous, an older Previous is dropped) and waits until the
// tenant, which reloads lazily, publishes both. Management API key ids are
// not JWK kids (the JWKS names keys by thumbprint), so the ids are kept
// by kid for removeSigningKey.
func (r *realTarget) rotateSigningKey(t *testing.T) (string, string) {
	t.Helper()
	before := r.publishedKIDs(t)
	require.NotEmpty(t, before)
	var keys []map[string]any
	r.m.call(t, http.MethodPost, "/configs/oidc/private-keys/rotate", map[string]any{}, &keys)
	require.Len(t, keys, 2, "rotation answered %v", keys)
	assert.Equal(t, "Current", keys[0]["status"])
	assert.Equal(t, "Previous", keys[1]["status"])
	var got []string
	require.Eventually(t, func() bool {
		got = r.publishedKIDs(t)
		return len(got) == 2 && got[1] == before[0]
	}, 20*time.Second, 100*time.Millisecond, "JWKS never served the new key before %s (last %v)", before[0], got)
	r.keyIDs.Store(got[0], idOf(t, keys[0]))
	r.keyIDs.Store(got[1], idOf(t, keys[1]))
	return got[0], got[1]
}

func (r *realTarget) removeSigningKey(t *testing.T, kid string) {
	t.Helper()
	id, ok := r.keyIDs.Load(kid)
	require.True(t, ok, "key %s was not rotated by this test", kid)
	r.m.call(t, http.MethodDelete, "/configs/oidc/private-keys/"+id.(string), nil, nil, http.StatusNoContent)
	var rest []string
	for _, k := range r.publishedKIDs(t) {
		if k != kid {
			rest = append(rest, k)
		}
	}
	r.waitForKIDs(t, rest...)
	// The Management API token was signed with the removed key.
	require.NoError(t, r.m.renew())
}
