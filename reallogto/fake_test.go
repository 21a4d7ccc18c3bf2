package reallogto

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gologto/logto/logtotest"
)

// fakeTarget is a fresh logtotest server set up like the real server's
// fixtures. It runs on the wall clock (the scenarios wait in real time) and
// serves its sign-in page, so that a browser signs in with a cookie jar as
// on the real server.
type fakeTarget struct {
	srv *logtotest.Server
	n   atomic.Int64
}

// Fixture ids of the fake (the real server's are generated).
const (
	fakeWebID      = "web-app"
	fakeWebSecret  = "web-secret"
	fakeNativeID   = "native-app"
	fakeM2MID      = "m2m-app"
	fakeM2MSecret  = "m2m-secret"
	fakeOrgID      = "org-1"
	fakeOrgM2MRole = "org-m2m"
)

func newFakeTarget(t *testing.T) *fakeTarget {
	t.Helper()
	srv := logtotest.NewServer(t, logtotest.WithWallClock(), logtotest.WithLoginPage(),
		// Logto's reuse leeway; logtotest's default is 0 (see its doc.go).
		logtotest.WithRefreshTokenReuseInterval(3*time.Second))
	// Exactly the test's clock (the start time alone would lag by the
	// server's set-up), as the real server shares the machine's clock.
	srv.SetNow(time.Now())
	// Logto serves its key set with this header; logtotest sends none, so
	// that SDK tests on a fake clock keep the SDK's default key-set age.
	srv.Intercept(logtotest.EndpointJWKS, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
		next.ServeHTTP(w, r)
	})
	srv.AddResource(logtotest.Resource{Indicator: apiIndicator, Scopes: []string{readData, writeData}})
	srv.AddOrganizationRole(orgMemberRole, orgScope)
	srv.AddOrganizationRoleResourceScopes(orgMemberRole, apiIndicator, readData)
	srv.AddOrganizationRole(fakeOrgM2MRole, orgScope)
	srv.AddOrganizationRoleResourceScopes(fakeOrgM2MRole, apiIndicator, readData)
	srv.AddOrganization(logtotest.Organization{ID: fakeOrgID, Name: "Go SDK Org", Description: "Go SDK test organization"})
	uris := func(a *logtotest.App) {
		a.RedirectURIs = []string{appRedirectURI}
		a.PostLogoutRedirectURIs = []string{appPostLogout}
	}
	web := logtotest.App{ID: fakeWebID, Secret: fakeWebSecret, Type: logtotest.AppTraditional}
	uris(&web)
	srv.AddApp(web)
	native := logtotest.App{ID: fakeNativeID, Type: logtotest.AppNative}
	uris(&native)
	srv.AddApp(native)
	srv.AddApp(logtotest.App{
		ID: fakeM2MID, Secret: fakeM2MSecret, Type: logtotest.AppMachineToMachine,
		ResourceScopes:    map[string][]string{apiIndicator: {readData, writeData}},
		Organizations:     []string{fakeOrgID},
		OrganizationRoles: map[string][]string{fakeOrgID: {fakeOrgM2MRole}},
	})
	return &fakeTarget{srv: srv}
}

func (f *fakeTarget) name() string     { return "logtotest" }
func (f *fakeTarget) endpoint() string { return f.srv.URL() }
func (f *fakeTarget) issuer() string   { return f.srv.Issuer() }
func (f *fakeTarget) api() string      { return apiIndicator }
func (f *fakeTarget) org() string      { return fakeOrgID }

func (f *fakeTarget) webApp() app {
	return app{ID: fakeWebID, Secret: fakeWebSecret, RedirectURI: appRedirectURI, PostLogoutRedirectURI: appPostLogout}
}

func (f *fakeTarget) nativeApp() app {
	return app{ID: fakeNativeID, RedirectURI: appRedirectURI, PostLogoutRedirectURI: appPostLogout}
}

func (f *fakeTarget) m2mApp() app { return app{ID: fakeM2MID, Secret: fakeM2MSecret} }

func (f *fakeTarget) next(prefix string) string {
	return prefix + "-" + strings.TrimLeft(time.Now().Format("150405"), "0") + "-" + strconv.FormatInt(f.n.Add(1), 10)
}

func (f *fakeTarget) newUser(t *testing.T, spec userSpec) user {
	t.Helper()
	id := f.next("user")
	u := user{ID: id, Username: strings.ReplaceAll(id, "-", "_"), Password: userPassword, Name: "Go SDK Test User"}
	lu := logtotest.User{ID: u.ID, Username: u.Username, Name: u.Name, CustomData: spec.CustomData}
	if spec.Email {
		u.Email = u.Username + "@example.com"
		lu.Email = u.Email
	}
	if len(spec.Identities) > 0 {
		lu.Identities = map[string]logtotest.Identity{}
		for target, socialID := range spec.Identities {
			lu.Identities[target] = logtotest.Identity{UserID: socialID, Details: map[string]any{}}
		}
	}
	if len(spec.APIScopes) > 0 {
		u.RoleName = f.next("role")
		f.srv.AddRole(u.RoleName, apiIndicator, spec.APIScopes...)
		lu.Roles = []string{u.RoleName}
	}
	for _, org := range spec.Organizations {
		lu.Organizations = append(lu.Organizations, logtotest.Membership{OrganizationID: org, Roles: []string{orgMemberRole}})
	}
	f.srv.AddUser(lu)
	return u
}

func (f *fakeTarget) grantAPIScopes(t *testing.T, u user, scopes ...string) func() {
	t.Helper()
	role := f.next("role")
	f.srv.AddRole(role, apiIndicator, scopes...)
	f.srv.UpdateUser(u.ID, func(lu *logtotest.User) { lu.Roles = append(lu.Roles, role) })
	return func() {
		f.srv.UpdateUser(u.ID, func(lu *logtotest.User) {
			lu.Roles = slices.DeleteFunc(lu.Roles, func(r string) bool { return r == role })
		})
	}
}

func (f *fakeTarget) newResource(t *testing.T, spec resourceSpec) string {
	t.Helper()
	indicator := "https://" + f.next("api") + ".example.com"
	f.srv.AddResource(logtotest.Resource{Indicator: indicator, Scopes: spec.Scopes, AccessTokenTTL: spec.TTL})
	if len(spec.GrantTo) > 0 {
		role := f.next("role")
		f.srv.AddRole(role, indicator, spec.Scopes...)
		for _, u := range spec.GrantTo {
			f.srv.UpdateUser(u.ID, func(lu *logtotest.User) { lu.Roles = append(lu.Roles, role) })
		}
	}
	return indicator
}

func (f *fakeTarget) newOrganization(t *testing.T, members ...user) string {
	t.Helper()
	id := f.next("org")
	f.srv.AddOrganization(logtotest.Organization{ID: id, Name: id})
	for _, u := range members {
		f.srv.UpdateUser(u.ID, func(lu *logtotest.User) {
			lu.Organizations = append(lu.Organizations, logtotest.Membership{OrganizationID: id, Roles: []string{orgMemberRole}})
		})
	}
	return id
}

func (f *fakeTarget) newApp(t *testing.T, spec appSpec) app {
	t.Helper()
	a := app{ID: f.next("app"), RedirectURI: spec.RedirectURI, PostLogoutRedirectURI: spec.PostLogoutRedirectURI}
	if a.RedirectURI == "" {
		a.RedirectURI = appRedirectURI
	}
	if a.PostLogoutRedirectURI == "" {
		a.PostLogoutRedirectURI = appPostLogout
	}
	la := logtotest.App{ID: a.ID, Type: logtotest.AppTraditional, RedirectURIs: []string{a.RedirectURI},
		PostLogoutRedirectURIs: []string{a.PostLogoutRedirectURI}, BackchannelLogoutURI: spec.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: spec.BackchannelSessionRequired}
	if spec.Native {
		la.Type = logtotest.AppNative
	} else {
		a.Secret = a.ID + "-secret"
		la.Secret = a.Secret
	}
	f.srv.AddApp(la)
	return a
}

// signIn follows the fake's redirects and answers its sign-in page (a
// form on whichever screen the request asked for) with the username.
func (f *fakeTarget) signIn(t *testing.T, b *browser, authURL string, u user) string {
	t.Helper()
	loc := authURL
	for hops := 0; hops < 12; hops++ {
		if hops > 0 && !sameOrigin(loc, f.srv.URL()) {
			return loc
		}
		p := b.get(loc)
		if p.status == http.StatusOK {
			action, form := parseForm(t, p)
			form.Set("username", u.Username)
			p = b.postForm(action, form)
		}
		require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
		loc = p.location
	}
	t.Fatalf("sign-in did not reach the app after 12 redirects (last %s)", loc)
	return ""
}

func (f *fakeTarget) authorizeOnly(t *testing.T, b *browser, authURL string) string {
	t.Helper()
	p := b.get(authURL)
	require.Contains(t, []int{http.StatusFound, http.StatusSeeOther}, p.status, "%s", p)
	return p.location
}

func (f *fakeTarget) rotateSigningKey(t *testing.T) (string, string) {
	t.Helper()
	old := f.srv.SigningKID()
	return f.srv.RotateKey(), old
}

func (f *fakeTarget) removeSigningKey(t *testing.T, kid string) {
	t.Helper()
	require.NotEqual(t, kid, f.srv.SigningKID(), "the signing key cannot be removed")
	f.srv.RemoveOldKeys()
}
