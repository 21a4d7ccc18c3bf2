package logtohttp

import (
	"context"
	"net/http"
	"sync"

	"github.com/gologto/logto"
)

// SessionManager loads each request's session and saves it to the
// response. It is implemented by *CookieSessions (the whole session,
// encrypted, in cookies) and *ServerSessions (a session id in a cookie, the
// data in a SessionStore). To keep sessions in Redis, SQL or another
// database, implement SessionStore and use NewServerSessions.
type SessionManager interface {
	// load reads the session r carries; secure is the Handler's default
	// for the Secure attribute, which also selects the cookie names.
	// Missing, expired, tampered and foreign cookies load as an empty
	// session with a nil error; an error means the backing store failed.
	load(r *http.Request, secure bool) (loadedSession, error)
	// save writes values (nil or empty: end the session) as Set-Cookie
	// headers of w, and to the store for server sessions. An error that
	// wraps errSaved means the session was written in full but with a
	// problem the application should hear about; any other error means
	// nothing was written.
	save(w http.ResponseWriter, r *http.Request, prev *loadedSession, values map[string]string, opts saveOptions) error
}

// loadedSession is what a SessionManager read from a request.
type loadedSession struct {
	// values are the session's key-value pairs; read-only (they may be
	// shared with a store), nil when empty.
	values map[string]string
	// id is the server-side session id, "" when the request carried none
	// that names a live record.
	id string
	// stored are the values of the store's record (server sessions).
	stored map[string]string
	// version is the record's SessionRecord.Version (shared stores).
	version uint64
	// rewritten means the record was written under the refresh lock
	// since the cookie was last set (sharedstore.go).
	rewritten bool
	// present has bit i set when the request carried cookie chunk i.
	present uint32
	// pendingPresent and pendingInvalid describe the sealed cookie of
	// pending sign-ins that server sessions keep beside the session id,
	// as present and invalid do for the session's own cookies.
	pendingPresent uint32
	pendingInvalid bool
	// invalid means the request carried cookies that could not be read
	// (tampered, expired, unknown id): they are cleared on save.
	invalid bool
}

// saveOptions are the per-response choices of the Handler.
type saveOptions struct {
	secure bool
	// renew asks server sessions for a new id (after sign-in).
	renew bool
}

// sessionKey is the context key of the request's *session.
type sessionKey struct{}

// authInfo is what RequireAuth learnt about the user.
type authInfo struct {
	hasClaims bool
	claims    logto.IdTokenClaims
	info      *logto.UserInfo
}

// session is one request's view of a browser session. It is loaded on
// first use, implements logto.Storage over its values (copy-on-write), and
// is saved once, before the response headers are sent, only when changed.
type session struct {
	h      *Handler
	r      *http.Request
	parent *session // the enclosing session of another Handler, if any
	w      sessionWriter

	mu        sync.Mutex
	loaded    bool
	loadErr   error
	state     loadedSession
	values    map[string]string
	owned     bool // values is a private copy, safe to modify
	dirty     bool
	renew     bool
	committed bool
	warned    bool
	view      *logto.LogtoClient

	auth authInfo // written by RequireAuth before it calls the next handler
}

func (s *session) ensureLoaded() error {
	if s.loaded {
		return s.loadErr
	}
	s.loaded = true
	st, err := s.h.sessions.load(s.r, s.h.secureCookies(s.r))
	s.state = st
	s.values = st.values
	s.loadErr = err
	return err
}

// loadError returns the error of a failed load (a store outage).
func (s *session) loadError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadErr
}

// Get implements logto.Storage.
func (s *session) Get(_ context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLoaded(); err != nil {
		return "", err
	}
	return s.values[key], nil
}

// Set implements logto.Storage.
func (s *session) Set(_ context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLoaded(); err != nil {
		return err
	}
	if old, ok := s.values[key]; ok && old == value {
		return nil
	}
	s.own()
	s.values[key] = value
	s.changed()
	return nil
}

// Delete implements logto.Storage.
func (s *session) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLoaded(); err != nil {
		return err
	}
	if _, ok := s.values[key]; !ok {
		return nil
	}
	s.own()
	delete(s.values, key)
	s.changed()
	return nil
}

// own makes values a private copy before its first change.
func (s *session) own() {
	if s.owned {
		return
	}
	m := make(map[string]string, len(s.values)+2)
	for k, v := range s.values {
		m[k] = v
	}
	s.values = m
	s.owned = true
}

func (s *session) changed() {
	s.dirty = true
	if s.committed && !s.warned {
		s.warned = true
		s.h.logger.Warn("logtohttp: the session changed after its cookies were sent " +
			"(response already started, or no Sessions middleware around Client); the change is lost for later requests")
	}
}

// destroy empties the session, whatever it held or failed to load: the
// save that follows deletes it (server sessions) and clears its cookies.
func (s *session) destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = true
	s.loadErr = nil
	s.values = nil
	s.owned = false
	s.changed()
}

// renewID asks server sessions for a new session id at save time.
func (s *session) renewID() {
	s.mu.Lock()
	s.renew = true
	s.mu.Unlock()
}

// client returns the request's view of the shared LogtoClient, made once.
func (s *session) client() *logto.LogtoClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.view == nil {
		s.view = s.h.client.WithStorage(s.storage())
	}
	return s.view
}

// commit saves the session to w's headers if it changed (or carried
// unreadable cookies). It runs at most once per request.
func (s *session) commit(w http.ResponseWriter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return nil
	}
	s.committed = true
	if !s.loaded || s.loadErr != nil || (!s.dirty && !s.state.invalid && !s.state.pendingInvalid) {
		return nil
	}
	if _, ok := s.values[storageKeySignedInAt]; ok && s.values[logto.StorageKeyIDToken] == "" {
		// The tokens are gone (sign-out, ended session): so is the user.
		s.own()
		delete(s.values, storageKeySignedInAt)
	}
	err := s.h.sessions.save(w, s.r, &s.state, s.values, saveOptions{secure: s.h.secureCookies(s.r), renew: s.renew})
	s.dirty = false
	s.owned = false // the saved map may now be shared with a store
	if err != nil && savedAnyway(err) {
		// Written, with a problem the application must hear about.
		s.h.sessionProblem(s.r, err)
		return nil
	}
	return err
}

// flush commits and reports a failure: used when the handler starts its
// response, where an error can no longer change the status.
func (s *session) flush(w http.ResponseWriter) {
	if err := s.commit(w); err != nil {
		s.h.sessionProblem(s.r, err)
	}
}

// sessionWriter saves the session just before the response headers are
// written, so that a handler that writes its body first still sends the
// session's Set-Cookie headers.
type sessionWriter struct {
	http.ResponseWriter
	s    *session
	done bool
}

// WriteHeader saves the session, then writes the header. Informational
// (1xx) responses do not count as the start of the response.
func (w *sessionWriter) WriteHeader(code int) {
	if !w.done && (code >= 200 || code == http.StatusSwitchingProtocols || code < 100) {
		w.done = true
		w.s.flush(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write saves the session if the response has not started yet.
func (w *sessionWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.done = true
		w.s.flush(w.ResponseWriter)
	}
	return w.ResponseWriter.Write(b)
}

// Flush saves the session if the response has not started yet, then
// flushes the underlying writer when it can.
func (w *sessionWriter) Flush() {
	if !w.done {
		w.done = true
		w.s.flush(w.ResponseWriter)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sessionFrom returns h's session of the request context, or nil.
func (h *Handler) sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	for ; s != nil; s = s.parent {
		if s.h == h {
			return s
		}
	}
	return nil
}

// withSession runs next with the request's session of h, installing one
// (context value and ResponseWriter wrapper) if no Sessions middleware of
// h did already.
func (h *Handler) withSession(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request, *session)) {
	if s := h.sessionFrom(r.Context()); s != nil {
		next(w, r, s)
		return
	}
	parent, _ := r.Context().Value(sessionKey{}).(*session)
	s := &session{h: h, parent: parent}
	r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
	s.r = r
	s.w = sessionWriter{ResponseWriter: w, s: s}
	next(&s.w, r, s)
	if !s.w.done {
		s.w.done = true
		s.flush(w)
	}
}

// Sessions is the middleware that gives each request its session: loaded
// lazily on first use, saved once before the response headers are sent,
// and only when it changed. Install it around every handler that uses
// Client; the Handler's own handlers and RequireAuth install it themselves
// when it is missing.
func (h *Handler) Sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.withSession(w, r, func(w http.ResponseWriter, r *http.Request, _ *session) {
			next.ServeHTTP(w, r)
		})
	})
}

// Client returns the request's view of the shared LogtoClient, bound to
// the request's session (see logto.LogtoClient.WithStorage). Repeated calls
// in one request return the same view.
//
// Changes the view makes (a refreshed token, a sign-out) reach the browser
// only when the request runs inside Sessions, RequireAuth or one of the
// Handler's handlers, and only before the response starts: call Client
// before writing the body when the call may refresh tokens. Outside them,
// Client still reads the session, and changes are lost.
func (h *Handler) Client(r *http.Request) *logto.LogtoClient {
	s := h.sessionFrom(r.Context())
	if s == nil {
		s = &session{h: h, r: r, committed: true}
	}
	return s.client()
}
