package logtohttp

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"

	"github.com/gologto/logto"
)

// Error is a failure of the sign-in, callback or sign-out handler, or of
// RequireAuth, as Config.ErrorHandler receives it: a status and a short
// message for the person in front of the browser, and the cause for the
// log.
type Error struct {
	// Op is what failed: "sign-in", "callback", "sign-out" or "auth".
	Op string
	// Status is the HTTP status of the response.
	Status int
	// Message is one or two short sentences for the end user: what
	// happened and what to do, without technical detail.
	Message string
	// Err is the cause. It never holds a token, code or secret, but it
	// may hold text Logto (or whoever answered in its place) sent: log it,
	// do not show it.
	Err error
}

// Error returns the operation and the cause, for logs.
func (e *Error) Error() string { return "logtohttp: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause: errors.Is and errors.As see through Error.
func (e *Error) Unwrap() error { return e.Err }

// Messages shown to end users.
const (
	msgCancelled     = "The sign-in was cancelled."
	msgRefused       = "Logto did not complete the sign-in. Please try again."
	msgStale         = "This sign-in link has expired or was already used. Please sign in again."
	msgInvalid       = "The answer to this sign-in could not be verified. Please sign in again."
	msgExpired       = "The sign-in took too long and has expired. Please sign in again."
	msgUnreachable   = "Logto, the sign-in service, could not be reached. Please try again in a moment."
	msgSession       = "Your session could not be read or saved. Please try again in a moment."
	msgMisconfigured = "Sign-in is not set up correctly on this site. Please tell its administrator."
	msgProfile       = "Your profile could not be loaded from Logto. Please try again in a moment."
	msgOther         = "Something went wrong while signing in. Please try again."
)

// newError describes err, a failure of op. q is the callback's query
// (nil for other operations): the error code Logto sent there picks the
// message (never its description), even when no pending sign-in matches.
func newError(op string, err error, q url.Values) *Error {
	status, msg := describe(err, q)
	if op == "auth" && msg == msgOther {
		msg = msgProfile
	}
	return &Error{Op: op, Status: status, Message: msg, Err: err}
}

func describe(err error, q url.Values) (int, string) {
	var oe *logto.OAuthError
	var ne net.Error
	isOAuth := errors.As(err, &oe)
	switch {
	case errors.Is(err, logto.ErrStorage), errors.Is(err, errSessionStore), errors.Is(err, ErrSessionTooLarge):
		return http.StatusInternalServerError, msgSession
	case errors.Is(err, logto.ErrInvalidConfig):
		return http.StatusInternalServerError, msgMisconfigured
	case errors.Is(err, logto.ErrSignInSessionNotFound):
		if code := q.Get("error"); code != "" {
			return http.StatusBadRequest, authorizationMessage(code)
		}
		return http.StatusBadRequest, msgStale
	case isOAuth && oe.Endpoint == "callback":
		return http.StatusBadRequest, authorizationMessage(oe.Code)
	case errors.Is(err, logto.ErrDiscovery), errors.Is(err, logto.ErrInvalidResponse), errors.Is(err, logto.ErrResponseTooLarge),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne), isOAuth && oe.StatusCode >= 500:
		return http.StatusBadGateway, msgUnreachable
	case isOAuth && oe.Code == "invalid_grant":
		// The code was spent or expired before it reached the token endpoint.
		return http.StatusBadRequest, msgExpired
	case errors.Is(err, logto.ErrIssuerMismatch), errors.Is(err, logto.ErrRedirectURIMismatch), errors.Is(err, logto.ErrMissingCode),
		errors.Is(err, logto.ErrInvalidIDToken), errors.Is(err, logto.ErrSubjectMismatch):
		return http.StatusBadRequest, msgInvalid
	case isOAuth:
		return http.StatusBadRequest, msgRefused
	}
	return http.StatusBadRequest, msgOther
}

// authorizationMessage is the message of an error code of the
// authorization response.
func authorizationMessage(code string) string {
	switch code {
	case "access_denied":
		return msgCancelled
	case "temporarily_unavailable", "server_error":
		return msgUnreachable
	}
	return msgRefused
}

// errSessionStore marks failures of the session store.
var errSessionStore = errors.New("logtohttp: session store")

// fail logs e and renders it with Config.ErrorHandler or the default
// error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, e *Error) {
	level := slog.LevelWarn
	if e.Status >= 500 {
		level = slog.LevelError
	}
	// The path only: the query of a callback holds the code.
	h.logger.Log(r.Context(), level, "logtohttp: "+e.Op+" failed",
		"status", e.Status, "method", r.Method, "path", r.URL.Path, "error", e.Err.Error())
	if h.onError != nil {
		h.onError(w, r, e.Status, e)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	noStore(w)
	w.WriteHeader(e.Status)
	again := ""
	if e.Op == "callback" || e.Op == "sign-in" {
		again = fmt.Sprintf(" · <a href=\"%s\">Sign in again</a>", html.EscapeString(h.local(h.signIn)))
	}
	_, _ = fmt.Fprintf(w, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>%s</title>\n<h1>%s</h1>\n<p>%s</p>\n<p><a href=\"%s\">Home</a>%s</p>\n<p><small>Error %d</small></p>\n",
		html.EscapeString(headline(e.Op)), html.EscapeString(headline(e.Op)), html.EscapeString(e.Message),
		html.EscapeString(h.local(h.returnTo)), again, e.Status)
}

// headline is the title of the error page of op.
func headline(op string) string {
	switch op {
	case "sign-in", "callback":
		return "Sign-in failed"
	case "sign-out":
		return "Sign-out failed"
	}
	return "Something went wrong"
}

// sessionProblem reports a session that could not be saved as it should,
// once the response can no longer show it: to the log and to
// Config.OnSessionError.
func (h *Handler) sessionProblem(r *http.Request, err error) {
	h.logger.ErrorContext(r.Context(), "logtohttp: saving the session failed", "path", r.URL.Path, "error", err.Error())
	if h.onSessionError != nil {
		h.onSessionError(r, err)
	}
}
