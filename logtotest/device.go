package logtotest

import (
	"crypto/rand"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The device flow (RFC 8628), as Logto serves it for Native apps with
// device flow enabled (App.DeviceFlow): the device authorization endpoint
// /oidc/device/auth, the device_code grant at the token endpoint, and the
// user-code step. A browser-less test decides the user-code step with
// ApproveDevice, DenyDevice, SlowDownDevice and ExpireDevice (or approves
// every new code at once with SetDeviceAutoApprove); a person uses the
// page at /device (the verification_uri, as Logto rewrites oidc-provider's
// /oidc/device; both paths serve it).

// Endpoints of the device flow, for the request log and for FailNext and
// Intercept.
const (
	// EndpointDeviceAuth is the device authorization endpoint
	// /oidc/device/auth.
	EndpointDeviceAuth Endpoint = "device_authorization"
	// EndpointDevice is the user-code page /device (the
	// verification_uri), also served at /oidc/device.
	EndpointDevice Endpoint = "device"
)

// DeviceCodeGrantType is the grant_type of the device flow's token requests.
const DeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// DefaultDeviceCodeTTL is the lifetime of device codes (Logto's: ten
// minutes).
const DefaultDeviceCodeTTL = 10 * time.Minute

// userCodeCharset and userCodeMask are oidc-provider's defaults (base-20,
// "****-****"), which Logto keeps.
const (
	userCodeCharset = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeMask    = "****-****"
)

// deviceCode is one device authorization and its user-code decision.
type deviceCode struct {
	value     string // device_code
	userCode  string // normalised (no dash)
	display   string // as issued, e.g. "WDJB-MJHT"
	clientID  string
	scopes    []string
	resources []string
	issuedAt  time.Time
	expiresAt time.Time
	userID    string // approved as this user
	sessionID string // the session the approval was made in
	denied    bool
	slowDowns int // slow_down answers still to give
	consumed  bool
	grantID   string
}

// decided reports whether the user-code step is over.
func (d *deviceCode) decided() bool { return d.userID != "" || d.denied }

// deviceState is the server's device-flow bookkeeping.
type deviceState struct {
	codes       map[string]*deviceCode // by device_code
	order       []*deviceCode          // issue order
	autoApprove string
}

// WithDeviceCodeTTL sets the lifetime of device codes (expires_in).
// Default DefaultDeviceCodeTTL, as Logto.
func WithDeviceCodeTTL(d time.Duration) Option { return func(o *options) { o.deviceTTL = d } }

// WithDevicePollInterval makes device authorization responses announce
// interval (whole seconds, at least one). Logto announces none, so clients
// poll every five seconds; a shorter one speeds up tests that use real
// time.
func WithDevicePollInterval(d time.Duration) Option {
	return func(o *options) { o.deviceInterval = d }
}

// deviceFlow reports whether the app is a device-flow app: Logto honours
// isDeviceFlow for Native apps only.
func (a *App) deviceFlow() bool { return a.Type == AppNative && a.DeviceFlow }

// grantAllowed reports whether the app may use grant type gt at the token
// endpoint, as Logto's client metadata allows.
func (a *App) grantAllowed(gt string) bool {
	switch {
	case a.Type == AppMachineToMachine:
		return gt == "client_credentials"
	case a.deviceFlow():
		return gt == DeviceCodeGrantType || gt == "refresh_token"
	}
	return gt == "authorization_code" || gt == "refresh_token"
}

// handleDeviceAuth is the device authorization endpoint.
func (s *Server) handleDeviceAuth(w http.ResponseWriter, r *http.Request) {
	body, e := s.deviceAuth(w, r)
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) deviceAuth(w http.ResponseWriter, r *http.Request) (map[string]any, *oauthError) {
	form, e := readBody(w, r)
	if e != nil {
		return nil, e
	}
	if d := duplicateParam(form, "resource"); d != "" {
		return nil, invalidRequest("'" + d + "' parameter must not be provided twice")
	}
	app, e := s.authenticateClient(r, form)
	if e != nil {
		return nil, e
	}
	if !app.deviceFlow() {
		return nil, invalidRequest(DeviceCodeGrantType + " is not allowed for this client")
	}
	scopes := scopeList(form.Get("scope"))
	if !contains(scopes, "openid") && form.Get("nonce") != "" {
		return nil, invalidRequest("openid scope must be requested when using the nonce parameter")
	}
	var resources []string
	for _, v := range form["resource"] {
		for _, ind := range strings.Split(v, ",") {
			if ind = strings.TrimSpace(ind); ind != "" {
				resources = appendUnique(resources, ind)
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ind := range resources {
		if ind != organizationsResource && s.resources[ind] == nil {
			return nil, invalidTarget("")
		}
	}
	if s.device.codes == nil {
		s.device.codes = map[string]*deviceCode{}
	}
	now := s.nowLocked()
	display := newUserCode()
	dc := &deviceCode{
		value:     randomToken(32),
		userCode:  normalizeUserCode(display),
		display:   display,
		clientID:  app.ID,
		scopes:    scopes,
		resources: resources,
		issuedAt:  now,
		expiresAt: now.Add(s.opts.deviceTTL),
	}
	s.device.codes[dc.value] = dc
	s.device.order = append(s.device.order, dc)
	if id := s.device.autoApprove; id != "" {
		if u := s.users[id]; u != nil {
			s.approveLocked(dc, u.ID)
		}
	}
	// Logto answers with its /device shorthand of oidc-provider's
	// /oidc/device (koaDeviceFlowShortcut), for users who type it.
	verification := s.url + "/device"
	out := map[string]any{
		"device_code":               dc.value,
		"user_code":                 display,
		"verification_uri":          verification,
		"verification_uri_complete": verification + "?user_code=" + url.QueryEscape(display),
		"expires_in":                int64(s.opts.deviceTTL / time.Second),
	}
	if iv := s.opts.deviceInterval; iv > 0 {
		out["interval"] = max(int64(iv/time.Second), 1)
	}
	return out, nil
}

// newUserCode draws a user code in oidc-provider's default format.
func newUserCode() string {
	var b strings.Builder
	buf := make([]byte, len(userCodeMask))
	_, _ = rand.Read(buf)
	for i, m := range userCodeMask {
		if m == '*' {
			b.WriteByte(userCodeCharset[int(buf[i])%len(userCodeCharset)])
		} else {
			b.WriteRune(m)
		}
	}
	return b.String()
}

// normalizeUserCode keeps the charset's characters of code, upper-cased
// (oidc-provider's normalisation: "wdjb mjht" matches "WDJB-MJHT").
func normalizeUserCode(code string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(code) {
		if strings.ContainsRune(userCodeCharset, c) {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// deviceByUserCodeLocked finds the live, undecided device authorization of
// a user code.
func (s *Server) deviceByUserCodeLocked(userCode string) (*deviceCode, error) {
	n := normalizeUserCode(userCode)
	if n == "" {
		return nil, fmt.Errorf("logtotest: no device authorization has user code %q", userCode)
	}
	for _, dc := range s.device.order {
		if dc.userCode != n {
			continue
		}
		switch {
		case !s.nowLocked().Before(dc.expiresAt):
			return nil, fmt.Errorf("logtotest: the device code of user code %q has expired", userCode)
		case dc.decided() || dc.consumed:
			return nil, fmt.Errorf("logtotest: user code %q was already used", userCode)
		}
		return dc, nil
	}
	return nil, fmt.Errorf("logtotest: no device authorization has user code %q", userCode)
}

// approveLocked records the user's approval, in the user's most recent
// session (a new one when the user has none), as Logto's device page signs
// the user in.
func (s *Server) approveLocked(dc *deviceCode, userID string) {
	sess := s.userSessionLocked(userID)
	if sess == nil {
		sess = s.loginLocked(userID, nil)
	} else {
		s.touchLocked(sess)
	}
	dc.userID = userID
	dc.sessionID = sess.id
}

// ApproveDevice completes the user-code step of userCode (as issued, or in
// any case and with any separators) as the user userID (an ID or a
// username), as if the user had entered the code at verification_uri,
// signed in and consented: the client's next token request receives the
// tokens. It fails for an unknown, expired or already decided code, or an
// unknown or suspended user.
func (s *Server) ApproveDevice(userCode, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, err := s.deviceByUserCodeLocked(userCode)
	if err != nil {
		return err
	}
	id := s.findUserLocked(userID)
	if id == "" {
		return fmt.Errorf("logtotest: ApproveDevice: unknown user %q", userID)
	}
	if s.users[id].Suspended {
		return fmt.Errorf("logtotest: ApproveDevice: user %q is suspended", userID)
	}
	s.approveLocked(dc, id)
	return nil
}

// DenyDevice denies the user-code step of userCode, as when the user
// cancels at the consent step: the client's next token request is answered
// access_denied.
func (s *Server) DenyDevice(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, err := s.deviceByUserCodeLocked(userCode)
	if err != nil {
		return err
	}
	dc.denied = true
	return nil
}

// SlowDownDevice makes the next n token requests of userCode's device code
// be answered slow_down (RFC 8628 3.5) while the user-code step is still
// pending; each such answer asks the client to poll five seconds less
// often. Logto itself never answers slow_down: this tests clients for
// other servers' rate limits.
func (s *Server) SlowDownDevice(userCode string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, err := s.deviceByUserCodeLocked(userCode)
	if err != nil {
		return err
	}
	dc.slowDowns = max(n, 0)
	return nil
}

// ExpireDevice makes userCode's device code expire now: the client's next
// token request is answered expired_token. (Advancing the server clock
// past expires_in does the same.)
func (s *Server) ExpireDevice(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, err := s.deviceByUserCodeLocked(userCode)
	if err != nil {
		return err
	}
	dc.expiresAt = s.nowLocked()
	return nil
}

// PendingDeviceCodes returns the user codes (as issued) whose user-code
// step is still pending and whose device code has not expired, oldest
// first: what a test reads when the tool under test shows its user code
// elsewhere.
func (s *Server) PendingDeviceCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	var out []string
	for _, dc := range s.device.order {
		if !dc.decided() && !dc.consumed && now.Before(dc.expiresAt) {
			out = append(out, dc.display)
		}
	}
	return out
}

// SetDeviceAutoApprove makes every new device authorization approved at
// once as userID (an ID or a username), so that a tool's device sign-in
// completes on its first token request without anyone entering the code.
// An empty userID turns it off.
func (s *Server) SetDeviceAutoApprove(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id := s.findUserLocked(userID); id != "" {
		userID = id
	}
	s.device.autoApprove = userID
}

// Answers of the device_code grant, with oidc-provider's descriptions.
func authorizationPending() *oauthError {
	return errorf(http.StatusBadRequest, "authorization_pending",
		"authorization request is still pending as the end-user hasn't yet completed the user interaction steps")
}

func slowDown() *oauthError {
	return errorf(http.StatusBadRequest, "slow_down", "you are polling too quickly and should back off at a reasonable rate")
}

// deviceGrantLocked handles grant_type=urn:ietf:params:oauth:grant-type:device_code,
// in oidc-provider's order: unknown code, expiry, pending, consumption
// (a second use revokes what the first issued), denial.
func (s *Server) deviceGrantLocked(app *App, form url.Values) (*issued, *oauthError) {
	value := form.Get("device_code")
	if value == "" {
		return nil, missingParam("device_code")
	}
	dc := s.device.codes[value]
	if dc == nil || dc.clientID != app.ID {
		return nil, invalidGrant()
	}
	now := s.nowLocked()
	if !now.Before(dc.expiresAt) {
		return nil, errorf(http.StatusBadRequest, "expired_token", "device code is expired")
	}
	if !dc.decided() {
		if dc.slowDowns > 0 {
			dc.slowDowns--
			return nil, slowDown()
		}
		return nil, authorizationPending()
	}
	if dc.consumed {
		s.revokeGrantLocked(dc.grantID)
		return nil, invalidGrant()
	}
	dc.consumed = true
	if dc.denied {
		// 400, unlike the authorization endpoint's 403 (oidc-provider's
		// AccessDenied raised from the device code's stored error).
		return nil, errorf(http.StatusBadRequest, "access_denied", "End-User aborted interaction")
	}
	u := s.users[dc.userID]
	if u == nil || u.Suspended {
		return nil, invalidGrant()
	}
	resource, e := singleResource(form, multipleResources)
	if e != nil {
		return nil, e
	}
	if resource != "" && (!contains(dc.resources, resource) || s.resources[resource] == nil) {
		return nil, invalidTarget("")
	}
	g := &grant{
		id:        randomToken(16),
		clientID:  app.ID,
		userID:    u.ID,
		sessionID: dc.sessionID,
		scopes:    dc.scopes,
		resources: dc.resources,
		rtExpiry:  now.Add(s.opts.refreshTTL),
	}
	if ss := s.sessions[dc.sessionID]; ss != nil {
		g.authTime = ss.authTime
		if app.includeSid() {
			g.sid = ss.sidFor(app.ID)
		}
	}
	s.grants[g.id] = g
	dc.grantID = g.id

	out := &issued{}
	if resource != "" {
		scopes := intersect(dc.scopes, s.userResourceScopesLocked(u, resource, ""))
		ttl := s.resourceTTLLocked(resource)
		out.atClaims = s.jwtAccessTokenClaimsLocked(u.ID, app.ID, resource, scopes, ttl)
		out.expiresIn = int64(ttl.Seconds())
		out.scope = joinScopes(scopes)
	} else {
		at := s.opaqueAccessTokenLocked(g, dc.scopes)
		out.opaqueAT = at.value
		out.expiresIn = int64(s.opts.accessTTL.Seconds())
		out.scope = joinScopes(at.scopes)
	}
	if contains(dc.scopes, "openid") {
		out.idClaims = s.idTokenClaimsLocked(u, g, dc.scopes)
	}
	if contains(dc.scopes, "offline_access") {
		out.refreshToken = s.newRefreshTokenLocked(g, dc.scopes).value
	}
	return out, nil
}

// devicePage is the user-code page: enter (or confirm) the code, name the
// user to continue as, approve or deny.
var devicePage = template.Must(template.New("device").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Device sign-in · logtotest</title></head>
<body>
<h1>Device sign-in</h1>
{{if .Done}}<p id="result">{{.Done}}</p>{{else}}
{{if .Error}}<p id="error" style="color:#b00">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<p><label>Code shown on your device <input name="user_code" value="{{.UserCode}}" autocomplete="off" required></label></p>
<p><label>Continue as (user ID or username) <input name="username" value="{{.Username}}" required></label></p>
<p><button name="action" value="approve">Approve</button> <button name="action" value="deny">Deny</button></p>
</form>{{end}}
</body></html>`))

type devicePageData struct {
	Action, UserCode, Username, Error, Done string
}

// handleDevicePage serves the user-code page (GET) and its form (POST).
// Being a test provider, it asks for no password: the user named is
// signed in.
func (s *Server) handleDevicePage(w http.ResponseWriter, r *http.Request) {
	data := devicePageData{Action: "/device", UserCode: r.URL.Query().Get("user_code")}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		form, e := readBody(w, r)
		if e != nil {
			writeOAuthError(w, r, e)
			return
		}
		data.UserCode, data.Username = form.Get("user_code"), form.Get("username")
		var err error
		switch form.Get("action") {
		case "approve":
			if err = s.ApproveDevice(data.UserCode, data.Username); err == nil {
				data.Done = "Signed in. You may close this window and return to your device."
			}
		case "deny":
			if err = s.DenyDevice(data.UserCode); err == nil {
				data.Done = "Sign-in denied. You may close this window."
			}
		default:
			err = fmt.Errorf("choose approve or deny")
		}
		if err != nil {
			data.Error = strings.TrimPrefix(err.Error(), "logtotest: ")
			data.Error = strings.TrimPrefix(data.Error, "ApproveDevice: ")
			status = http.StatusBadRequest
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = devicePage.Execute(w, data)
}

// deviceRoutes registers the device flow's routes.
func (s *Server) deviceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /oidc/device/auth", s.handleDeviceAuth)
	for _, p := range []string{"/device", "/oidc/device"} {
		mux.HandleFunc("GET "+p, s.handleDevicePage)
		mux.HandleFunc("POST "+p, s.handleDevicePage)
	}
}

// deviceEndpoint maps the device flow's paths to their Endpoint.
func deviceEndpoint(path string) (Endpoint, bool) {
	switch strings.TrimSuffix(path, "/") {
	case "/oidc/device/auth":
		return EndpointDeviceAuth, true
	case "/device", "/oidc/device":
		return EndpointDevice, true
	}
	return "", false
}

// deviceDiscovery adds the device flow to the discovery document.
func (s *Server) deviceDiscovery(doc map[string]any) {
	doc["device_authorization_endpoint"] = s.Issuer() + "/device/auth"
	if gts, ok := doc["grant_types_supported"].([]string); ok && !slices.Contains(gts, DeviceCodeGrantType) {
		doc["grant_types_supported"] = append(gts, DeviceCodeGrantType)
	}
}
