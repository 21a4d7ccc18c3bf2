package logtotest

import (
	"maps"
	"slices"
	"time"
)

// AppType is a Logto application type.
type AppType string

// Application types.
const (
	// AppTraditional is a traditional web app: a confidential client
	// authenticating with client_secret_basic (or client_secret_post); PKCE
	// is optional.
	AppTraditional AppType = "traditional"
	// AppSPA is a single-page app: a public client (auth method none) that
	// must use PKCE.
	AppSPA AppType = "spa"
	// AppNative is a native app: a public client (auth method none) that must
	// use PKCE.
	AppNative AppType = "native"
	// AppMachineToMachine is a machine-to-machine app: a confidential client
	// limited to the client_credentials grant.
	AppMachineToMachine AppType = "m2m"
)

// Rotation selects when refresh tokens are rotated.
type Rotation int

// Refresh token rotation policies.
const (
	// RotateDefault follows Logto (oidc-provider's default policy): always
	// rotate for public apps (SPA, native); rotate a confidential app's
	// refresh token only once 70% of its lifetime has passed; never rotate
	// once a token chain's total lifetime (from the first token's issue to
	// the current token's expiry) reaches one year.
	RotateDefault Rotation = iota
	// RotateAlways rotates on every refresh.
	RotateAlways
	// RotateNever never rotates.
	RotateNever
)

// App is an application (OIDC client) registered with the fake.
type App struct {
	// ID is the client_id.
	ID string
	// Secret is the client_secret of confidential apps.
	Secret string
	// Type is the application type; empty means AppTraditional.
	Type AppType
	// RedirectURIs are the allowed redirect_uri values (exact match; for
	// a Native app, an http loopback URI matches whatever its port, as in
	// Logto: register http://127.0.0.1/callback for a tool listening on a
	// free port).
	RedirectURIs []string
	// PostLogoutRedirectURIs are the allowed post_logout_redirect_uri values.
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI receives logout tokens when a sign-out ends a
	// session the app signed in through (see Server.SendBackchannelLogout);
	// empty disables back-channel logout.
	BackchannelLogoutURI string
	// BackchannelLogoutSessionRequired is Logto's "Is session required"
	// switch of back-channel logout (the
	// backchannel_logout_session_required client metadata, off by
	// default). With it and a BackchannelLogoutURI, the app's ID tokens,
	// introspection answers and logout tokens carry the app's sid in the
	// session; without it, none of them has a sid and logout tokens name
	// the user (sub) alone, as in Logto.
	BackchannelLogoutSessionRequired bool
	// RequireAuthTime makes the app's ID tokens always carry auth_time (the
	// require_auth_time client metadata); otherwise they carry it only when
	// the authorization request had max_age or prompt=login.
	RequireAuthTime bool
	// DeviceFlow is Logto's isDeviceFlow switch (customClientMetadata) of a
	// Native app: the app then uses the device flow (RFC 8628, see
	// ApproveDevice) and may use only the device_code and refresh_token
	// grants. It is ignored for other app types, as in Logto.
	DeviceFlow bool
	// RefreshTokenRotation is the rotation policy.
	RefreshTokenRotation Rotation
	// AllowTokenExchange enables the token exchange grant for the app (the
	// customClientMetadata.allowTokenExchange of Logto's Management API).
	// Without it Logto, and the fake, answer a token exchange with
	// invalid_request "requested grant type is not allowed for this
	// client".
	AllowTokenExchange bool
	// ResourceScopes are, for machine-to-machine apps, the scopes granted per
	// API resource indicator.
	ResourceScopes map[string][]string
	// Organizations are, for machine-to-machine apps, the organization IDs
	// the app belongs to.
	Organizations []string
	// OrganizationRoles are, for machine-to-machine apps, the organization
	// role names the app holds per organization ID (see
	// Server.AddOrganizationRole).
	OrganizationRoles map[string][]string
}

func (a *App) public() bool { return a.Type == AppSPA || a.Type == AppNative }

// includeSid reports whether the app's tokens carry its sid
// (oidc-provider's client.includeSid).
func (a *App) includeSid() bool {
	return a.BackchannelLogoutURI != "" && a.BackchannelLogoutSessionRequired
}

func (a *App) clone() *App {
	c := *a
	c.RedirectURIs = slices.Clone(a.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(a.PostLogoutRedirectURIs)
	c.ResourceScopes = maps.Clone(a.ResourceScopes)
	c.Organizations = slices.Clone(a.Organizations)
	c.OrganizationRoles = maps.Clone(a.OrganizationRoles)
	return &c
}

// Identity is a social identity of a user, rendered as
// {"userId":...,"details":...} in the identities claim.
type Identity struct {
	// UserID is the user's ID at the social provider.
	UserID string
	// Details are the profile details from the provider (omitted when nil).
	Details map[string]any
}

// Membership is a user's membership of an organization.
type Membership struct {
	// OrganizationID is the organization (see Server.AddOrganization).
	OrganizationID string
	// Roles are organization role names (see Server.AddOrganizationRole).
	Roles []string
}

// User is a Logto user. Nested maps are not deep-copied by AddUser: do not
// modify them afterwards, use UpdateUser.
type User struct {
	// ID is the user ID (the sub claim).
	ID string
	// Username, Name, Picture, Email and Phone are rendered as JSON null when
	// empty, like Logto.
	Username, Name, Picture, Email, Phone string
	// Profile holds optional standard profile claims by claim name
	// (given_name, family_name, middle_name, nickname, preferred_username,
	// profile, website, gender, birthdate, zoneinfo, locale); unset claims
	// are omitted, not null, like Logto. preferred_username defaults to
	// Username (omitted when both are empty).
	Profile map[string]any
	// Address is the address claim. As in Logto, it is omitted (not null)
	// when nil, even when the address scope was granted.
	Address map[string]any
	// CustomData is the custom_data claim ({} when nil).
	CustomData map[string]any
	// Identities are the social identities by target (e.g. "google").
	Identities map[string]Identity
	// SSOIdentities is the sso_identities claim, e.g.
	// [{"issuer":...,"identityId":...,"detail":{...}}].
	SSOIdentities []map[string]any
	// Roles are global role names (see Server.AddRole).
	Roles []string
	// Organizations are the user's organization memberships.
	Organizations []Membership
	// CreatedAt and UpdatedAt are rendered as epoch milliseconds; zero means
	// the server clock when the user is added.
	CreatedAt, UpdatedAt time.Time
	// Extra claims are added to ID tokens and userinfo whatever the scopes
	// (like custom JWT claims); they override the scope claims but not the
	// protocol ones (iss, sub, aud, exp, iat, auth_time, sid, nonce).
	Extra map[string]any
	// Suspended users cannot sign in or refresh tokens.
	Suspended bool
}

func (u *User) clone() *User {
	c := *u
	c.Profile = maps.Clone(u.Profile)
	c.Address = maps.Clone(u.Address)
	c.CustomData = maps.Clone(u.CustomData)
	c.Identities = maps.Clone(u.Identities)
	c.SSOIdentities = slices.Clone(u.SSOIdentities)
	c.Roles = slices.Clone(u.Roles)
	c.Organizations = slices.Clone(u.Organizations)
	for i, m := range c.Organizations {
		c.Organizations[i].Roles = slices.Clone(m.Roles)
	}
	c.Extra = maps.Clone(u.Extra)
	return &c
}

// membership returns the user's membership of org, if any.
func (u *User) membership(org string) (Membership, bool) {
	for _, m := range u.Organizations {
		if m.OrganizationID == org {
			return m, true
		}
	}
	return Membership{}, false
}

// Resource is an API resource, identified by its indicator (an absolute URI).
type Resource struct {
	// Indicator is the resource indicator, the aud of its access tokens.
	Indicator string
	// Scopes are the permissions the resource defines (informative; the
	// scopes in tokens come from roles).
	Scopes []string
	// AccessTokenTTL is the lifetime of its access tokens; zero means the
	// server default (WithAccessTokenTTL).
	AccessTokenTTL time.Duration
}

// Organization is a Logto organization.
type Organization struct {
	// ID is the organization ID (aud urn:logto:organization:<ID>).
	ID string
	// Name and Description appear in the organization_data claim (an empty
	// Description is rendered as null).
	Name, Description string
}

// orgRole is an organization role: organization scopes and API resource
// scopes.
type orgRole struct {
	scopes         []string
	resourceScopes map[string][]string
}

// AddApp registers (or replaces) an application. It panics if app.ID is
// empty.
func (s *Server) AddApp(app App) {
	if app.ID == "" {
		panic("logtotest: AddApp: empty ID")
	}
	if app.Type == "" {
		app.Type = AppTraditional
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps[app.ID] = app.clone()
}

// AddUser registers (or replaces) a user. It panics if u.ID is empty.
func (s *Server) AddUser(u User) {
	if u.ID == "" {
		panic("logtotest: AddUser: empty ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = now
	}
	s.users[u.ID] = u.clone()
}

// UpdateUser calls fn with a copy of the user and stores the result. fn runs
// without the server lock held, so it may call other Server methods (except
// UpdateUser). It panics if the user does not exist.
func (s *Server) UpdateUser(id string, fn func(*User)) {
	s.updateMu.Lock()
	defer s.updateMu.Unlock()
	s.mu.Lock()
	u, ok := s.users[id]
	if ok {
		u = u.clone()
	}
	s.mu.Unlock()
	if !ok {
		panic("logtotest: UpdateUser: unknown user " + id)
	}
	fn(u)
	u.ID = id
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = u.clone()
}

// AddResource registers (or replaces) an API resource.
func (s *Server) AddResource(r Resource) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Scopes = slices.Clone(r.Scopes)
	s.resources[r.Indicator] = &r
}

// AddRole makes the global role name grant scopes of the API resource. It
// can be called several times for a role (one call per resource, or to add
// scopes).
func (s *Server) AddRole(name string, resource string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.roles[name] == nil {
		s.roles[name] = map[string][]string{}
	}
	s.roles[name][resource] = appendUnique(s.roles[name][resource], scopes...)
}

// AddOrganization registers (or replaces) an organization. Its name and
// description appear in the organization_data claim.
func (s *Server) AddOrganization(o Organization) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orgs[o.ID] = o
}

// AddOrganizationRole makes the organization role name grant organization
// scopes (the scopes of organization tokens).
func (s *Server) AddOrganizationRole(name string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.orgRoleLocked(name)
	r.scopes = appendUnique(r.scopes, scopes...)
}

// AddOrganizationRoleResourceScopes makes the organization role name grant
// scopes of an API resource. As in Logto, a user's API tokens for the
// resource get these scopes on top of those of the user's global roles
// (AddRole): from the roles the user holds in every organization for a
// token without organization_id, and from the roles held in that
// organization alone for an organization-scoped API token (resource and
// organization_id). For machine-to-machine apps, only an
// organization-scoped token gets them, from the app's roles in that
// organization (App.OrganizationRoles).
func (s *Server) AddOrganizationRoleResourceScopes(name, resource string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.orgRoleLocked(name)
	r.resourceScopes[resource] = appendUnique(r.resourceScopes[resource], scopes...)
}

func (s *Server) orgRoleLocked(name string) *orgRole {
	r := s.orgRoles[name]
	if r == nil {
		r = &orgRole{resourceScopes: map[string][]string{}}
		s.orgRoles[name] = r
	}
	return r
}
