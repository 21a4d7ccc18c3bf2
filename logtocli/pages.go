package logtocli

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/gologto/logto"
)

// page is what the browser shows at the end of a loopback sign-in.
type page struct {
	Title   string
	Message string
	OK      bool
}

// resultPage is the page for the outcome err of the sign-in of app. It
// never shows an error chain: only a sentence, and the OAuth error code
// (a token of letters and underscores) when Logto sent one.
func resultPage(app string, err error) page {
	if app == "" {
		app = "the application"
	}
	if err == nil {
		return page{OK: true, Title: "Signed in", Message: "You are signed in. You can close this window and return to " + app + "."}
	}
	var oe *logto.OAuthError
	switch {
	case errors.As(err, &oe) && oe.Code == "access_denied":
		return page{Title: "Sign-in cancelled", Message: "The sign-in was cancelled or denied. Return to " + app + " to try again."}
	case errors.As(err, &oe) && oe.Endpoint == "callback":
		return page{Title: "Sign-in failed", Message: "Logto refused the sign-in (" + safeCode(oe.Code) + "). Return to " + app + " for details."}
	case errors.Is(err, logto.ErrSignInSessionNotFound):
		return page{Title: "Sign-in not recognised", Message: "This page does not belong to the sign-in " + app + " is waiting for (it may come from an old window). Start the sign-in again from " + app + "."}
	}
	return page{Title: "Sign-in failed", Message: "The sign-in could not be completed. Return to " + app + " for details."}
}

// safeCode keeps an error code to the characters OAuth codes use.
func safeCode(code string) string {
	out := make([]byte, 0, len(code))
	for i := 0; i < len(code) && len(out) < 64; i++ {
		c := code[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "unknown error"
	}
	return string(out)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; display: flex; min-height: 90vh; align-items: center; justify-content: center; margin: 0; background: #f6f6f8; color: #1f1f24; }
main { max-width: 30rem; padding: 2rem; background: #fff; border-radius: 12px; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
h1 { font-size: 1.4rem; margin-top: 0; color: {{if .OK}}#1a7f37{{else}}#b42318{{end}}; }
p { line-height: 1.5; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
</main>
</body>
</html>
`))

// writePage answers the browser with p: no caching, no referrer (the URL
// held the authorization code), nothing loaded from elsewhere.
func writePage(w http.ResponseWriter, status int, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, p)
}
