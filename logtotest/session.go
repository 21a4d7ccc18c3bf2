package logtotest

import (
	"net/http"
	"sort"
	"time"
)

// session is a user's sign-in session at the provider (what Logto keeps in
// its session cookie). The fake keeps one session per user.
type session struct {
	sid      string
	userID   string
	authTime time.Time
	clients  map[string]bool // apps that signed in through the session
}

// userSessionLocked returns the user's session, if any.
func (s *Server) userSessionLocked(userID string) *session {
	for _, ss := range s.sessions {
		if ss.userID == userID {
			return ss
		}
	}
	return nil
}

// loginLocked records an authentication of userID, creating a session or
// refreshing the authentication time of the existing one.
func (s *Server) loginLocked(userID string, existing *session) *session {
	now := s.nowLocked()
	if existing != nil {
		existing.authTime = now
		return existing
	}
	ss := &session{sid: randomToken(16), userID: userID, authTime: now, clients: map[string]bool{}}
	s.sessions[ss.sid] = ss
	return ss
}

// logoutNotice is a back-channel logout to send.
type logoutNotice struct{ appID, userID, sid string }

// endSessionsLocked ends the sessions accepted by match and returns the
// back-channel logouts to send. Grants without offline_access die with their
// session; offline refresh tokens survive, as in Logto.
func (s *Server) endSessionsLocked(match func(*session) bool) []logoutNotice {
	var notices []logoutNotice
	for sid, ss := range s.sessions {
		if !match(ss) {
			continue
		}
		delete(s.sessions, sid)
		for id, g := range s.grants {
			if g.sid == sid && !contains(g.scopes, "offline_access") {
				s.revokeGrantLocked(id)
			}
		}
		for appID := range ss.clients {
			if app := s.apps[appID]; app != nil && app.BackchannelLogoutURI != "" {
				notices = append(notices, logoutNotice{appID: appID, userID: ss.userID, sid: sid})
			}
		}
	}
	sort.Slice(notices, func(i, j int) bool { return notices[i].appID < notices[j].appID })
	return notices
}

// handleEndSession is the RP-initiated logout endpoint. Logto shows an
// auto-submitted confirmation form; the fake ends the session at once.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	if r.Method == http.MethodPost {
		var e *oauthError
		if p, e = readBody(w, r); e != nil {
			writeOAuthError(w, r, e)
			return
		}
	}
	if d := duplicateParam(p); d != "" {
		writeOAuthError(w, r, invalidRequest("'"+d+"' parameter must not be provided twice"))
		return
	}
	clientID, hint := p.Get("client_id"), p.Get("id_token_hint")
	postLogout := p.Get("post_logout_redirect_uri")
	var sub string
	if hint != "" {
		claims, err := s.verifyOwnToken(hint)
		if err != nil {
			writeOAuthError(w, r, invalidRequest("could not validate id_token_hint"))
			return
		}
		sub, _ = claims["sub"].(string)
		auds := audiences(claims["aud"])
		switch {
		case clientID == "" && len(auds) > 0:
			clientID = auds[0]
		case clientID != "" && !contains(auds, clientID):
			writeOAuthError(w, r, invalidRequest("client_id does not match the id_token_hint audience"))
			return
		}
	}
	s.mu.Lock()
	var app *App
	if clientID != "" {
		if app = s.apps[clientID]; app == nil {
			s.mu.Unlock()
			writeOAuthError(w, r, errorf(http.StatusBadRequest, "invalid_client", "client is invalid"))
			return
		}
		app = app.clone()
	}
	if postLogout != "" {
		var e *oauthError
		if app == nil {
			e = invalidRequest("post_logout_redirect_uri can only be used in combination with id_token_hint or client_id")
		} else if !contains(app.PostLogoutRedirectURIs, postLogout) {
			e = invalidRequest("post_logout_redirect_uri not registered")
		}
		if e != nil {
			s.mu.Unlock()
			writeOAuthError(w, r, e)
			return
		}
	}
	notices := s.endSessionsLocked(func(ss *session) bool {
		switch {
		case sub != "":
			return ss.userID == sub
		case clientID != "":
			return ss.clients[clientID]
		}
		return true
	})
	s.mu.Unlock()

	for _, n := range notices {
		_ = s.SendBackchannelLogout(n.appID, n.userID, n.sid) // best effort, like Logto
	}
	if postLogout != "" {
		http.Redirect(w, r, appendQuery(postLogout, "state", p.Get("state")), http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(signedOutPage))
}

const signedOutPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head>
<body><p>You have successfully signed out.</p></body></html>
`

// audiences normalises an aud claim.
func audiences(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
