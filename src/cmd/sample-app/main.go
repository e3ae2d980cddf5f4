// Command sample-app is the tiny static HTTP server the acceptance suite
// (src/acceptance) runs as LRP instances. It listens on $PORT (8080 when
// unset) and answers:
//
//	GET /        "hello from <INSTANCE_INDEX> <INSTANCE_GUID>\n"
//	GET /env     the process environment as a JSON object
//	GET /health  200 "ok\n"
//
// With CRASH_AFTER set to a Go duration (e.g. "2s") it exits with status 1
// that long after starting, so crash handling can be exercised; with
// LISTEN_AFTER it waits that long before listening, so health checks can be
// told apart from a port that merely accepts. It builds
// with CGO_ENABLED=0 and has no dependencies beyond the standard library,
// so it runs in a busybox rootfs.
package main

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if err := run(os.Getenv); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(getenv func(string) string) error {
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if v := getenv("CRASH_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("CRASH_AFTER: %w", err)
		}
		time.AfterFunc(d, func() {
			log.Printf("crashing after %s as asked (CRASH_AFTER)", d)
			os.Exit(1)
		})
	}
	if v := getenv("LISTEN_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("LISTEN_AFTER: %w", err)
		}
		time.Sleep(d)
	}
	log.Printf("sample-app: listening on :%s", port)
	return http.ListenAndServe(":"+port, handler(getenv, os.Environ))
}

// handler serves the app's routes; getenv and environ are the process's
// environment, injected for tests.
func handler(getenv func(string) string, environ func() []string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello from %s %s\n", getenv("INSTANCE_INDEX"), getenv("INSTANCE_GUID"))
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, _ *http.Request) {
		env := map[string]string{}
		for _, kv := range environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(env)
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return mux
}
