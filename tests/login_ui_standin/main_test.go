package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fake plays Kratos (public and admin) and Hydra's admin API in one server, recording calls.
type fake struct {
	mu          sync.Mutex
	consent     map[string]any   // Hydra's consent request for challenge "chal"
	accepted    []map[string]any // bodies of consent accepts
	rejected    []map[string]any // bodies of consent rejects
	logouts     []string         // logout accept/reject paths called
	flowStatus  int
	flow        map[string]any
	flowHeaders http.Header // headers of the last flow fetch
	whoami      int
	srv         *httptest.Server
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newFake(t *testing.T) *fake {
	f := &fake{flowStatus: 200, whoami: 200, consent: map[string]any{
		"challenge": "chal", "subject": "id-1", "skip": false,
		"requested_scope":                 []string{"openid", "email", "profile", "offline_access"},
		"requested_access_token_audience": []string{"https://api.test"},
		"client":                          map[string]any{"client_id": "some-app", "client_name": "Some <App>"},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/oauth2/auth/requests/consent", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("consent_challenge") != "chal" {
			writeJSON(w, 404, map[string]any{"error": "Not Found", "error_description": "Unable to locate the resource"})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, 200, f.consent)
	})
	record := func(list *[]map[string]any, to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			if r.URL.Query().Get("consent_challenge") != "chal" || json.NewDecoder(r.Body).Decode(&body) != nil {
				writeJSON(w, 400, map[string]any{"error": "bad request"})
				return
			}
			f.mu.Lock()
			*list = append(*list, body)
			f.mu.Unlock()
			writeJSON(w, 200, map[string]any{"redirect_to": to})
		}
	}
	mux.HandleFunc("PUT /admin/oauth2/auth/requests/consent/accept", record(&f.accepted, "http://hydra.test/after-consent"))
	mux.HandleFunc("PUT /admin/oauth2/auth/requests/consent/reject", record(&f.rejected, "http://hydra.test/after-reject"))
	mux.HandleFunc("PUT /admin/oauth2/auth/requests/logout/{what}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.logouts = append(f.logouts, r.PathValue("what")+"="+r.URL.Query().Get("logout_challenge"))
		f.mu.Unlock()
		if r.PathValue("what") == "reject" {
			w.WriteHeader(204)
			return
		}
		writeJSON(w, 200, map[string]any{"redirect_to": "http://hydra.test/after-logout"})
	})
	mux.HandleFunc("GET /admin/identities/id-1", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": "id-1",
			"traits":               map[string]any{"email": "alice@example.com", "name": map[string]any{"first": "Alice", "last": "Liddell"}},
			"verifiable_addresses": []any{map[string]any{"value": "alice@example.com", "verified": true, "via": "email"}}})
	})
	mux.HandleFunc("GET /self-service/login/flows", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.flowHeaders = r.Header.Clone()
		http.SetCookie(w, &http.Cookie{Name: "kratos_leak", Value: "x"})
		if f.flowStatus != 200 {
			writeJSON(w, f.flowStatus, map[string]any{"error": map[string]any{"code": f.flowStatus}})
			return
		}
		writeJSON(w, 200, f.flow)
	})
	mux.HandleFunc("GET /sessions/whoami", func(w http.ResponseWriter, r *http.Request) {
		if f.whoami != 200 {
			writeJSON(w, f.whoami, map[string]any{"error": map[string]any{"code": f.whoami}})
			return
		}
		writeJSON(w, 200, map[string]any{"identity": map[string]any{"id": "id-1", "traits": map[string]any{"email": "alice@example.com"}}})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) ui(t *testing.T, change map[string]string) http.Handler {
	env := map[string]string{
		"KRATOS_PUBLIC_URL": f.srv.URL, "KRATOS_BROWSER_URL": "http://kratos.browser.test/",
		"KRATOS_ADMIN_URL": f.srv.URL, "HYDRA_ADMIN_URL": f.srv.URL, "CSRF_COOKIE_NAME": "ui_csrf",
		"CSRF_COOKIE_SECRET": "not-a-real-secret", "TRUSTED_CLIENT_IDS": "trusted-app, another",
	}
	for k, v := range change {
		env[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return newHandler(cfg)
}

func do(h http.Handler, method, target string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func cookieOf(t *testing.T, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie set; headers %v", name, rec.Header())
	return nil
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)

// consentForm opens the consent page and returns its CSRF cookie and form token.
func consentForm(t *testing.T, h http.Handler) (*http.Cookie, string) {
	rec := do(h, "GET", "/consent?consent_challenge=chal", nil)
	if rec.Code != 200 {
		t.Fatalf("consent page: %d %s", rec.Code, rec.Body)
	}
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("no _csrf field in %s", rec.Body)
	}
	return cookieOf(t, rec, "ui_csrf"), m[1]
}

func TestConsentSkipsThePageForTrustedOrSkippingClients(t *testing.T) {
	cases := map[string]func(c map[string]any){
		"trusted client": func(c map[string]any) { c["client"] = map[string]any{"client_id": "trusted-app"} },
		"skip":           func(c map[string]any) { c["skip"] = true },
		"skip_consent":   func(c map[string]any) { c["client"] = map[string]any{"client_id": "x", "skip_consent": true} },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFake(t)
			change(f.consent)
			rec := do(f.ui(t, nil), "GET", "/consent?consent_challenge=chal", nil)
			if rec.Code != 303 || rec.Header().Get("Location") != "http://hydra.test/after-consent" {
				t.Fatalf("want 303 to Hydra, got %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
			}
			if len(f.accepted) != 1 {
				t.Fatalf("want one accept, got %v", f.accepted)
			}
			got, _ := json.Marshal(f.accepted[0]["grant_scope"])
			if string(got) != `["openid","email","profile","offline_access"]` {
				t.Errorf("grant_scope %s, want the requested scopes", got)
			}
		})
	}
}

func TestConsentPageForUntrustedClient(t *testing.T) {
	f := newFake(t)
	rec := do(f.ui(t, nil), "GET", "/consent?consent_challenge=chal", nil)
	body := rec.Body.String()
	if rec.Code != 200 || len(f.accepted) != 0 {
		t.Fatalf("want a page and no accept, got %d, accepts %v", rec.Code, f.accepted)
	}
	for _, want := range []string{
		`<button type="submit" name="consent_action" value="accept" id="accept">Allow</button>`,
		`<button type="submit" name="consent_action" value="reject" id="reject">Deny</button>`,
		`id="scope-openid" name="grant_scope" value="openid" checked`,
		`id="scope-offline_access" name="grant_scope" value="offline_access" checked`,
		`name="consent_challenge" value="chal"`, `name="remember"`, `Some &lt;App&gt;`, "<title>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	c := cookieOf(t, rec, "ui_csrf")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || len(c.Value) != 64 {
		t.Errorf("CSRF cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/ and a random value", c)
	}
	rec = do(f.ui(t, map[string]string{"DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES": "true"}), "GET", "/consent?consent_challenge=chal", nil)
	if c := cookieOf(t, rec, "ui_csrf"); c.Secure {
		t.Errorf("DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES=true: the cookie is still Secure")
	}
}

func TestConsentPostWithBadCSRFIsRefused(t *testing.T) {
	f := newFake(t)
	h := f.ui(t, nil)
	cookie, token := consentForm(t, h)
	form := func(tok string) url.Values {
		return url.Values{"_csrf": {tok}, "consent_challenge": {"chal"}, "consent_action": {"accept"}, "grant_scope": {"openid"}}
	}
	other := &http.Cookie{Name: "ui_csrf", Value: strings.Repeat("0", 64)}
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"wrong token":        do(h, "POST", "/consent", form("deadbeef"), cookie),
		"no token":           do(h, "POST", "/consent", form(""), cookie),
		"no cookie":          do(h, "POST", "/consent", form(token)),
		"another cookie":     do(h, "POST", "/consent", form(token), other),
		"token from a query": do(h, "POST", "/consent?_csrf="+token, url.Values{"consent_challenge": {"chal"}, "consent_action": {"accept"}}, cookie),
	} {
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), "invalid CSRF token") {
			t.Errorf("%s: want 403 invalid CSRF token, got %d %s", name, rec.Code, rec.Body)
		}
	}
	if len(f.accepted) != 0 || len(f.rejected) != 0 {
		t.Fatalf("Hydra was called despite a bad CSRF token: %v %v", f.accepted, f.rejected)
	}
}

func TestConsentAcceptSendsScopesAndClaims(t *testing.T) {
	f := newFake(t)
	h := f.ui(t, map[string]string{"REMEMBER_CONSENT_SESSION_FOR_SECONDS": "120"})
	cookie, token := consentForm(t, h)
	rec := do(h, "POST", "/consent", url.Values{"_csrf": {token}, "consent_challenge": {"chal"}, "consent_action": {"accept"},
		"grant_scope": {"openid", "email", "profile", "admin"}, "remember": {"true"}}, cookie)
	if rec.Code != 303 || rec.Header().Get("Location") != "http://hydra.test/after-consent" {
		t.Fatalf("want 303 to Hydra, got %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if len(f.accepted) != 1 {
		t.Fatalf("want one accept, got %v", f.accepted)
	}
	got, _ := json.Marshal(f.accepted[0])
	want := `{"grant_access_token_audience":["https://api.test"],"grant_scope":["openid","email","profile"],` +
		`"remember":true,"remember_for":120,"session":{"id_token":{"email":"alice@example.com","email_verified":true,"name":"Alice Liddell"}}}`
	if string(got) != want {
		t.Errorf("accept body\n got %s\nwant %s", got, want)
	}
}

func TestConsentReject(t *testing.T) {
	f := newFake(t)
	h := f.ui(t, nil)
	cookie, token := consentForm(t, h)
	rec := do(h, "POST", "/consent", url.Values{"_csrf": {token}, "consent_challenge": {"chal"}, "consent_action": {"reject"}}, cookie)
	if rec.Code != 303 || rec.Header().Get("Location") != "http://hydra.test/after-reject" || len(f.accepted) != 0 {
		t.Fatalf("want 303 to Hydra and no accept, got %d %q, accepts %v", rec.Code, rec.Header().Get("Location"), f.accepted)
	}
	if len(f.rejected) != 1 || f.rejected[0]["error"] != "access_denied" {
		t.Errorf("reject body %v", f.rejected)
	}
}

func TestUpstreamErrorIsA502WithItsBody(t *testing.T) {
	f := newFake(t)
	rec := do(f.ui(t, nil), "GET", "/consent?consent_challenge=unknown", nil)
	if rec.Code != 502 || !strings.Contains(rec.Body.String(), "Unable to locate the resource") ||
		!strings.Contains(rec.Body.String(), "status 404") || strings.Contains(rec.Body.String(), "not-a-real-secret") {
		t.Errorf("want a 502 page with Hydra's 404 error and no secret, got %d %s", rec.Code, rec.Body)
	}
}

func TestHydraRoutesNeedAllThreeSettings(t *testing.T) {
	f := newFake(t)
	for _, unset := range []string{"HYDRA_ADMIN_URL", "CSRF_COOKIE_NAME", "CSRF_COOKIE_SECRET"} {
		h := f.ui(t, map[string]string{unset: ""})
		if rec := do(h, "GET", "/consent?consent_challenge=chal", nil); rec.Code != 404 {
			t.Errorf("without %s: GET /consent answered %d", unset, rec.Code)
		}
		if rec := do(h, "POST", "/logout", url.Values{}); rec.Code < 400 {
			t.Errorf("without %s: POST /logout answered %d", unset, rec.Code)
		}
	}
	if len(f.accepted) != 0 {
		t.Fatalf("Hydra was called: %v", f.accepted)
	}
}

func TestLoginWithoutFlowRedirectsToKratos(t *testing.T) {
	f := newFake(t)
	h := f.ui(t, nil)
	rec := do(h, "GET", "/login?login_challenge=abc&return_to=http%3A%2F%2Fapp.test%2Fcb&aal=aal1&junk=1", nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != 303 || loc == nil || loc.Host != "kratos.browser.test" || loc.Path != "/self-service/login/browser" {
		t.Fatalf("want 303 to Kratos's browser URL, got %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if q := loc.Query(); q.Get("login_challenge") != "abc" || q.Get("return_to") != "http://app.test/cb" ||
		q.Get("aal") != "aal1" || q.Has("junk") || q.Has("refresh") {
		t.Errorf("query %v", q)
	}
	rec = do(h, "GET", "/registration?return_to=http%3A%2F%2Fapp.test%2F", nil)
	if got := rec.Header().Get("Location"); rec.Code != 303 ||
		got != "http://kratos.browser.test/self-service/registration/browser?return_to=http%3A%2F%2Fapp.test%2F" {
		t.Errorf("registration: %d %q", rec.Code, got)
	}
}

func TestLoginRendersTheFlow(t *testing.T) {
	f := newFake(t)
	input := func(group, name, typ string, value any, label string) map[string]any {
		n := map[string]any{"type": "input", "group": group, "messages": []any{},
			"attributes": map[string]any{"name": name, "type": typ, "value": value, "required": typ != "hidden", "disabled": false, "node_type": "input"}}
		if label != "" {
			n["meta"] = map[string]any{"label": map[string]any{"id": 1, "text": label}}
		}
		return n
	}
	identifier := input("default", "identifier", "text", "", "E-Mail")
	identifier["messages"] = []any{map[string]any{"id": 4000002, "text": "Property identifier is missing.", "type": "error"}}
	f.flow = map[string]any{"id": "flow-1", "oauth2_login_challenge": "from-flow", "ui": map[string]any{
		"action": "http://kratos.browser.test/self-service/login?flow=flow-1", "method": "POST",
		"messages": []any{map[string]any{"id": 4000006, "text": "The provided credentials are invalid", "type": "error"}},
		"nodes": []any{input("default", "csrf_token", "hidden", "tok<en>", ""), identifier,
			input("password", "password", "password", nil, "Password"),
			input("password", "method", "submit", "password", "Sign in"),
			input("oidc", "provider", "submit", "github", "Sign in with GitHub"),
			input("profile", "screen", "submit", "previous", "Back")},
	}}
	rec := do(f.ui(t, nil), "GET", "/login?flow=flow-1", nil, &http.Cookie{Name: "csrf_token_abc", Value: "kratos"})
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, body)
	}
	if f.flowHeaders.Get("Cookie") != "csrf_token_abc=kratos" || f.flowHeaders.Get("Accept") != "application/json" {
		t.Errorf("flow fetch headers %v: want the browser's cookie and Accept: application/json", f.flowHeaders)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("Kratos's Set-Cookie was forwarded: %v", rec.Result().Cookies())
	}
	for _, want := range []string{
		`action="http://kratos.browser.test/self-service/login?flow=flow-1" method="POST"`,
		`<input type="hidden" id="csrf_token" name="csrf_token" value="tok&lt;en&gt;">`,
		`<input id="identifier" name="identifier" type="text" value="" required>`,
		`<input id="password" name="password" type="password" value="" required>`,
		`<button type="submit" id="submit-password" name="method" value="password">Sign in</button>`,
		`<button type="submit" id="submit-previous" name="screen" value="previous">Back</button>`,
		`id="messages"`, "The provided credentials are invalid", "Property identifier is missing.",
		`id="registration-link" href="/registration?login_challenge=from-flow"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "github") {
		t.Errorf("the oidc group was rendered:\n%s", body)
	}
}

func TestLoginGoneFlowStartsAnew(t *testing.T) {
	f := newFake(t)
	f.flowStatus = 410
	rec := do(f.ui(t, nil), "GET", "/login?flow=old&login_challenge=abc", nil)
	if got := rec.Header().Get("Location"); rec.Code != 303 || got != "http://kratos.browser.test/self-service/login/browser?login_challenge=abc" {
		t.Errorf("want a new flow, got %d %q", rec.Code, got)
	}
}

func TestLogout(t *testing.T) {
	f := newFake(t)
	h := f.ui(t, nil)
	rec := do(h, "GET", "/logout?logout_challenge=lc", nil)
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil || !strings.Contains(rec.Body.String(), `id="logout-accept"`) || !strings.Contains(rec.Body.String(), "Do you want to log out?") {
		t.Fatalf("logout page: %d %s", rec.Code, rec.Body)
	}
	cookie := cookieOf(t, rec, "ui_csrf")
	rec = do(h, "POST", "/logout", url.Values{"_csrf": {m[1]}, "logout_challenge": {"lc"}, "logout_action": {"accept"}}, cookie)
	if rec.Code != 303 || rec.Header().Get("Location") != "http://hydra.test/after-logout" {
		t.Errorf("accept: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = do(h, "POST", "/logout", url.Values{"_csrf": {m[1]}, "logout_challenge": {"lc"}, "logout_action": {"reject"}}, cookie)
	if rec.Code != 303 || rec.Header().Get("Location") != "/" {
		t.Errorf("reject: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec = do(h, "POST", "/logout", url.Values{"_csrf": {"bad"}, "logout_challenge": {"lc"}, "logout_action": {"accept"}}, cookie); rec.Code != 403 {
		t.Errorf("bad CSRF: %d", rec.Code)
	}
	if strings.Join(f.logouts, " ") != "accept=lc reject=lc" {
		t.Errorf("Hydra logout calls %v", f.logouts)
	}
}

func TestWelcomeAndHealth(t *testing.T) {
	f := newFake(t)
	h := f.ui(t, nil)
	if rec := do(h, "GET", "/", nil); !strings.Contains(rec.Body.String(), `<p id="session">Signed in as alice@example.com</p>`) {
		t.Errorf("signed in: %s", rec.Body)
	}
	f.whoami = 401
	if rec := do(h, "GET", "/welcome", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="login-link" href="/login"`) {
		t.Errorf("signed out: %d %s", rec.Code, rec.Body)
	}
	for _, p := range []string{"/health/alive", "/health/ready"} {
		if rec := do(h, "GET", p, nil); rec.Code != 200 || rec.Body.String() != `{"status":"ok"}` {
			t.Errorf("%s: %d %s", p, rec.Code, rec.Body)
		}
	}
}

func TestConfig(t *testing.T) {
	if _, err := loadConfig(func(string) string { return "" }); err == nil || err.Error() != "KRATOS_PUBLIC_URL is not set" {
		t.Errorf("without KRATOS_PUBLIC_URL: %v", err)
	}
	env := map[string]string{"KRATOS_PUBLIC_URL": "http://kratos:4433/", "TRUSTED_CLIENT_IDS": " a, ,b "}
	c, err := loadConfig(func(k string) string { return env[k] })
	if err != nil || c.port != "3000" || c.kratosBrowser != "http://kratos:4433" || len(c.trusted) != 2 ||
		!c.trusted["a"] || !c.trusted["b"] || c.rememberFor != 3600 || !c.secureCookie || c.hydraOn() {
		t.Errorf("defaults: %+v %v", c, err)
	}
	env["REMEMBER_CONSENT_SESSION_FOR_SECONDS"] = "soon"
	if _, err := loadConfig(func(k string) string { return env[k] }); err == nil {
		t.Error("a bad REMEMBER_CONSENT_SESSION_FOR_SECONDS was accepted")
	}
}
