package main

import (
	"bytes"
	"html/template"
	"log"
	"net/http"
)

// The pages: minimal, with stable element ids for tests. html/template escapes everything.
var pages = template.Must(template.New("pages").Parse(`
{{define "top"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} - login UI stand-in</title></head>
<body>
<p id="standin">A login UI stand-in written for the tests, not Ory's UI.</p>
<h1 id="title">{{.Title}}</h1>
{{end}}

{{define "bottom"}}</body></html>
{{end}}

{{define "flow"}}{{template "top" .}}<ul id="messages">{{range .Messages}}
<li data-id="{{.ID}}" data-type="{{.Type}}">{{.Text}}</li>{{end}}
</ul>
<form id="{{.Kind}}-form" action="{{.Action}}" method="{{.Method}}">{{range .Fields}}
{{if .Submit}}<button type="submit" id="{{.ID}}" name="{{.Name}}" value="{{.Value}}"{{if .Disabled}} disabled{{end}}>{{.Label}}</button>
{{- else if eq .Type "hidden"}}<input type="hidden" id="{{.ID}}" name="{{.Name}}" value="{{.Value}}">
{{- else}}<p><label for="{{.ID}}">{{.Label}}</label>
<input id="{{.ID}}" name="{{.Name}}" type="{{.Type}}" value="{{.Value}}"{{if .Required}} required{{end}}{{if .Disabled}} disabled{{end}}></p>
{{- end}}{{end}}
</form>
<p><a id="{{.OtherID}}" href="{{.OtherHref}}">{{.OtherText}}</a></p>
{{template "bottom" .}}{{end}}

{{define "consent"}}{{template "top" .}}<p id="client">The application <strong id="client-name">{{.ClientName}}</strong>
(<code id="client-id">{{.ClientID}}</code>) asks for access{{if .Subject}} on behalf of <span id="subject">{{.Subject}}</span>{{end}}.</p>
<form id="consent-form" action="/consent" method="post">
<input type="hidden" id="csrf" name="_csrf" value="{{.CSRF}}">
<input type="hidden" id="consent_challenge" name="consent_challenge" value="{{.Challenge}}">
<ul id="scopes">{{range .Scopes}}
<li><label><input type="checkbox" id="scope-{{.}}" name="grant_scope" value="{{.}}" checked> {{.}}</label></li>{{end}}
</ul>
<p><label><input type="checkbox" id="remember" name="remember" value="true"> Remember this decision</label></p>
<button type="submit" name="consent_action" value="accept" id="accept">Allow</button>
<button type="submit" name="consent_action" value="reject" id="reject">Deny</button>
</form>
{{template "bottom" .}}{{end}}

{{define "logout"}}{{template "top" .}}<form id="logout-form" action="/logout" method="post">
<input type="hidden" id="csrf" name="_csrf" value="{{.CSRF}}">
<input type="hidden" id="logout_challenge" name="logout_challenge" value="{{.Challenge}}">
<button type="submit" name="logout_action" value="accept" id="logout-accept">Yes, log out</button>
<button type="submit" name="logout_action" value="reject" id="logout-reject">No</button>
</form>
{{template "bottom" .}}{{end}}

{{define "welcome"}}{{template "top" .}}{{if .Who}}<p id="session">Signed in as {{.Who}}</p>
<p><a id="logout-link" href="/logout">Sign out</a></p>
{{- else}}<p id="no-session">Not signed in. <a id="login-link" href="/login">Sign in</a>
or <a id="registration-link" href="/registration">sign up</a>.</p>{{end}}
{{template "bottom" .}}{{end}}

{{define "error"}}{{template "top" .}}<pre id="error">{{.Body}}</pre>
{{template "bottom" .}}{{end}}

{{define "message"}}{{template "top" .}}<p id="error">{{.Message}}</p>
{{template "bottom" .}}{{end}}

{{define "upstream"}}{{template "top" .}}<p id="error">{{.What}} answered {{if .Status}}status {{.Status}}{{else}}nothing{{end}}.</p>
<pre id="upstream">{{.Body}}</pre>
{{template "bottom" .}}{{end}}
`))

func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		log.Printf("page %s: %v", name, err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
