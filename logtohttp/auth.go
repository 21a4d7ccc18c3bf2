package logtohttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gologto/logto"
)

// AuthOptions shape RequireAuth, like the Python SDK's
// @authenticated(shouldRedirect, fetchUserInfo).
type AuthOptions struct {
	// Redirect sends a signed-out browser to the sign-in handler, which
	// brings it back to the requested page (GET and HEAD requests) after
	// sign-in. When false, a signed-out request gets 401 with the JSON body
	// {"error":"Not authenticated"}, for APIs and fetch calls.
	Redirect bool
	// FetchUserInfo fetches the user info from Logto on every request (one
	// request to Logto) and puts it in the context for UserInfo. Without
	// it, no request leaves the server once the user is signed in.
	FetchUserInfo bool
}

// RequireAuth returns middleware that lets only signed-in users through.
// It puts the ID token claims in the request context (see IdTokenClaims)
// and, with FetchUserInfo, the user info (see UserInfo). It installs the
// Sessions middleware when missing.
//
// Once the stored ID token has expired (an hour after sign-in or the last
// refresh, with Logto's defaults), RequireAuth refreshes the tokens before
// it lets the request through, so that a session Logto ended, or a copy of
// a session whose refresh token was revoked, stops passing: Logto's
// invalid_grant signs it out. A session whose refresh token Logto refused
// (here or while fetching the user info) counts as signed out; a refresh
// or user info fetch that fails otherwise answers 502 through
// Config.ErrorHandler.
func (h *Handler) RequireAuth(opts AuthOptions) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.withSession(w, r, func(w http.ResponseWriter, r *http.Request, s *session) {
				h.serveAuth(w, r, s, opts, next)
			})
		})
	}
}

func (h *Handler) serveAuth(w http.ResponseWriter, r *http.Request, s *session, opts AuthOptions, next http.Handler) {
	ctx := r.Context()
	client := s.client()
	claims, err := client.GetIdTokenClaims(ctx)
	if err != nil {
		if lerr := s.loadError(); lerr != nil {
			// The store is down: an error, not a signed-out user.
			h.fail(w, r, newError("auth", lerr, nil))
			return
		}
		h.unauthenticated(w, r, opts)
		return
	}
	if !h.now().Before(claims.Expiry.Time()) {
		claims, err = refreshIDToken(ctx, s, client)
		switch {
		case signedOut(err):
			h.unauthenticated(w, r, opts)
			return
		case err != nil:
			h.fail(w, r, newError("auth", fmt.Errorf("the expired ID token could not be refreshed: %w", err), nil))
			return
		}
	}
	s.auth.claims, s.auth.hasClaims = claims, true
	if opts.FetchUserInfo {
		info, err := client.FetchUserInfo(ctx)
		switch {
		case signedOut(err):
			s.auth.claims, s.auth.hasClaims = logto.IdTokenClaims{}, false
			h.unauthenticated(w, r, opts)
			return
		case err != nil:
			h.fail(w, r, newError("auth", fmt.Errorf("user info could not be fetched: %w", err), nil))
			return
		}
		s.auth.info = &info
	}
	next.ServeHTTP(w, r)
}

// signedOut reports whether err means the session holds no usable tokens.
func signedOut(err error) bool {
	return errors.Is(err, logto.ErrSessionExpired) || errors.Is(err, logto.ErrNotAuthenticated)
}

// refreshIDToken refreshes the session's tokens whatever the age of its
// cached access tokens, and returns the claims of the ID token Logto sent
// back. The refresh runs on a view of the session that hides the cached
// default access token (the one for user info), so that GetAccessToken
// asks Logto; nothing is written unless the refresh succeeds or ends the
// session.
func refreshIDToken(ctx context.Context, s *session, client *logto.LogtoClient) (logto.IdTokenClaims, error) {
	if _, err := client.WithStorage(hideDefaultToken(s)).GetAccessToken(ctx, ""); err != nil {
		return logto.IdTokenClaims{}, err
	}
	return client.GetIdTokenClaims(ctx)
}

// withoutDefaultToken is a session whose access-token cache (the JSON map
// of logto.StorageKeyAccessTokens) reads without its "" entry while that
// entry holds the token hidden, the one the session held when the refresh
// began: a token another instance stored meanwhile (in a shared store,
// reloaded under the refresh lock) shows, and is used instead of
// refreshing again.
type withoutDefaultToken struct {
	*session
	hidden string
}

// hideDefaultToken returns the view of s that refreshIDToken refreshes
// through: a withoutDefaultToken, which offers the refresh lock of a shared
// store like s.storage does.
func hideDefaultToken(s *session) logto.Storage {
	raw, _ := s.Get(context.Background(), logto.StorageKeyAccessTokens)
	m, _ := decodeTokenMap(raw)
	v := withoutDefaultToken{session: s, hidden: tokenOf(m[""])}
	if s.sharedStore() != nil {
		return sharedWithoutDefault{v}
	}
	return v
}

// Get implements logto.Storage.
func (v withoutDefaultToken) Get(ctx context.Context, key string) (string, error) {
	raw, err := v.session.Get(ctx, key)
	if err != nil || key != logto.StorageKeyAccessTokens {
		return raw, err
	}
	m, ok := decodeTokenMap(raw)
	if e, has := m[""]; !ok || !has || tokenOf(e) != v.hidden {
		return raw, nil
	}
	delete(m, "")
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// unauthenticated answers a signed-out request: a redirect to sign-in or
// 401.
func (h *Handler) unauthenticated(w http.ResponseWriter, r *http.Request, opts AuthOptions) {
	noStore(w)
	if !opts.Redirect {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(errNotAuthenticatedMsg))
		return
	}
	loc := h.local(h.signIn)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if rt := r.URL.RequestURI(); safeReturnTo(rt) && rt != h.returnTo {
			loc += "?" + returnToParam + "=" + url.QueryEscape(rt)
		}
	}
	http.Redirect(w, r, loc, http.StatusFound)
}

// IdTokenClaims returns the ID token claims RequireAuth put in ctx. Their
// slices and maps are shared with the client's cache: treat them as
// read-only.
func IdTokenClaims(ctx context.Context) (logto.IdTokenClaims, bool) {
	for s, _ := ctx.Value(sessionKey{}).(*session); s != nil; s = s.parent {
		if s.auth.hasClaims {
			return s.auth.claims, true
		}
	}
	return logto.IdTokenClaims{}, false
}

// UserInfo returns the user info RequireAuth fetched (with FetchUserInfo)
// and put in ctx.
func UserInfo(ctx context.Context) (logto.UserInfo, bool) {
	for s, _ := ctx.Value(sessionKey{}).(*session); s != nil; s = s.parent {
		if s.auth.info != nil {
			return *s.auth.info, true
		}
	}
	return logto.UserInfo{}, false
}

// ContextWithIdTokenClaims returns a copy of ctx in which IdTokenClaims
// finds claims: handy to test handlers that sit behind RequireAuth.
func ContextWithIdTokenClaims(ctx context.Context, claims logto.IdTokenClaims) context.Context {
	parent, _ := ctx.Value(sessionKey{}).(*session)
	return context.WithValue(ctx, sessionKey{}, &session{parent: parent, auth: authInfo{claims: claims, hasClaims: true}})
}

// ContextWithUserInfo returns a copy of ctx in which UserInfo finds info.
func ContextWithUserInfo(ctx context.Context, info logto.UserInfo) context.Context {
	parent, _ := ctx.Value(sessionKey{}).(*session)
	return context.WithValue(ctx, sessionKey{}, &session{parent: parent, auth: authInfo{info: &info}})
}
