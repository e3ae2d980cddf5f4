package api

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkAPI serves GET /api/apps (one page) and /api/overview over
// 10,000 actual LRPs (1,000 apps × 10 instances on 100 cells), from the
// cached view; Rebuild is the cost of one refresh of that view.
func BenchmarkAPI(b *testing.B) {
	in := input(1000, 10, 100)
	h := New(Options{})
	h.SetInput(in)
	handler := h.Handler(nil, false)
	for _, path := range []string{"/api/apps?page=7&per_page=50", "/api/apps?q=app-009", "/api/overview", "/api/cells"} {
		b.Run(path, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				if w.Code != 200 {
					b.Fatalf("HTTP %d", w.Code)
				}
			}
		})
	}
	b.Run("rebuild", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			h.SetInput(in)
		}
	})
}
