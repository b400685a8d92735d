// Command standin plays cockroach, hydra, kratos, keto and the login UI inside locally built
// images, for tests of the Compose driver on a machine that cannot pull the real images.
//
// It answers to the same command lines the sandbox renders, and it is strict where the real
// programs are strict: a node refuses to start without its certificates, an Ory service
// refuses a DSN without sslmode=verify-full or a CA it cannot read (as a non-root user), and
// the health endpoints report readiness only once the cluster is initialised. A marker file
// /standin-fail-<verb> in the image makes that verb fail, to test failure reporting.
package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	switch name {
	case "cockroach":
		os.Exit(cockroach(args))
	case "hydra", "kratos", "keto":
		os.Exit(ory(name, args))
	case "ui":
		os.Exit(ui())
	}
	fmt.Fprintf(os.Stderr, "standin: unknown program %q\n", name)
	os.Exit(2)
}

// flagValue returns the value of --name=value or --name value in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if strings.HasPrefix(a, "--"+name+"=") {
			return strings.TrimPrefix(a, "--"+name+"=")
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func failMarker(verb string) bool {
	_, err := os.Stat("/standin-fail-" + verb)
	return err == nil
}

func mustRead(paths ...string) error {
	for _, p := range paths {
		if _, err := os.ReadFile(p); err != nil {
			return fmt.Errorf("cannot read %s: %w", p, err)
		}
	}
	return nil
}

// ---- cockroach -------------------------------------------------------------------------

func cockroach(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "cockroach: missing command")
		return 2
	}
	if failMarker(args[0]) {
		fmt.Fprintf(os.Stderr, "ERROR: standin told to fail %s\n", args[0])
		return 1
	}
	switch args[0] {
	case "start":
		return start(args[1:])
	case "init":
		return initCluster(args[1:])
	case "sql":
		return sql(args[1:])
	}
	fmt.Fprintf(os.Stderr, "cockroach: unknown command %q\n", args[0])
	return 2
}

func port(addr, fallback string) string {
	if addr == "" {
		return fallback
	}
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return ":" + addr[i+1:]
	}
	return fallback
}

func start(args []string) int {
	certs := flagValue(args, "certs-dir")
	store := flagValue(args, "store")
	advertise := flagValue(args, "advertise-addr")
	if certs == "" || store == "" || advertise == "" || flagValue(args, "locality") == "" {
		fmt.Fprintln(os.Stderr, "ERROR: start needs --certs-dir, --store, --advertise-addr, --locality")
		return 2
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(certs, "node.crt"), filepath.Join(certs, "node.key"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: node certificate: %v\n", err)
		return 1
	}
	if err := os.MkdirAll(store, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: store: %v\n", err)
		return 1
	}
	marker := filepath.Join(store, "initialized")
	var ready atomic.Bool
	if _, err := os.Stat(marker); err == nil {
		ready.Store(true)
	}
	setReady := func() {
		if !ready.Swap(true) {
			_ = os.WriteFile(marker, []byte("yes\n"), 0o644)
			fmt.Println("node initialised")
		}
	}
	name := strings.Split(advertise, ":")[0]
	// RPC: "INIT" initialises (once), "STATUS" reports; nodes learn from their peers.
	go serveTCP(port(flagValue(args, "listen-addr"), ":26357"), func(conn net.Conn) {
		line, _ := bufio.NewReader(conn).ReadString('\n')
		switch strings.TrimSpace(line) {
		case "INIT":
			if ready.Load() {
				fmt.Fprintln(conn, "ALREADY")
				return
			}
			setReady()
			fmt.Fprintln(conn, "OK")
		case "STATUS":
			if ready.Load() {
				fmt.Fprintln(conn, "INIT")
			} else {
				fmt.Fprintln(conn, "NOINIT")
			}
		}
	})
	go func() {
		peers := strings.Split(flagValue(args, "join"), ",")
		for !ready.Load() {
			for _, peer := range peers {
				if ask(peer, "STATUS") == "INIT" {
					setReady()
				}
			}
			time.Sleep(time.Second)
		}
	}()
	// SQL: a banner naming the node, so tests can see where the load balancer sent them.
	go serveTCP(port(flagValue(args, "sql-addr"), ":26257"), func(conn net.Conn) {
		state := "NOTREADY"
		if ready.Load() {
			state = "READY"
		}
		fmt.Fprintf(conn, "%s %s\n", state, name)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ready") != "" && !ready.Load() {
			http.Error(w, `{"error":"node is waiting for cluster initialization"}`, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"nodeId":%q}`, name)
	})
	server := &http.Server{
		Addr:      port(flagValue(args, "http-addr"), ":8080"),
		Handler:   mux,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
	}
	fmt.Printf("standin cockroach node %s started\n", name)
	if err := server.ListenAndServeTLS("", ""); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: http: %v\n", err)
		return 1
	}
	return 0
}

func serveTCP(addr string, handle func(net.Conn)) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: listen %s: %v\n", addr, err)
		os.Exit(1)
	}
	for {
		conn, err := listener.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			handle(conn)
		}()
	}
}

func ask(addr, question string) string {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return ""
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintln(conn, question)
	line, _ := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line)
}

func clientCertsPresent(certs string) error {
	matches, _ := filepath.Glob(filepath.Join(certs, "client.*.key"))
	if len(matches) == 0 {
		return fmt.Errorf("no client certificate in %s", certs)
	}
	return mustRead(filepath.Join(certs, "ca.crt"), matches[0])
}

func initCluster(args []string) int {
	if err := clientCertsPresent(flagValue(args, "certs-dir")); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
		return 1
	}
	switch ask(flagValue(args, "host"), "INIT") {
	case "OK":
		fmt.Println("Cluster successfully initialized")
		return 0
	case "ALREADY":
		fmt.Fprintln(os.Stderr, "ERROR: cluster has already been initialized")
		return 1
	}
	fmt.Fprintln(os.Stderr, "ERROR: server closed the connection")
	return 1
}

func sql(args []string) int {
	if err := clientCertsPresent(flagValue(args, "certs-dir")); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: %v\n", err)
		return 1
	}
	conn, err := net.DialTimeout("tcp", flagValue(args, "host"), 2*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: cannot dial server: %v\n", err)
		return 1
	}
	banner, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !strings.HasPrefix(banner, "READY") {
		fmt.Fprintln(os.Stderr, "ERROR: server is not accepting clients, try again later")
		return 1
	}
	statements := flagValue(args, "execute")
	for i, a := range args {
		if a == "-e" && i+1 < len(args) {
			statements = args[i+1]
		}
	}
	if statements == "" {
		data, _ := io.ReadAll(os.Stdin)
		statements = string(data)
	}
	for _, stmt := range strings.Split(statements, ";") {
		if fields := strings.Fields(stmt); len(fields) >= 2 {
			fmt.Println(strings.ToUpper(fields[0] + " " + fields[1]))
		}
	}
	return 0
}

// ---- Ory services ----------------------------------------------------------------------

var oryPorts = map[string][]string{
	"hydra":  {":4444", ":4445"},
	"kratos": {":4433", ":4434"},
	"keto":   {":4466", ":4467"},
}

// ui plays Ory's login UI for the driver tests: only its health routes. Like the real UI
// (src/index.ts), it never listens without CSRF_COOKIE_NAME and a CSRF_COOKIE_SECRET of 8
// characters or more, and it serves on PORT (3000 by default).
func ui() int {
	if os.Getenv("CSRF_COOKIE_NAME") == "" || len(os.Getenv("CSRF_COOKIE_SECRET")) < 8 {
		fmt.Fprintln(os.Stderr, "ui: CSRF_COOKIE_NAME and CSRF_COOKIE_SECRET (8+ characters) are required")
		return 1
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	mux := http.NewServeMux()
	for _, path := range []string{"/health/alive", "/health/ready"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	}
	fmt.Printf("ui: serving on :%s\n", port)
	fmt.Fprintf(os.Stderr, "Error: %v\n", http.ListenAndServe(":"+port, mux))
	return 1
}

func checkOryEnvironment(args []string) error {
	dsn := os.Getenv("DSN")
	if !strings.HasPrefix(dsn, "cockroach://") || !strings.Contains(dsn, "sslmode=verify-full") {
		return errors.New("DSN must be a cockroach:// URL with sslmode=verify-full")
	}
	i := strings.Index(dsn, "sslrootcert=")
	if i < 0 {
		return errors.New("DSN has no sslrootcert")
	}
	root := strings.SplitN(dsn[i+len("sslrootcert="):], "&", 2)[0]
	paths := []string{root}
	if config := flagValue(args, "config"); config != "" {
		paths = append(paths, config)
	}
	return mustRead(paths...)
}

func ory(name string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintf(os.Stderr, "%s: missing command\n", name)
		return 2
	}
	if err := checkOryEnvironment(args); err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		return 1
	}
	switch args[0] {
	case "migrate":
		if failMarker("migrate") {
			fmt.Fprintln(os.Stderr, "Error: could not apply migrations: standin told to fail")
			return 1
		}
		fmt.Printf("%s: all migrations applied\n", name)
		return 0
	case "serve":
		mux := http.NewServeMux()
		for _, path := range []string{"/health/alive", "/health/ready", "/admin/health/ready"} {
			mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprint(w, `{"status":"ok"}`)
			})
		}
		errs := make(chan error, 2)
		for _, p := range oryPorts[name] {
			go func(addr string) { errs <- http.ListenAndServe(addr, mux) }(p)
		}
		fmt.Printf("%s: serving on %v\n", name, oryPorts[name])
		fmt.Fprintf(os.Stderr, "Error: %v\n", <-errs)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s: unknown command %q\n", name, args[0])
	return 2
}
