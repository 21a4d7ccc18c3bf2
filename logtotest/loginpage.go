package logtotest

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// interactionTTL is how long a sign-in page stays valid (oidc-provider's
// Interaction lifetime).
const interactionTTL = time.Hour

// interactionCookie carries the pending sign-in's id, as oidc-provider's
// _interaction cookie does in Logto (path /, so that every experience route
// receives it).
const interactionCookie = "_interaction"

// interaction is a pending sign-in on the login page.
type interaction struct {
	req       *authRequest
	sessionID string // the browser's session when the sign-in started, if any
	expiresAt time.Time
}

// screen is one screen of the fake's sign-in page.
type screen struct {
	title string
	note  string // what the fake does instead, for screens it cannot honour
}

// screens are the first screens of Logto's sign-in experience the fake
// serves, by route. All of them sign an existing user in by username.
var screens = map[string]screen{
	routeSignIn:             {title: "Sign in"},
	routeIdentifierSignIn:   {title: "Sign in"},
	routeRegister:           {title: "Create account", note: "This test provider creates no accounts: continue as an existing user."},
	routeIdentifierRegister: {title: "Create account", note: "This test provider creates no accounts: continue as an existing user."},
	routeSingleSignOn:       {title: "Single sign-on", note: "This test provider has no single sign-on connectors: continue as an existing user."},
	routeResetPassword:      {title: "Reset password", note: "This test provider has no passwords: continue as an existing user."},
}

// startInteractionLocked stores req (and the browser's session, nil for
// none) and returns the interaction id and the location of its first
// screen (see experienceParams.loginPromptLocation).
func (s *Server) startInteractionLocked(req *authRequest, sess *session) (uid, location string) {
	uid = randomToken(32)
	in := &interaction{req: req, expiresAt: s.nowLocked().Add(interactionTTL)}
	if sess != nil {
		in.sessionID = sess.id
	}
	s.interactions[uid] = in
	return uid, req.experience.loginPromptLocation(req.clientID)
}

// setInteractionCookie gives the browser the pending sign-in's id.
func setInteractionCookie(w http.ResponseWriter, uid string) {
	http.SetCookie(w, &http.Cookie{Name: interactionCookie, Value: uid, Path: "/",
		MaxAge: int(interactionTTL / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// clearInteractionCookie removes it once the sign-in is done.
func clearInteractionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: interactionCookie, Value: "", Path: "/",
		MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// interactionID returns the pending sign-in named by the form's uid field,
// else by the interaction cookie.
func interactionID(r *http.Request, form url.Values) string {
	if uid := form.Get("uid"); uid != "" {
		return uid
	}
	if c, err := r.Cookie(interactionCookie); err == nil {
		return c.Value
	}
	return ""
}

// interactionLocked returns the live interaction uid.
func (s *Server) interactionLocked(uid string) *interaction {
	in := s.interactions[uid]
	if in == nil || !s.nowLocked().Before(in.expiresAt) {
		return nil
	}
	return in
}

var signInPage = template.Must(template.New("sign-in").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
<p>to <strong>{{.App}}</strong> (logtotest fake Logto)</p>
{{if .Note}}<p id="note">{{.Note}}</p>
{{end}}{{if .Hint}}<p id="hint">{{.Hint}}</p>
{{end}}{{if .Error}}<p id="error" role="alert"{{if .ErrorCode}} data-code="{{.ErrorCode}}"{{end}}>{{.Error}}</p>
{{end}}<form id="sign-in-form" method="POST" action="/sign-in">
<input type="hidden" name="uid" value="{{.UID}}">
<input type="hidden" name="screen" value="{{.Screen}}">
{{if .Email}}<input type="hidden" name="one_time_token" value="yes">
<p id="one-time-token">Continue as <strong>{{.Email}}</strong> with the one-time link.</p>
{{else}}<label for="username">Username or user ID</label>
<input type="text" name="username" id="username" value="{{.Username}}" autocomplete="username" autofocus>
{{end}}<button type="submit" id="submit">Continue</button>
</form>
</body>
</html>
`))

type signInData struct {
	Title, Note, Hint, Screen, App, UID, Username, Error string
	// ErrorCode is the Experience API code of Error, if any.
	ErrorCode string
	// Email is set on the page of a one-time token: the address it is for.
	Email string
	// status is the page's HTTP status (0: 200).
	status int
}

// renderSignIn writes the page of the screen route.
func (s *Server) renderSignIn(w http.ResponseWriter, route string, d signInData) {
	if !isExperienceScreen(route) {
		route = routeSignIn
	}
	sc := screens[route]
	d.Title, d.Note, d.Hint, d.Screen = sc.title, sc.note, s.opts.signInHint, route
	if d.Email != "" {
		d.Title, d.Note = "Sign in with a one-time link", ""
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(max(d.status, http.StatusOK))
	_ = signInPage.Execute(w, d)
}

// handleSignInPage shows the screen of the request's path for the pending
// sign-in named by the interaction cookie.
func (s *Server) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	uid := interactionID(r, nil)
	s.mu.Lock()
	in := s.interactionLocked(uid)
	s.mu.Unlock()
	if in == nil {
		http.Error(w, "unknown or expired sign-in request", http.StatusBadRequest)
		return
	}
	d := signInData{App: in.req.clientID, UID: uid, Username: in.req.experience.loginHint}
	if in.req.magicLink() {
		// Like Logto's page, it acts on the token only when the user
		// continues: opening the link (a mail scanner's prefetch) spends
		// nothing.
		d.Email = in.req.experience.loginHint
	}
	s.renderSignIn(w, strings.TrimPrefix(r.URL.Path, "/"), d)
}

// handleDirectSignIn answers /direct/<method>/<target>: the fake has no
// social or single sign-on connectors, so it sends the browser to the
// fallback screen, keeping the other query parameters.
func (s *Server) handleDirectSignIn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fallback := q.Get("fallback")
	if !isExperienceScreen(fallback) {
		fallback = routeSignIn
	}
	q.Del("fallback")
	loc := "/" + fallback
	if len(q) > 0 {
		loc += "?" + q.Encode()
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}

// handleSignInSubmit signs the named user in and redirects to the client.
func (s *Server) handleSignInSubmit(w http.ResponseWriter, r *http.Request) {
	form, e := readBody(w, r)
	if e != nil {
		http.Error(w, e.description, http.StatusBadRequest)
		return
	}
	uid, name, route := interactionID(r, form), strings.TrimSpace(form.Get("username")), form.Get("screen")
	s.mu.Lock()
	in := s.interactionLocked(uid)
	if in == nil {
		s.mu.Unlock()
		http.Error(w, "unknown or expired sign-in request", http.StatusBadRequest)
		return
	}
	if in.req.magicLink() {
		userID, xe := s.oneTimeSignInLocked(in.req.experience.oneTimeToken, in.req.experience.loginHint)
		if xe != nil {
			s.mu.Unlock()
			s.renderSignIn(w, route, signInData{App: in.req.clientID, UID: uid, Email: in.req.experience.loginHint,
				Error: xe.message, ErrorCode: xe.code, status: xe.status})
			return
		}
		s.finishSignInLocked(w, r, uid, in, userID)
		return
	}
	userID := s.findUserLocked(name)
	if userID == "" {
		s.mu.Unlock()
		msg := "Enter a username."
		if name != "" {
			msg = `Unknown user "` + name + `": enter a username or user ID.`
		}
		s.renderSignIn(w, route, signInData{App: in.req.clientID, UID: uid, Username: name, Error: msg})
		return
	}
	s.finishSignInLocked(w, r, uid, in, userID)
}

// finishSignInLocked ends interaction uid by signing userID in, unlocks
// the server and redirects to the client.
func (s *Server) finishSignInLocked(w http.ResponseWriter, r *http.Request, uid string, in *interaction, userID string) {
	delete(s.interactions, uid)
	loc, sess, e := s.completeAuthLocked(in.req, userID, s.sessions[in.sessionID], true)
	s.mu.Unlock()
	if e != nil {
		http.Error(w, e.description, http.StatusBadRequest)
		return
	}
	clearInteractionCookie(w)
	if sess != nil {
		setSessionCookie(w, sess)
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}
