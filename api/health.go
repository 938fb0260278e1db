package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"khomat/archive/store"
)

// metrics are the API's Prometheus series. Labels carry route templates,
// methods and status codes only: never an id, a user or a query.
type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	uploads     *prometheus.CounterVec
	uploadBytes prometheus.Counter
	denials     *prometheus.CounterVec
}

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "khomat_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "khomat_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "khomat_uploads_total", Help: "Uploads (new documents and versions) by outcome.",
		}, []string{"outcome"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "khomat_upload_bytes_total", Help: "Plaintext bytes of committed uploads.",
		}),
		denials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "khomat_denials_total", Help: "Requests refused by the access policy or authentication, by route.",
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.uploads, m.uploadBytes, m.denials} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (s *Server) metricsHandler() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	return func(c *gin.Context) {
		// Metrics are not secret but not documents either: let them be
		// scraped without the API's no-store policy mattering.
		h.ServeHTTP(c.Writer, c.Request)
	}
}

// healthz answers while the process serves HTTP.
func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz runs every readiness check, each bounded in time, and answers 503
// naming those that fail (by name only: no internal text).
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	for _, ch := range s.ready {
		if err := ch.Check(ctx); err != nil {
			ok = false
			checks[ch.Name] = "fail"
			s.log.Warn("readiness check failed", "request_id", requestID(c), "check", ch.Name, "err", err)
			continue
		}
		checks[ch.Name] = "ok"
	}
	status := http.StatusOK
	word := "ok"
	if !ok {
		status, word = http.StatusServiceUnavailable, "unavailable"
	}
	c.JSON(status, gin.H{"status": word, "checks": checks})
}

// StoreCheck is the readiness check of an object store: the metadata of
// key, an object the server cannot run without (identity.SystemKeyObject),
// must be readable. It is one request on S3 and one stat on the folder
// store, whatever the size of the archive; a listing, which it was first,
// reads a whole folder of 100,000 documents on the folder store.
func StoreCheck(st store.Store, key string) Check {
	return Check{Name: "store", Check: func(ctx context.Context) error {
		_, err := st.Stat(ctx, key)
		return err
	}}
}

// AuditCheck is the readiness check of the audit log: it must accept
// appends.
func AuditCheck(l AuditLog) Check {
	return Check{Name: "audit", Check: func(ctx context.Context) error {
		if err := l.Status().Failed; err != nil {
			return err
		}
		return nil
	}}
}
