package logtohttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gologto/logto"
)

// Default paths of Config.
const (
	DefaultCallbackPath    = "/callback"
	DefaultSignInPath      = "/sign-in"
	DefaultSignOutPath     = "/sign-out"
	DefaultReturnToPath    = "/"
	returnToParam          = "return_to"
	errNotAuthenticatedMsg = `{"error":"Not authenticated"}`
)

// Config configures a Handler. Client and Sessions are required, and
// BaseURL unless TrustForwardedHeaders is set.
type Config struct {
	// Client is the application's one LogtoClient, shared by all requests;
	// each request works on a view of it bound to its session.
	Client *logto.LogtoClient

	// Sessions keeps each browser's session: NewCookieSessions or
	// NewServerSessions.
	Sessions SessionManager

	// BaseURL is the application's public URL as the browser sees it, e.g.
	// "https://app.example.com" or "https://example.com/app" behind a
	// reverse proxy that strips "/app". The redirect URI registered in
	// Logto is BaseURL + CallbackPath, and the redirects the Handler sends
	// are prefixed with BaseURL's path.
	BaseURL string

	// TrustForwardedHeaders derives the public URL of each request from
	// its Forwarded or X-Forwarded-Proto and X-Forwarded-Host headers, and
	// its Host header, when BaseURL is empty. Enable it only behind a proxy
	// that sets these headers itself: a client could otherwise choose the
	// redirect URI sent to Logto (which must still be registered there).
	TrustForwardedHeaders bool

	// CallbackPath, SignInPath and SignOutPath are the paths of the three
	// handlers as the application's router sees them. Defaults
	// "/callback", "/sign-in" and "/sign-out".
	CallbackPath string
	SignInPath   string
	SignOutPath  string

	// DefaultReturnTo is where the user lands after sign-in when no valid
	// return_to was given. Default "/".
	DefaultReturnTo string

	// PostLogoutRedirectURI is where Logto sends the user after sign-out;
	// it must be registered in Logto. Default: the public base URL + "/".
	PostLogoutRedirectURI string

	// SignInOptions are the defaults of every sign-in; the sign-in
	// handler's query may override some of them (see SignIn). RedirectURI
	// is ignored: the Handler sets it.
	SignInOptions logto.SignInOptions

	// ErrorHandler renders the failures of the sign-in, callback and
	// sign-out handlers, and of RequireAuth (a store outage, a refresh or
	// user info fetch that could not reach Logto), to show the
	// application's own error page. err is an *Error: its Message is a
	// short sentence for the end user, its cause is for logs. The default
	// writes a small HTML page with the Message. Either way the failure is
	// logged first.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, status int, err error)

	// OnSessionError is called when a session could not be saved as it
	// should, where the response can no longer tell: a cookie session over
	// its budget (ErrSessionTooLarge; see SessionSizeError.Saved), or a
	// store failure once the handler started its response. It runs just
	// before the response headers are sent; it must not write the
	// response. The failure is logged too.
	OnSessionError func(r *http.Request, err error)

	// Logger receives every failure, without tokens or secrets: sign-in,
	// callback and sign-out errors (warnings for 4xx, errors for 5xx),
	// sessions that could not be saved. Default slog.Default().
	Logger *slog.Logger
}

// Handler connects a LogtoClient to net/http: sign-in, callback and
// sign-out handlers, the Sessions and RequireAuth middleware, and per-request
// clients. Create it with New; it is safe for concurrent use.
type Handler struct {
	client     *logto.LogtoClient
	sessions   SessionManager
	base       string // trimmed BaseURL, "" when derived per request
	basePath   string // path of base, without trailing slash
	trustFwd   bool
	callback   string
	signIn     string
	signOut    string
	returnTo   string
	postLogout string
	signInOpts logto.SignInOptions
	onError    func(http.ResponseWriter, *http.Request, int, error)
	// onSessionError is Config.OnSessionError.
	onSessionError func(*http.Request, error)
	logger         *slog.Logger
	// now is the clock of ID token expiry checks and sign-in times.
	now func() time.Time
	// secure is the Secure default for a fixed BaseURL.
	secure bool
}

// New validates cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Client == nil {
		return nil, errors.New("logtohttp: Config.Client is required")
	}
	if cfg.Sessions == nil {
		return nil, errors.New("logtohttp: Config.Sessions is required (NewCookieSessions or NewServerSessions)")
	}
	h := &Handler{
		client:     cfg.Client,
		sessions:   cfg.Sessions,
		trustFwd:   cfg.TrustForwardedHeaders,
		callback:   orDefault(cfg.CallbackPath, DefaultCallbackPath),
		signIn:     orDefault(cfg.SignInPath, DefaultSignInPath),
		signOut:    orDefault(cfg.SignOutPath, DefaultSignOutPath),
		returnTo:   orDefault(cfg.DefaultReturnTo, DefaultReturnToPath),
		postLogout: cfg.PostLogoutRedirectURI,
		signInOpts: cfg.SignInOptions,
		onError:    cfg.ErrorHandler,
		logger:     cfg.Logger,
		now:        time.Now,

		onSessionError: cfg.OnSessionError,
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return nil, fmt.Errorf("logtohttp: Config.BaseURL %q: must be an absolute http(s) URL without query or fragment", cfg.BaseURL)
		}
		h.basePath = trimPath(u.EscapedPath())
		u.Path, u.RawPath = "", ""
		h.base = u.String() + h.basePath
		h.secure = secureFor(h.base)
	} else if !cfg.TrustForwardedHeaders {
		return nil, errors.New("logtohttp: Config.BaseURL is required (or TrustForwardedHeaders behind a trusted proxy)")
	}
	for _, p := range []struct{ name, value string }{
		{"CallbackPath", h.callback}, {"SignInPath", h.signIn}, {"SignOutPath", h.signOut},
	} {
		if !safeReturnTo(p.value) || strings.ContainsAny(p.value, "?#") {
			return nil, fmt.Errorf("logtohttp: Config.%s %q: must be a path starting with one slash", p.name, p.value)
		}
	}
	if !safeReturnTo(h.returnTo) {
		return nil, fmt.Errorf("logtohttp: Config.DefaultReturnTo %q: must be a same-origin path", h.returnTo)
	}
	return h, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Routes registers the sign-in, sign-out (GET and POST) and callback
// handlers on mux at their configured paths.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.Handle("GET "+h.signIn, h.SignIn())
	mux.Handle("GET "+h.callback, h.Callback())
	mux.Handle("GET "+h.signOut, h.SignOut())
	mux.Handle("POST "+h.signOut, h.SignOut())
}

// CallbackURL returns the redirect URI of the request's sign-ins, the
// public base URL followed by CallbackPath. It is the URL to register in
// Logto.
func (h *Handler) CallbackURL(r *http.Request) string {
	return h.publicBase(r) + h.callback
}

// publicBase returns the public base URL of r, without trailing slash.
func (h *Handler) publicBase(r *http.Request) string {
	if h.base != "" {
		return h.base
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if p, fh := forwarded(r); p != "" || fh != "" {
		if p != "" {
			scheme = p
		}
		if fh != "" {
			host = fh
		}
	}
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// forwarded reads the first proxy's proto and host from the Forwarded
// header (RFC 7239), else from X-Forwarded-Proto and X-Forwarded-Host.
func forwarded(r *http.Request) (proto, host string) {
	if f := r.Header.Get("Forwarded"); f != "" {
		first, _, _ := strings.Cut(f, ",")
		for _, pair := range strings.Split(first, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"`)
			switch strings.ToLower(k) {
			case "proto":
				proto = strings.ToLower(v)
			case "host":
				host = v
			}
		}
	} else {
		p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		fh, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ",")
		proto, host = strings.ToLower(strings.TrimSpace(p)), strings.TrimSpace(fh)
	}
	if proto != "http" && proto != "https" {
		proto = ""
	}
	if !validHost(host) {
		host = ""
	}
	return proto, host
}

// validHost accepts a host[:port] made of the characters hostnames and IP
// literals use.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// secureCookies reports whether cookies get the Secure attribute by
// default: always, except for plain-http public URLs on a loopback host.
func (h *Handler) secureCookies(r *http.Request) bool {
	if h.base != "" {
		return h.secure
	}
	return secureFor(h.publicBase(r))
}

func secureFor(base string) bool {
	rest, ok := strings.CutPrefix(base, "http://")
	if !ok {
		return true
	}
	host, _, _ := strings.Cut(rest, "/")
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// local returns the Location of an application path, prefixed with the
// base URL's path.
func (h *Handler) local(path string) string { return h.basePath + path }

// SignIn returns the handler that starts a sign-in and redirects to
// Logto. The query may carry:
//
//   - return_to: the same-origin path to land on after sign-in; anything
//     else (another origin, "//host", "/\host", a scheme, encoded slashes,
//     control characters) falls back to Config.DefaultReturnTo;
//   - interaction_mode: "signIn" or "signUp";
//   - first_screen: one of the logto.FirstScreen values;
//   - identifier: identifier types separated by spaces or commas;
//   - login_hint: pre-filled identifier;
//   - direct_sign_in: "social:<target>" or "sso:<connector id>".
//
// Unknown or invalid values are ignored. The return_to path is kept in the
// session, bound to the sign-in's state, never sent to Logto.
func (h *Handler) SignIn() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.withSession(w, r, h.serveSignIn)
	})
}

func (h *Handler) serveSignIn(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	opts := h.signInOptions(q)
	opts.RedirectURI = h.CallbackURL(r)
	returnTo := q.Get(returnToParam)
	if !safeReturnTo(returnTo) {
		returnTo = h.returnTo
	}
	ctx := r.Context()
	authURL, err := s.client().SignIn(ctx, opts)
	if err != nil {
		h.fail(w, r, newError("sign-in", err, nil))
		return
	}
	if returnTo != h.returnTo {
		if u, err := url.Parse(authURL); err == nil {
			if state := u.Query().Get("state"); state != "" {
				raw, _ := s.Get(ctx, storageKeyReturnTo)
				if err := s.Set(ctx, storageKeyReturnTo, addReturnTo(raw, state, returnTo, time.Now().Unix())); err != nil {
					h.fail(w, r, newError("sign-in", err, nil))
					return
				}
			}
		}
	}
	if err := s.commit(w); err != nil {
		h.fail(w, r, newError("sign-in", fmt.Errorf("the session could not be saved: %w", err), nil))
		return
	}
	noStore(w)
	http.Redirect(w, r, authURL, http.StatusFound)
}

// signInOptions merges the query's sign-in choices into the defaults.
func (h *Handler) signInOptions(q url.Values) logto.SignInOptions {
	opts := h.signInOpts
	opts.Identifiers = append([]logto.Identifier(nil), opts.Identifiers...)
	if len(opts.ExtraParams) > 0 {
		extra := make(map[string]string, len(opts.ExtraParams))
		for k, v := range opts.ExtraParams {
			extra[k] = v
		}
		opts.ExtraParams = extra
	}
	if m := logto.InteractionMode(q.Get("interaction_mode")); slices.Contains(queryInteractionModes, m) {
		opts.InteractionMode = m
	}
	if fs := logto.FirstScreen(q.Get("first_screen")); slices.Contains(queryFirstScreens, fs) {
		opts.FirstScreen = fs
	}
	if v := q.Get("identifier"); v != "" {
		var ids []logto.Identifier
		for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
			if id := logto.Identifier(f); slices.Contains(queryIdentifiers, id) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			opts.Identifiers = ids
		}
	}
	if v := q.Get("login_hint"); v != "" && len(v) <= 256 {
		opts.LoginHint = v
	}
	if v := q.Get("direct_sign_in"); v != "" && len(v) <= 256 {
		method, target, _ := strings.Cut(v, ":")
		if m := logto.DirectSignInMethod(method); slices.Contains(queryDirectSignInMethods, m) && target != "" {
			opts.DirectSignIn = &logto.DirectSignIn{Method: m, Target: target}
		}
	}
	return opts
}

// Callback returns the handler of Logto's redirect back to the
// application: it completes the sign-in (logto.LogtoClient.HandleCallback),
// renews the server-side session id, and redirects to the return_to path
// saved at sign-in, or to Config.DefaultReturnTo. A failed sign-in renders
// a 400 page (or Config.ErrorHandler) that never shows a token.
func (h *Handler) Callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.withSession(w, r, h.serveCallback)
	})
}

func (h *Handler) serveCallback(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	callbackURL := h.CallbackURL(r)
	if r.URL.RawQuery != "" {
		callbackURL += "?" + r.URL.RawQuery
	}
	// The return_to entry of this state is used once, whatever happens;
	// expired entries go too.
	var returnTo string
	if raw, err := s.Get(ctx, storageKeyReturnTo); err == nil && raw != "" {
		var rest string
		returnTo, rest = takeReturnTo(raw, r.URL.Query().Get("state"), time.Now().Unix())
		if rest == "" {
			_ = s.Delete(ctx, storageKeyReturnTo)
		} else {
			_ = s.Set(ctx, storageKeyReturnTo, rest)
		}
	}
	if !safeReturnTo(returnTo) {
		returnTo = h.returnTo
	}
	client := s.client()
	if err := client.HandleCallback(ctx, callbackURL); err != nil {
		if errors.Is(err, logto.ErrSignInSessionNotFound) && client.IsAuthenticated(ctx) {
			// A reload of the callback page, or a second tab: the user
			// is signed in already.
			noStore(w)
			http.Redirect(w, r, h.local(returnTo), http.StatusFound)
			return
		}
		h.fail(w, r, newError("callback", err, r.URL.Query()))
		return
	}
	if err := s.Set(ctx, storageKeySignedInAt, strconv.FormatInt(h.now().UnixMilli(), 10)); err != nil {
		h.fail(w, r, newError("callback", err, nil))
		return
	}
	s.renewID()
	if err := s.commit(w); err != nil {
		h.fail(w, r, newError("callback", fmt.Errorf("the session could not be saved: %w", err), nil))
		return
	}
	noStore(w)
	http.Redirect(w, r, h.local(returnTo), http.StatusFound)
}

// SignOut returns the handler that signs the user out: it revokes the
// refresh token, destroys the session (deleting a server-side session and
// clearing the cookies) and redirects to Logto's end-session endpoint,
// which sends the browser on to Config.PostLogoutRedirectURI. It answers
// GET (for links) and POST.
func (h *Handler) SignOut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.withSession(w, r, h.serveSignOut)
	})
}

func (h *Handler) serveSignOut(w http.ResponseWriter, r *http.Request, s *session) {
	postLogout := h.postLogout
	if postLogout == "" {
		postLogout = h.publicBase(r) + "/"
	}
	endURL, err := s.client().SignOut(r.Context(), postLogout)
	s.destroy()
	if cerr := s.commit(w); cerr != nil {
		h.fail(w, r, newError("sign-out", fmt.Errorf("the session could not be deleted: %w", cerr), nil))
		return
	}
	if err != nil {
		// The local session is gone; Logto's could not be ended.
		h.logger.WarnContext(r.Context(), "logtohttp: sign-out could not reach Logto's end-session endpoint", "error", err)
		endURL = postLogout
	}
	noStore(w)
	status := http.StatusFound
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, endURL, status)
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}
