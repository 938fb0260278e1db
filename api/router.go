package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"khomat/api/internal/front"
	"khomat/archive"
)

// Defaults of Config.
const (
	DefaultMaxUpload   = 1 << 30 // 1 GiB per uploaded file
	DefaultMaxJSON     = 1 << 20 // 1 MiB per JSON body or metadata part
	DefaultUploadIdle  = time.Minute
	SessionCookie      = "khomat_session"
	requestIDHeader    = "X-Request-ID"
	multipartOverhead  = 64 << 10 // boundaries and part headers around the file
	maxMetadataPartLen = DefaultMaxJSON
)

// Config is what New needs. Documents, Sessions and Audit are required;
// a nil Users or Search answers 503 on its routes.
type Config struct {
	Documents Documents
	Sessions  Sessions
	Users     Users
	Search    Searcher
	Audit     AuditLog
	// Pages, when set, is the web interface (api/web), registered at the
	// root of the router beside the API.
	Pages Pages
	// Ready are the readiness checks of /readyz (store, indexes, audit
	// log).
	Ready []Check
	// MaxUpload bounds an uploaded file in bytes (DefaultMaxUpload when
	// zero); MaxJSON bounds a JSON body (DefaultMaxJSON when zero).
	MaxUpload, MaxJSON int64
	// MaxSearches bounds the searches that run at once; more wait their
	// turn (or until the client gives up). Searches are CPU-bound: letting
	// every one run at once only slows each, and starves uploads and reads
	// of CPU. Zero means 2 × GOMAXPROCS.
	MaxSearches int
	// UploadIdle is how long an upload may send nothing before it is cut
	// off and discarded (DefaultUploadIdle when zero).
	UploadIdle time.Duration
	// SecureCookies marks the session cookie Secure (set when serving
	// TLS or behind a TLS proxy).
	SecureCookies bool
	// Registry receives the API's metrics and is served at /metrics; nil
	// for a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Rand gives request ids (default crypto/rand); Clock the time
	// (default time.Now).
	Rand  io.Reader
	Clock func() time.Time
}

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	docs      Documents
	sessions  Sessions
	users     Users
	search    Searcher
	audit     AuditLog
	pages     Pages
	ready     []Check
	maxUpload int64
	maxJSON   int64
	idle      time.Duration
	secure    bool
	registry  *prometheus.Registry
	metrics   *metrics
	searching chan struct{} // one token per search running
	log       *slog.Logger
	rand      io.Reader
	now       func() time.Time
	engine    *gin.Engine
}

// New returns the API server over cfg, its routes in place.
func New(cfg Config) (*Server, error) {
	if cfg.Documents == nil || cfg.Sessions == nil || cfg.Audit == nil {
		return nil, errors.New("api: documents, sessions and an audit log are required")
	}
	s := &Server{
		docs: cfg.Documents, sessions: cfg.Sessions, users: cfg.Users, search: cfg.Search,
		audit: cfg.Audit, pages: cfg.Pages, ready: cfg.Ready, maxUpload: cfg.MaxUpload, maxJSON: cfg.MaxJSON,
		idle: cfg.UploadIdle, secure: cfg.SecureCookies, registry: cfg.Registry,
		log: cfg.Logger, rand: cfg.Rand, now: cfg.Clock,
	}
	if s.maxUpload <= 0 {
		s.maxUpload = DefaultMaxUpload
	}
	if s.maxJSON <= 0 {
		s.maxJSON = DefaultMaxJSON
	}
	if s.idle <= 0 {
		s.idle = DefaultUploadIdle
	}
	maxSearches := cfg.MaxSearches
	if maxSearches <= 0 {
		maxSearches = 2 * runtime.GOMAXPROCS(0)
	}
	s.searching = make(chan struct{}, maxSearches)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.registry == nil {
		s.registry = newRegistry()
	}
	m, err := newMetrics(s.registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.engine = s.routes()
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Route is a method and path template of the router, as Gin writes it
// ("/api/v1/documents/:id").
type Route struct{ Method, Path string }

// Routes lists every route of the router.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.engine.Routes() {
		out = append(out, Route{r.Method, r.Path})
	}
	return out
}

// routes builds the router: every route and middleware is here.
func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.RemoveExtraSlash = false
	r.ContextWithFallback = true
	// Client addresses come from the connection: Khomat listens on the
	// office LAN, and a forwarded header is whatever a client wrote.
	r.ForwardedByClientIP = false
	_ = r.SetTrustedProxies(nil)

	r.Use(s.requestID, s.securityHeaders, s.observe, s.recoverPanic)
	r.NoRoute(func(c *gin.Context) { fail(c, http.StatusNotFound, CodeNotFound) })
	r.NoMethod(func(c *gin.Context) { fail(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed) })

	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metricsHandler())

	v1 := r.Group("/api/v1")
	v1.GET("/openapi.yaml", s.openapi)
	v1.POST("/auth/login", s.limitJSON, s.login)

	authed := v1.Group("", s.authenticate)
	authed.POST("/auth/logout", s.logout)
	authed.GET("/me", s.me)

	authed.POST("/users", s.limitJSON, s.createUser)
	authed.GET("/users", s.listUsers)
	authed.PATCH("/users/:id", s.limitJSON, s.updateUser)

	authed.POST("/documents", s.uploadLimits, s.createDocument)
	authed.GET("/documents/:id", s.getDocument)
	authed.PATCH("/documents/:id", s.limitJSON, s.updateDocument)
	authed.GET("/documents/:id/revisions", s.documentRevisions)
	authed.GET("/documents/:id/content", s.content)
	authed.POST("/documents/:id/versions", s.uploadLimits, s.addVersion)
	authed.POST("/documents/:id/classification", s.limitJSON, s.reclassify)
	authed.POST("/documents/:id/protection", s.limitJSON, s.extendProtection)
	authed.POST("/documents/:id/copies", s.limitJSON, s.requestCopy)
	authed.POST("/documents/:id/copies/:req/approve", s.approveCopy)
	authed.POST("/documents/:id/destruction", s.limitJSON, s.requestDestruction)
	authed.DELETE("/documents/:id/destruction", s.cancelDestruction)
	authed.POST("/documents/:id/destruction/approve", s.approveDestruction)

	authed.GET("/search", s.searchDocuments)

	authed.GET("/audit/events", s.auditEvents)
	authed.GET("/audit/export", s.auditExport)
	authed.GET("/audit/checkpoint", s.auditCheckpoint)
	authed.GET("/audit/directory", s.auditDirectory)
	authed.GET("/audit/proof/:seq", s.auditProof)
	authed.GET("/audit/consistency", s.auditConsistency)

	if s.pages != nil {
		s.pages.Register(r)
	}
	return r
}

// Pages is a set of routes served beside the API: the web interface.
type Pages interface {
	// Register adds the routes to r.
	Register(r gin.IRouter)
}

// Middleware.

const ctxRequestID = "khomat.request_id"
const ctxUser = "khomat.user"

// requestID takes the client's X-Request-ID when it is a plain token, or
// makes one, and returns it in the response.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(requestIDHeader)
	if !front.ValidRequestID(id) {
		var b [12]byte
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			s.log.Error("reading random request id", "err", err)
		}
		id = hex.EncodeToString(b[:])
	}
	c.Set(ctxRequestID, id)
	c.Header(requestIDHeader, id)
	c.Next()
}

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// securityHeaders sets what keeps browsers from sniffing, framing, caching
// or leaking what the archive answers.
func (s *Server) securityHeaders(c *gin.Context) {
	front.SecurityHeaders(c.Writer.Header(), "default-src 'none'; frame-ancestors 'none'; sandbox",
		"camera=(), microphone=(), geolocation=(), interest-cohort=()", s.secure)
	c.Next()
}

// recoverPanic turns a panic into a 500 problem; the stack goes to the log,
// never to the client.
func (s *Server) recoverPanic(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			panic(v)
		}
		s.log.Error("panic serving a request", "request_id", requestID(c), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if c.Writer.Written() {
			// Too late for a problem: cut the response so the client
			// sees it incomplete rather than complete.
			panic(http.ErrAbortHandler)
		}
		fail(c, http.StatusInternalServerError, CodeInternal)
	}()
	c.Next()
}

// observe counts requests and times them, by route template (never by a
// path that holds an id).
func (s *Server) observe(c *gin.Context) {
	start := s.now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	code := strconv.Itoa(c.Writer.Status())
	s.metrics.requests.WithLabelValues(c.Request.Method, route, code).Inc()
	s.metrics.latency.WithLabelValues(c.Request.Method, route).Observe(s.now().Sub(start).Seconds())
	lvl := slog.LevelInfo
	if c.Writer.Status() >= 500 {
		lvl = slog.LevelWarn
	}
	attrs := []any{"request_id", requestID(c), "method", c.Request.Method, "route", route,
		"status", c.Writer.Status(), "duration_ms", s.now().Sub(start).Milliseconds()}
	if u, ok := currentUser(c); ok {
		attrs = append(attrs, "user", u.ID)
	}
	s.log.Log(c.Request.Context(), lvl, "request", attrs...)
}

// limitJSON bounds a JSON body.
func (s *Server) limitJSON(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.maxJSON)
	c.Next()
}

// uploadLimits bounds an upload: its whole size, and how long it may stall.
func (s *Server) uploadLimits(c *gin.Context) {
	if c.Request.ContentLength > s.maxUpload+s.maxJSON+multipartOverhead {
		fail(c, http.StatusRequestEntityTooLarge, CodeTooLarge)
		return
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, s.maxUpload+s.maxJSON+multipartOverhead)
	c.Request.Body = &idleReader{r: body, rc: http.NewResponseController(c.Writer), idle: s.idle, now: s.now}
	c.Next()
}

// idleReader cuts off an upload that sends nothing for idle: its body read
// fails, so the archive discards what it wrote.
type idleReader struct {
	r    io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	now  func() time.Time
}

func (r *idleReader) Read(p []byte) (int, error) {
	// Not every ResponseWriter supports deadlines (httptest recorders);
	// those keep the server's own timeouts.
	_ = r.rc.SetReadDeadline(r.now().Add(r.idle))
	return r.r.Read(p)
}

func (r *idleReader) Close() error { return r.r.Close() }

// authenticate resolves the session from the Authorization header or the
// session cookie. A cookie session must come from the same origin to
// change anything (the cookie is SameSite=Strict too).
func (s *Server) authenticate(c *gin.Context) {
	token, fromCookie := bearer(c.Request)
	if token == "" {
		s.unauthenticated(c)
		return
	}
	if fromCookie && !safeMethod(c.Request.Method) && !sameOrigin(c.Request) {
		fail(c, http.StatusForbidden, CodeForbidden)
		return
	}
	u, err := s.sessions.Authenticate(c.Request.Context(), token)
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			s.unauthenticated(c)
			return
		}
		s.failErr(c, err)
		return
	}
	c.Set(ctxUser, u)
	c.Next()
}

func (s *Server) unauthenticated(c *gin.Context) {
	c.Header("WWW-Authenticate", `Bearer realm="khomat"`)
	fail(c, http.StatusUnauthorized, CodeUnauthenticated)
}

// bearer returns the request's session token and whether it came from the
// cookie.
func bearer(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || !safeHeaderText(strings.TrimSpace(tok)) {
			return "", false
		}
		return strings.TrimSpace(tok), false
	}
	if ck, err := r.Cookie(SessionCookie); err == nil && safeHeaderText(ck.Value) {
		return ck.Value, true
	}
	return "", false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether a browser request comes from this origin.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	_, host, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(host, r.Host)
}

// currentUser is the authenticated user of the request.
func currentUser(c *gin.Context) (User, bool) {
	v, ok := c.Get(ctxUser)
	if !ok {
		return User{}, false
	}
	u, ok := v.(User)
	return u, ok
}

// actor is who the archive acts for: the session's user, the connection's
// address and the request id. Nothing in the request body fills it.
func (s *Server) actor(c *gin.Context) archive.Actor {
	u, _ := currentUser(c)
	return archive.Actor{Subject: u.Subject(), ClientAddr: clientAddr(c.Request), RequestID: requestID(c)}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
