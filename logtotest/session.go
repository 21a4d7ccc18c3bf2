package logtotest

import (
	"net/http"
	"sort"
	"time"
)

// sessionCookie is the name of the cookie that carries a browser's session
// (oidc-provider's is also called _session). Its path is /oidc, so that it
// does not reach apps served on the same host (cookies ignore ports).
const (
	sessionCookie     = "_session"
	sessionCookiePath = "/oidc"
)

// session is a sign-in session at the provider (what Logto keeps behind its
// session cookie). A browser that keeps cookies has its own session; see
// sessionForLocked for the requests that carry none.
type session struct {
	id       string // the session cookie's value
	userID   string
	authTime time.Time
	seq      uint64            // order of last use, to find a user's latest session
	clients  map[string]string // apps that signed in through the session -> their sid
}

// sidFor returns the app's sid in the session (oidc-provider's
// sidFor: one value per session and client), creating it on first use.
func (ss *session) sidFor(clientID string) string {
	sid := ss.clients[clientID]
	if sid == "" {
		sid = randomToken(32)
		ss.clients[clientID] = sid
	}
	return sid
}

// userSessionLocked returns the user's most recently used session, if any.
func (s *Server) userSessionLocked(userID string) *session {
	var best *session
	for _, ss := range s.sessions {
		if ss.userID == userID && (best == nil || ss.seq > best.seq) {
			best = ss
		}
	}
	return best
}

// cookieSessionLocked returns the live session named by the request's
// session cookie, if any.
func (s *Server) cookieSessionLocked(r *http.Request) *session {
	for _, c := range r.Cookies() {
		if c.Name != sessionCookie {
			continue
		}
		if ss := s.sessions[c.Value]; ss != nil {
			return ss
		}
	}
	return nil
}

// touchLocked marks the session as the most recently used.
func (s *Server) touchLocked(ss *session) {
	s.sessionSeq++
	ss.seq = s.sessionSeq
}

// loginLocked records an authentication of userID: it refreshes the
// authentication time of existing when that session is the user's, and
// otherwise starts a new session.
func (s *Server) loginLocked(userID string, existing *session) *session {
	now := s.nowLocked()
	if existing != nil && existing.userID == userID {
		existing.authTime = now
		s.touchLocked(existing)
		return existing
	}
	ss := &session{id: randomToken(32), userID: userID, authTime: now, clients: map[string]string{}}
	s.sessions[ss.id] = ss
	s.touchLocked(ss)
	return ss
}

// setSessionCookie gives the browser the session cookie of ss.
func setSessionCookie(w http.ResponseWriter, ss *session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: ss.id, Path: sessionCookiePath,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// clearSessionCookie removes the session cookie from the browser.
func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: sessionCookiePath,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// logoutNotice is a back-channel logout to send.
type logoutNotice struct{ appID, userID, sid string }

// endSessionLocked ends the session ss, as the end-session confirm step
// does: with logout (the form's logout=yes) the whole session and every app
// in it, otherwise only clientID's part of it (nothing if clientID is
// empty). Grants without offline_access die with their session; offline
// refresh tokens survive, as in Logto. It returns the back-channel logouts
// to send.
func (s *Server) endSessionLocked(ss *session, logout bool, clientID string) []logoutNotice {
	var notices []logoutNotice
	ending := func(appID string) bool { return logout || appID == clientID }
	for appID, sid := range ss.clients {
		if !ending(appID) {
			continue
		}
		if app := s.apps[appID]; app != nil && app.BackchannelLogoutURI != "" {
			if !app.includeSid() {
				sid = "" // the logout token names the user alone
			}
			notices = append(notices, logoutNotice{appID: appID, userID: ss.userID, sid: sid})
		}
	}
	for id, g := range s.grants {
		if g.sessionID == ss.id && ending(g.clientID) && !contains(g.scopes, "offline_access") {
			s.revokeGrantLocked(id)
		}
	}
	if logout {
		delete(s.sessions, ss.id)
	} else {
		delete(ss.clients, clientID)
	}
	sort.Slice(notices, func(i, j int) bool { return notices[i].appID < notices[j].appID })
	return notices
}
