// Command httpserver serves HTTP on $PORT: GET / greets with the instance
// guid, GET /ready answers 503 until READY_AFTER (a duration) has passed
// since start, then 200, and GET /alive answers 500 once the file
// $DEAD_FILE exists. The rep daemon's tests run it as an LRP instance with
// readiness and liveness checks.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	start := time.Now()
	readyAfter, _ := time.ParseDuration(os.Getenv("READY_AFTER"))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", os.Getenv("INSTANCE_GUID"))
	})
	http.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if time.Since(start) < readyAfter {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	http.HandleFunc("/alive", func(w http.ResponseWriter, r *http.Request) {
		if f := os.Getenv("DEAD_FILE"); f != "" {
			if _, err := os.Stat(f); err == nil {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
		}
		fmt.Fprintln(w, "alive")
	})
	log.Fatal(http.ListenAndServe("0.0.0.0:"+os.Getenv("PORT"), nil))
}
