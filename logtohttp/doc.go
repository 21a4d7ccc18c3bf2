// Package logtohttp signs users of net/http applications in with Logto.
//
// It builds on one shared *logto.LogtoClient and adds what a web
// application needs around it:
//
//   - handlers for sign-in, the callback and sign-out ([Handler.SignIn],
//     [Handler.Callback], [Handler.SignOut], or [Handler.Routes] to register
//     all three on a ServeMux);
//   - middleware that lets only signed-in users through and puts their ID
//     token claims (or user info) in the request context
//     ([Handler.RequireAuth], [IdTokenClaims], [UserInfo]), the equivalent of
//     the Python SDK's @authenticated decorator;
//   - per-browser sessions, behind the core logto.Storage interface: the
//     whole session encrypted in cookies ([NewCookieSessions]) or a session
//     id in a cookie and the data in a [SessionStore]
//     ([NewServerSessions], [NewMemorySessionStore]);
//   - a per-request client, [Handler.Client], bound to the request's
//     session.
//
// # Setup
//
//	client, err := logto.NewLogtoClient(logto.LogtoConfig{
//		Endpoint:  "https://my-tenant.logto.app",
//		AppId:     os.Getenv("LOGTO_APP_ID"),
//		AppSecret: os.Getenv("LOGTO_APP_SECRET"),
//	}, nil)
//	sessions, err := logtohttp.NewCookieSessions(logtohttp.CookieOptions{
//		Keys: [][]byte{key}, // 32 random bytes, kept secret
//	})
//	auth, err := logtohttp.New(logtohttp.Config{
//		Client:   client,
//		Sessions: sessions,
//		BaseURL:  "https://app.example.com", // redirect URI: BaseURL + "/callback"
//	})
//	mux := http.NewServeMux()
//	auth.Routes(mux) // /sign-in, /callback, /sign-out
//	mux.Handle("/dashboard", auth.RequireAuth(logtohttp.AuthOptions{Redirect: true})(dashboard))
//	http.ListenAndServe(":3000", auth.Sessions(mux))
//
// Register BaseURL + "/callback" as a redirect URI and BaseURL + "/" as a
// post sign-out redirect URI of the application in the Logto Console.
//
// # Sessions
//
// A session is the small set of values the SDK keeps per browser (ID
// token, refresh token, access-token cache, pending sign-ins). It is
// loaded on first use in a request and written back, once, just before the
// response headers are sent, and only if it changed: a request of a
// signed-in user whose tokens are fresh sends no Set-Cookie and no request
// to Logto. Install [Handler.Sessions] around your router so that every
// handler's changes (a refreshed token) are saved; write the response after
// the calls that may refresh tokens, as changes made once the body started
// cannot reach the browser (they are logged).
//
// Cookie sessions need no server state. They are sealed with AES-GCM
// (keys given by the application, with rotation), compressed, and split
// into cookies of less than 4 KB each, within a budget of 6 KB for all of
// them (CookieOptions.MaxBytes): a session with many API and organization
// tokens drops the cached access tokens it obtained least recently (they
// are fetched again when needed), never the ID and refresh tokens, and a
// session that still does not fit is reported to Config.OnSessionError
// (ErrSessionTooLarge). Cookies are HttpOnly, SameSite=Lax, Path=/ and
// Secure, with the __Host- name prefix (except for http://localhost during
// development). A cookie that was tampered with, truncated, expired,
// sealed with an unknown key, or ended by [CookieSessions.EndUserSessions]
// (a back-channel logout hook) reads as signed out, and is cleared.
//
// Server sessions keep the data in a [SessionStore] (memory, or your Redis
// or SQL implementation) under a random 256-bit id; the id is renewed at
// sign-in and the session deleted at sign-out. Pending sign-ins stay out
// of the store, in a short-lived sealed cookie, so that anonymous visitors
// cannot fill it.
//
// Every response that writes or clears a session cookie is sent with
// Cache-Control: no-store and Vary: Cookie.
//
// # Signed-in requests
//
// [Handler.RequireAuth] lets a request through without asking Logto while
// the stored ID token is valid (an hour with Logto's defaults); once it
// has expired, it refreshes first, so that a session Logto ended (or a
// copied cookie whose refresh token was revoked) is signed out.
//
// # Errors
//
// Failures of the handlers are logged to Config.Logger with their cause,
// and shown to the user as a short message ([Error]); Config.ErrorHandler
// renders the application's own page instead.
//
// # Redirects
//
// The sign-in handler accepts a return_to query parameter: the path to
// land on after sign-in. Only same-origin paths are accepted; everything
// else (other origins, "//host", "/\host", schemes, encoded slashes,
// control characters) falls back to Config.DefaultReturnTo, so the handler
// cannot be used as an open redirect. The callback URL is built from
// Config.BaseURL; Host and X-Forwarded-* headers are used only with
// Config.TrustForwardedHeaders.
package logtohttp
