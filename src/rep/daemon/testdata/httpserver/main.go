// Command httpserver serves HTTP on $PORT: GET / greets with the instance
// guid and GET /ready answers 503 until READY_AFTER (a duration) has
// passed since start, then 200. The rep daemon's tests run it as an LRP
// instance with readiness checks.
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
	log.Fatal(http.ListenAndServe("0.0.0.0:"+os.Getenv("PORT"), nil))
}
