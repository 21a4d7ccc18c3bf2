package logtotest

import (
	"html/template"
	"net/http"
	"time"
)

// interactionTTL is how long a sign-in page stays valid.
const interactionTTL = time.Hour

// interaction is a pending sign-in on the login page.
type interaction struct {
	req       *authRequest
	sessionID string // the browser's session when the sign-in started, if any
	expiresAt time.Time
}

// startInteractionLocked stores req (and the browser's session, nil for
// none) and returns the sign-in page location.
func (s *Server) startInteractionLocked(req *authRequest, sess *session) string {
	uid := randomToken(16)
	in := &interaction{req: req, expiresAt: s.nowLocked().Add(interactionTTL)}
	if sess != nil {
		in.sessionID = sess.id
	}
	s.interactions[uid] = in
	return "/sign-in?uid=" + uid
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
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h1>Sign in</h1>
<p>to <strong>{{.App}}</strong> (logtotest fake Logto)</p>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>
{{end}}<form id="sign-in-form" method="POST" action="/sign-in">
<input type="hidden" name="uid" value="{{.UID}}">
<label for="username">Username or user ID</label>
<input type="text" name="username" id="username" value="{{.Username}}" autocomplete="username" autofocus>
<button type="submit" id="submit">Continue</button>
</form>
</body>
</html>
`))

type signInData struct {
	App, UID, Username, Error string
}

func renderSignIn(w http.ResponseWriter, status int, d signInData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = signInPage.Execute(w, d)
}

// handleSignInPage shows the sign-in form.
func (s *Server) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	uid := r.URL.Query().Get("uid")
	s.mu.Lock()
	in := s.interactionLocked(uid)
	s.mu.Unlock()
	if in == nil {
		http.Error(w, "unknown or expired sign-in request", http.StatusBadRequest)
		return
	}
	renderSignIn(w, http.StatusOK, signInData{App: in.req.clientID, UID: uid, Username: in.req.loginHint})
}

// handleSignInSubmit signs the named user in and redirects to the client.
func (s *Server) handleSignInSubmit(w http.ResponseWriter, r *http.Request) {
	form, e := readBody(w, r)
	if e != nil {
		http.Error(w, e.description, http.StatusBadRequest)
		return
	}
	uid, name := form.Get("uid"), form.Get("username")
	s.mu.Lock()
	in := s.interactionLocked(uid)
	if in == nil {
		s.mu.Unlock()
		http.Error(w, "unknown or expired sign-in request", http.StatusBadRequest)
		return
	}
	userID := s.findUserLocked(name)
	if userID == "" {
		s.mu.Unlock()
		renderSignIn(w, http.StatusOK, signInData{App: in.req.clientID, UID: uid, Username: name,
			Error: "Unknown user: enter a username or user ID."})
		return
	}
	delete(s.interactions, uid)
	loc, sess, e := s.completeAuthLocked(in.req, userID, s.sessions[in.sessionID], true)
	s.mu.Unlock()
	if e != nil {
		http.Error(w, e.description, http.StatusBadRequest)
		return
	}
	if sess != nil {
		setSessionCookie(w, sess)
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
}
