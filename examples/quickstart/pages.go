package main

import (
	"bytes"
	"html/template"
	"net/http"
)

// The data of each page.
type (
	homeData struct {
		SignedIn         bool
		Name             string
		HasOrganizations bool
		HasAPI           bool
		DemoUser         string // the embedded provider's user, "" with a real Logto
	}
	userInfoData struct {
		Rows []row
		JSON string
	}
	apiData struct {
		URL, Resource string
		Called, OK    bool
		Status        string
		Body          string
		Challenge     string // WWW-Authenticate of a refusal
		Problem       string // why the API could not be called
	}
)

// render writes the page with status 200.
func render(w http.ResponseWriter, page *template.Template, data any) {
	renderStatus(w, http.StatusOK, page, data)
}

// renderStatus writes the page whole, or a plain error if the template
// fails, never half a page.
func renderStatus(w http.ResponseWriter, status int, page *template.Template, data any) {
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Logto Go quickstart</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
th { text-align: left; padding-right: 1.5rem; vertical-align: top; font-weight: 600; }
td { vertical-align: top; }
pre { background: #f4f4f4; padding: .75rem; overflow-x: auto; }
.hint { color: #555; }
</style>
</head>
<body>
<h1><a href="/">Logto Go quickstart</a></h1>
{{template "content" .}}
</body>
</html>
`

// page returns the layout around content.
func page(content string) *template.Template {
	t := template.Must(template.New("layout").Parse(layout))
	template.Must(t.New("content").Parse(content))
	return t
}

var homePage = page(`{{if .SignedIn}}
<p id="greeting">Signed in as {{.Name}}</p>
<ul>
  <li><a id="userinfo" href="/protected/userinfo">User info</a></li>
  {{- if .HasOrganizations}}
  <li><a id="organizations" href="/protected/organizations">Organizations</a></li>
  {{- end}}
  {{- if .HasAPI}}
  <li><a id="call-api" href="/protected/api">Call the API</a></li>
  {{- end}}
</ul>
<p><a id="sign-out" href="/sign-out">Sign out</a></p>
{{- else}}
<p>You are not signed in.</p>
<p><a id="sign-in" href="/sign-in">Sign in</a> or <a id="sign-up" href="/sign-in?interaction_mode=signUp">Sign up</a></p>
{{- if .DemoUser}}
<p class="hint" id="demo-hint">This quickstart runs an embedded test Logto: sign in with the username <strong>{{.DemoUser}}</strong> (no password).</p>
{{- end}}
{{- end}}
`)

var userInfoPage = page(`<h2>User info</h2>
<p class="hint">What Logto's user info endpoint says about you.</p>
<table id="claims">
{{- range .Rows}}
<tr id="claim-{{.Key}}"><th>{{.Label}}</th><td>{{.Value}}</td></tr>
{{- end}}
</table>
<details id="raw">
<summary>Raw JSON</summary>
<pre id="userinfo">{{.JSON}}</pre>
</details>
`)

var organizationsPage = page(`<h2>Organizations</h2>
{{- if .}}
<ul id="organizations">
{{- range .}}
<li id="org-{{.ID}}"><strong>{{if .Name}}{{.Name}}{{else}}{{.ID}}{{end}}</strong>
  <table>
    {{- if .Name}}<tr><th>ID</th><td>{{.ID}}</td></tr>{{end}}
    <tr><th>Your roles</th><td>{{range $i, $r := .Roles}}{{if $i}}, {{end}}{{$r}}{{else}}none{{end}}</td></tr>
    <tr><th>Organization token permissions</th><td>{{range $i, $s := .Permissions}}{{if $i}}, {{end}}{{$s}}{{else}}none{{end}}</td></tr>
  </table>
</li>
{{- end}}
</ul>
{{- else}}
<p id="no-organizations">You are not a member of any organization.</p>
{{- end}}
`)

var apiPage = page(`<h2>Call the API</h2>
{{- if not .URL}}
<p id="api-missing">No API is configured. Start one with <code>LOGTO_ENDPOINT=&lt;your Logto&gt; API_RESOURCE=&lt;its resource&gt; go run ./examples/api</code>,
then restart the quickstart with <code>API_URL=http://127.0.0.1:3002</code> and the resource in <code>LOGTO_RESOURCES</code>.</p>
{{- else if .Problem}}
<p id="api-status">{{.Problem}}</p>
{{- else}}
<p>GET <code>{{.URL}}</code> with your access token for <code>{{.Resource}}</code>:</p>
<p id="api-status">{{if .OK}}The API answered {{.Status}}.{{else}}The API refused the call: {{.Status}}.{{end}}</p>
{{- if .Challenge}}
<p id="api-challenge">Reason: <code>{{.Challenge}}</code></p>
{{- end}}
<pre id="api-body">{{.Body}}</pre>
{{- end}}
`)

var errorPage = page(`<h2>Something went wrong</h2>
<p id="error">{{.}}</p>
<p class="hint">The details are in the quickstart's log. <a href="/">Back to the home page</a></p>
`)
