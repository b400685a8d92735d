// Command login-ui-standin is a login UI stand-in written for the tests, not Ory's UI: it
// plays the part of oryd/kratos-selfservice-ui-node (which cannot be pulled here) with the
// same environment variables and routes, so that a browser-like test client can register,
// log in and consent through Kratos and Hydra. Written from scratch with the standard library.
//
// Environment: PORT (3000), KRATOS_PUBLIC_URL (required), KRATOS_BROWSER_URL,
// KRATOS_ADMIN_URL, HYDRA_ADMIN_URL, COOKIE_SECRET (accepted, unused: the only cookie this
// stand-in sets is the CSRF one, signed with CSRF_COOKIE_SECRET), CSRF_COOKIE_NAME,
// CSRF_COOKIE_SECRET, DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES, TRUSTED_CLIENT_IDS,
// REMEMBER_CONSENT_SESSION_FOR_SECONDS (3600).
package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const version = "v1" // the image tag is <version>-standin (scripts/prepare-images.sh)

type config struct {
	port, kratosPublic, kratosBrowser, kratosAdmin, hydraAdmin, csrfName, csrfSecret string
	secureCookie                                                                     bool
	trusted                                                                          map[string]bool
	rememberFor                                                                      int
}

// hydraOn: the consent and Hydra logout routes exist only with all three set (as in Ory's UI).
func (c config) hydraOn() bool { return c.hydraAdmin != "" && c.csrfName != "" && c.csrfSecret != "" }

func loadConfig(getenv func(string) string) (config, error) {
	trim := func(k string) string { return strings.TrimRight(strings.TrimSpace(getenv(k)), "/") }
	c := config{port: trim("PORT"), kratosPublic: trim("KRATOS_PUBLIC_URL"), kratosBrowser: trim("KRATOS_BROWSER_URL"),
		kratosAdmin: trim("KRATOS_ADMIN_URL"), hydraAdmin: trim("HYDRA_ADMIN_URL"),
		csrfName: getenv("CSRF_COOKIE_NAME"), csrfSecret: getenv("CSRF_COOKIE_SECRET"),
		secureCookie: getenv("DANGEROUSLY_DISABLE_SECURE_CSRF_COOKIES") != "true",
		trusted:      map[string]bool{}, rememberFor: 3600}
	if c.kratosPublic == "" {
		return c, errors.New("KRATOS_PUBLIC_URL is not set")
	}
	if c.port == "" {
		c.port = "3000"
	}
	if n, err := strconv.Atoi(c.port); err != nil || n < 1 || n > 65535 {
		return c, fmt.Errorf("PORT=%q is not a port number", c.port)
	}
	if c.kratosBrowser == "" {
		c.kratosBrowser = c.kratosPublic
	}
	for _, id := range strings.Split(getenv("TRUSTED_CLIENT_IDS"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.trusted[id] = true
		}
	}
	if v := trim("REMEMBER_CONSENT_SESSION_FOR_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("REMEMBER_CONSENT_SESSION_FOR_SECONDS=%q is not a number of seconds", v)
		}
		c.rememberFor = n
	}
	return c, nil
}

func main() {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "login-ui-standin: "+err.Error())
		os.Exit(2)
	}
	log.SetFlags(0)
	log.SetPrefix("login-ui-standin: ")
	if !cfg.hydraOn() {
		log.Print("consent and Hydra logout routes are off: HYDRA_ADMIN_URL, CSRF_COOKIE_NAME and CSRF_COOKIE_SECRET are not all set")
	}
	log.Printf("%s, a login UI stand-in written for the tests (not Ory's UI), listening on :%s; Kratos public %s, browser %s",
		version, cfg.port, redact(cfg.kratosPublic), redact(cfg.kratosBrowser))
	srv := &http.Server{Addr: ":" + cfg.port, Handler: newHandler(cfg), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// redact drops any password in a URL's user info before it is logged.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

type server struct {
	cfg    config
	client *http.Client
}

func newHandler(cfg config) http.Handler {
	s := &server{cfg: cfg, client: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health/alive", health)
	mux.HandleFunc("GET /health/ready", health)
	mux.Handle("GET /login", s.flow("login", "registration", "login_challenge", "return_to", "refresh", "aal"))
	mux.Handle("GET /registration", s.flow("registration", "login", "login_challenge", "return_to"))
	mux.Handle("GET /error", handler(s.errorPage))
	mux.Handle("GET /{$}", handler(s.welcome))
	mux.Handle("GET /welcome", handler(s.welcome))
	mux.Handle("GET /logout", handler(s.logoutPage))
	if cfg.hydraOn() {
		mux.Handle("GET /consent", handler(s.consentPage))
		mux.Handle("POST /consent", handler(s.consentSubmit))
		mux.Handle("POST /logout", handler(s.logoutSubmit))
	}
	return mux
}

func health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

// handler is a route whose error becomes a page: its own (pageError) or a 502.
type handler func(http.ResponseWriter, *http.Request) error

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		fail(w, err)
	}
}

type pageError struct {
	status      int
	title, text string
}

func (e *pageError) Error() string { return e.text }

func bad(text string) error { return &pageError{http.StatusBadRequest, "Bad request", text} }

// upstreamError is a Kratos or Hydra answer the stand-in cannot go on with.
type upstreamError struct {
	what   string
	status int // 0: no answer
	body   string
}

func (e *upstreamError) Error() string { return fmt.Sprintf("%s: status %d", e.what, e.status) }

func fail(w http.ResponseWriter, err error) {
	var pe *pageError
	if errors.As(err, &pe) {
		render(w, pe.status, "message", struct{ Title, Message string }{pe.title, pe.text})
		return
	}
	var ue *upstreamError
	if !errors.As(err, &ue) {
		ue = &upstreamError{"login UI stand-in", 0, err.Error()}
	}
	log.Printf("upstream failure: %s answered %d", ue.what, ue.status)
	render(w, http.StatusBadGateway, "upstream", struct {
		Title, What, Body string
		Status            int
	}{"Upstream error", ue.what, ue.body, ue.status})
}

func see(w http.ResponseWriter, r *http.Request, to string) error {
	if to == "" {
		return &upstreamError{"Hydra or Kratos", http.StatusOK, "its answer has no URL to go on to"}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// call sends one JSON request upstream, forwarding cookie (when not empty) as the Cookie
// header. Only the status and the body of the answer are used: no header of it (Set-Cookie
// included) reaches the browser. A status outside ok (default 200) is an *upstreamError; a
// status in ok has its JSON body decoded into out.
func (s *server) call(ctx context.Context, what, method, u, cookie string, in, out any, ok ...int) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, &upstreamError{what, 0, err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, &upstreamError{what, 0, err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, &upstreamError{what, resp.StatusCode, err.Error()}
	}
	if len(ok) == 0 {
		ok = []int{http.StatusOK}
	}
	for _, code := range ok {
		if resp.StatusCode == code {
			if out != nil && len(bytes.TrimSpace(raw)) > 0 {
				if err := json.Unmarshal(raw, out); err != nil && code < 300 {
					return code, &upstreamError{what, code, "not JSON: " + err.Error()}
				}
			}
			return code, nil
		}
	}
	return resp.StatusCode, &upstreamError{what, resp.StatusCode, pretty(raw)}
}

func pretty(raw []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") == nil {
		raw = buf.Bytes()
	}
	if len(raw) > 8192 {
		raw = append(raw[:8192:8192], "\n…"...)
	}
	return string(raw)
}

// query makes "?k=v&..." of the pairs whose value is not empty ("" when none is).
func query(pairs ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			v.Set(pairs[i], pairs[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// ---- Kratos's login and registration flows, its errors and sessions -----------------------

type uiMessage struct {
	ID   int64  `json:"id"`
	Text string `json:"text"`
	Type string `json:"type"`
}

type flowDoc struct {
	ReturnTo       string `json:"return_to"`
	LoginChallenge string `json:"oauth2_login_challenge"`
	UI             struct {
		Action, Method string
		Messages       []uiMessage
		Nodes          []struct {
			Type, Group string
			Messages    []uiMessage
			Attributes  struct {
				Name, Type         string
				Value              json.RawMessage
				Required, Disabled bool
			}
			Meta struct{ Label *struct{ Text string } }
		}
	} `json:"ui"`
}

type field struct {
	ID, Name, Type, Value, Label string
	Required, Disabled, Submit   bool
}

func valueText(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// flow serves /login or /registration: without ?flow= it sends the browser to Kratos to
// start one (carrying the query params named), with it it renders the flow's form.
func (s *server) flow(kind, other string, params ...string) handler {
	start := func(w http.ResponseWriter, r *http.Request, challenge string) error {
		pairs := []string{}
		for _, p := range params {
			v := r.URL.Query().Get(p)
			if p == "login_challenge" && v == "" {
				v = challenge
			}
			pairs = append(pairs, p, v)
		}
		return see(w, r, s.cfg.kratosBrowser+"/self-service/"+kind+"/browser"+query(pairs...))
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		if q.Get("flow") == "" {
			return start(w, r, "")
		}
		var f flowDoc
		u := s.cfg.kratosPublic + "/self-service/" + kind + "/flows?id=" + url.QueryEscape(q.Get("flow"))
		status, err := s.call(r.Context(), "Kratos "+kind+" flow", http.MethodGet, u, r.Header.Get("Cookie"), nil, &f,
			http.StatusOK, http.StatusNotFound, http.StatusGone, http.StatusForbidden)
		if err != nil {
			return err
		}
		if status != http.StatusOK { // unknown, expired, or Kratos's CSRF cookie is missing: anew
			return start(w, r, f.LoginChallenge)
		}
		returnTo, challenge := q.Get("return_to"), q.Get("login_challenge")
		if returnTo == "" {
			returnTo = f.ReturnTo
		}
		if challenge == "" {
			challenge = f.LoginChallenge
		}
		titles := map[string]string{"login": "Sign in", "registration": "Sign up"}
		page := struct {
			Title, Kind, Action, Method, OtherID, OtherHref, OtherText string
			Fields                                                     []field
			Messages                                                   []uiMessage
		}{Title: titles[kind], Kind: kind, Action: f.UI.Action, Method: f.UI.Method, Messages: f.UI.Messages,
			OtherID: other + "-link", OtherText: titles[other] + " instead",
			OtherHref: "/" + other + query("return_to", returnTo, "login_challenge", challenge)}
		for _, n := range f.UI.Nodes {
			// Kratos v1.3 registers in two steps by default: "profile" (the traits), then "password".
			if n.Group != "default" && n.Group != "password" && n.Group != "profile" {
				continue
			}
			page.Messages = append(page.Messages, n.Messages...)
			a := n.Attributes
			if n.Type != "input" || a.Type == "button" {
				continue
			}
			fd := field{ID: a.Name, Name: a.Name, Type: a.Type, Value: valueText(a.Value),
				Required: a.Required, Disabled: a.Disabled, Submit: a.Type == "submit"}
			if fd.Type == "" {
				fd.Type = "text"
			}
			if n.Meta.Label != nil {
				fd.Label = n.Meta.Label.Text
			}
			if fd.Submit {
				fd.ID = "submit-" + fd.Value
				if fd.Label == "" {
					fd.Label = "Submit"
				}
			}
			page.Fields = append(page.Fields, fd)
		}
		render(w, http.StatusOK, "flow", page)
		return nil
	}
}

func (s *server) errorPage(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	if id == "" {
		return bad("no error id given")
	}
	var doc json.RawMessage
	u := s.cfg.kratosPublic + "/self-service/errors?id=" + url.QueryEscape(id)
	if _, err := s.call(r.Context(), "Kratos error", http.MethodGet, u, "", nil, &doc); err != nil {
		return err
	}
	render(w, http.StatusOK, "error", struct{ Title, Body string }{"Error", pretty(doc)})
	return nil
}

func (s *server) welcome(w http.ResponseWriter, r *http.Request) error {
	var sess struct {
		Identity struct {
			ID     string
			Traits struct{ Email string }
		}
	}
	status, err := s.call(r.Context(), "Kratos whoami", http.MethodGet, s.cfg.kratosPublic+"/sessions/whoami",
		r.Header.Get("Cookie"), nil, &sess, http.StatusOK, http.StatusUnauthorized, http.StatusForbidden)
	if err != nil {
		return err
	}
	who := ""
	if status == http.StatusOK {
		if who = sess.Identity.Traits.Email; who == "" {
			who = sess.Identity.ID
		}
	}
	render(w, http.StatusOK, "welcome", struct{ Title, Who string }{"Welcome", who})
	return nil
}

// ---- Hydra's consent and logout -----------------------------------------------------------

// csrfToken returns the form token for the browser's CSRF cookie, setting a new random cookie
// when it has none (double submit: the token is the cookie's HMAC under CSRF_COOKIE_SECRET).
func (s *server) csrfToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(s.cfg.csrfName); err == nil && c.Value != "" {
		return s.sign(c.Value), nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	v := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: s.cfg.csrfName, Value: v, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.cfg.secureCookie})
	return s.sign(v), nil
}

func (s *server) sign(v string) string {
	m := hmac.New(sha256.New, []byte(s.cfg.csrfSecret))
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// posted parses a POST form and checks that its _csrf token matches the CSRF cookie.
func (s *server) posted(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return bad("the form cannot be read")
	}
	c, err := r.Cookie(s.cfg.csrfName)
	token := r.PostFormValue("_csrf")
	if err != nil || c.Value == "" || token == "" || !hmac.Equal([]byte(token), []byte(s.sign(c.Value))) {
		return &pageError{http.StatusForbidden, "Forbidden", "invalid CSRF token"}
	}
	return nil
}

type consentRequest struct {
	Subject           string   `json:"subject"`
	Skip              bool     `json:"skip"`
	RequestedScope    []string `json:"requested_scope"`
	RequestedAudience []string `json:"requested_access_token_audience"`
	Client            struct {
		ClientID    string `json:"client_id"`
		ClientName  string `json:"client_name"`
		SkipConsent bool   `json:"skip_consent"`
	} `json:"client"`
}

type redirect struct {
	RedirectTo string `json:"redirect_to"`
}

func (s *server) hydra(path, param, challenge string) string {
	return s.cfg.hydraAdmin + "/admin/oauth2/auth/requests/" + path + "?" + param + "=" + url.QueryEscape(challenge)
}

func (s *server) consentRequest(ctx context.Context, challenge string) (*consentRequest, error) {
	var cr consentRequest
	_, err := s.call(ctx, "Hydra consent request", http.MethodGet, s.hydra("consent", "consent_challenge", challenge),
		"", nil, &cr)
	return &cr, err
}

func (s *server) consentPage(w http.ResponseWriter, r *http.Request) error {
	challenge := r.URL.Query().Get("consent_challenge")
	if challenge == "" {
		return bad("no consent_challenge given")
	}
	cr, err := s.consentRequest(r.Context(), challenge)
	if err != nil {
		return err
	}
	if cr.Skip || cr.Client.SkipConsent || s.cfg.trusted[cr.Client.ClientID] {
		return s.accept(w, r, challenge, cr, cr.RequestedScope, false)
	}
	token, err := s.csrfToken(w, r)
	if err != nil {
		return err
	}
	name := cr.Client.ClientName
	if name == "" {
		name = cr.Client.ClientID
	}
	render(w, http.StatusOK, "consent", struct {
		Title, ClientName, ClientID, Subject, Challenge, CSRF string
		Scopes                                                []string
	}{"Allow access?", name, cr.Client.ClientID, cr.Subject, challenge, token, cr.RequestedScope})
	return nil
}

func (s *server) consentSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := s.posted(r); err != nil {
		return err
	}
	challenge := r.PostFormValue("consent_challenge")
	if challenge == "" {
		return bad("no consent_challenge given")
	}
	switch r.PostFormValue("consent_action") {
	case "accept":
		cr, err := s.consentRequest(r.Context(), challenge)
		if err != nil {
			return err
		}
		requested := map[string]bool{}
		for _, sc := range cr.RequestedScope {
			requested[sc] = true
		}
		grant := []string{}
		for _, sc := range r.PostForm["grant_scope"] {
			if requested[sc] { // never more than the client asked for
				grant = append(grant, sc)
			}
		}
		return s.accept(w, r, challenge, cr, grant, r.PostFormValue("remember") != "")
	case "reject":
		var out redirect
		body := map[string]string{"error": "access_denied", "error_description": "The resource owner denied the request"}
		if _, err := s.call(r.Context(), "Hydra consent reject", http.MethodPut,
			s.hydra("consent/reject", "consent_challenge", challenge), "", body, &out); err != nil {
			return err
		}
		return see(w, r, out.RedirectTo)
	}
	return bad("consent_action must be accept or reject")
}

// accept grants scopes, with the ID token's claims, and sends the browser on to Hydra.
func (s *server) accept(w http.ResponseWriter, r *http.Request, challenge string, cr *consentRequest, grant []string, remember bool) error {
	claims, err := s.claims(r.Context(), cr.Subject, grant)
	if err != nil {
		return err
	}
	audience := cr.RequestedAudience
	if audience == nil {
		audience = []string{}
	}
	if grant == nil {
		grant = []string{}
	}
	body := map[string]any{"grant_scope": grant, "grant_access_token_audience": audience, "remember": remember,
		"remember_for": s.cfg.rememberFor, "session": map[string]any{"id_token": claims}}
	var out redirect
	if _, err := s.call(r.Context(), "Hydra consent accept", http.MethodPut,
		s.hydra("consent/accept", "consent_challenge", challenge), "", body, &out); err != nil {
		return err
	}
	return see(w, r, out.RedirectTo)
}

// claims: email and email_verified for scope email, name for scope profile, from the
// identity's traits read through KRATOS_ADMIN_URL (none without it).
func (s *server) claims(ctx context.Context, subject string, grant []string) (map[string]any, error) {
	claims, has := map[string]any{}, map[string]bool{}
	for _, sc := range grant {
		has[sc] = true
	}
	if s.cfg.kratosAdmin == "" || subject == "" || !(has["email"] || has["profile"]) {
		return claims, nil
	}
	var id struct {
		Traits struct {
			Email string
			Name  struct{ First, Last string }
		}
		Addresses []struct {
			Value    string
			Verified bool
		} `json:"verifiable_addresses"`
	}
	u := s.cfg.kratosAdmin + "/admin/identities/" + url.PathEscape(subject)
	if _, err := s.call(ctx, "Kratos identity", http.MethodGet, u, "", nil, &id); err != nil {
		return nil, err
	}
	if email := id.Traits.Email; has["email"] && email != "" {
		claims["email"], claims["email_verified"] = email, false
		for _, a := range id.Addresses {
			if strings.EqualFold(a.Value, email) {
				claims["email_verified"] = a.Verified
			}
		}
	}
	if name := strings.TrimSpace(id.Traits.Name.First + " " + id.Traits.Name.Last); has["profile"] && name != "" {
		claims["name"] = name
	}
	return claims, nil
}

func (s *server) logoutPage(w http.ResponseWriter, r *http.Request) error {
	if challenge := r.URL.Query().Get("logout_challenge"); challenge != "" {
		if !s.cfg.hydraOn() {
			return &pageError{http.StatusNotFound, "Not found", "the Hydra logout route is off"}
		}
		token, err := s.csrfToken(w, r)
		if err != nil {
			return err
		}
		render(w, http.StatusOK, "logout", struct{ Title, Challenge, CSRF string }{"Do you want to log out?", challenge, token})
		return nil
	}
	var out struct {
		LogoutURL string `json:"logout_url"`
	}
	status, err := s.call(r.Context(), "Kratos logout", http.MethodGet, s.cfg.kratosPublic+"/self-service/logout/browser",
		r.Header.Get("Cookie"), nil, &out, http.StatusOK, http.StatusUnauthorized)
	if err != nil {
		return err
	}
	if status != http.StatusOK || out.LogoutURL == "" {
		return see(w, r, "/")
	}
	return see(w, r, out.LogoutURL)
}

func (s *server) logoutSubmit(w http.ResponseWriter, r *http.Request) error {
	if err := s.posted(r); err != nil {
		return err
	}
	challenge := r.PostFormValue("logout_challenge")
	if challenge == "" {
		return bad("no logout_challenge given")
	}
	switch r.PostFormValue("logout_action") {
	case "accept":
		var out redirect
		if _, err := s.call(r.Context(), "Hydra logout accept", http.MethodPut,
			s.hydra("logout/accept", "logout_challenge", challenge), "", nil, &out); err != nil {
			return err
		}
		return see(w, r, out.RedirectTo)
	case "reject":
		if _, err := s.call(r.Context(), "Hydra logout reject", http.MethodPut,
			s.hydra("logout/reject", "logout_challenge", challenge), "", nil, nil, http.StatusOK, http.StatusNoContent); err != nil {
			return err
		}
		return see(w, r, "/")
	}
	return bad("logout_action must be accept or reject")
}
