// Package web is Khomat's web interface: server-rendered pages in
// Vietnamese (English on request) for the people of a Party committee
// office — cadres who search and read, archivists who upload and
// reclassify, security officers who approve, auditors who check the log and
// administrators who manage accounts.
//
// Every page is rendered with html/template from templates embedded in the
// binary, with the stylesheet, the one script and the font (DejaVu Sans,
// which has every Vietnamese glyph): the office LAN has no Internet, and no
// page names an address outside the server. The package holds narrow
// interfaces of what it needs (documents, sessions, users, search, audit)
// and is wired into the API's Gin router with Register.
//
// Safety rests on the server, never on what a page hides: every request
// goes through the archive service or the identity store, which decide with
// access.Decide and audit. The pages add what a browser needs: a
// session-bound CSRF token on every form that changes anything, a strict
// Content-Security-Policy with no inline script or style, an HttpOnly
// SameSite=Strict session cookie, no-store caching, no framing, and no
// classified text in a title, a URL or the browser's history (searches are
// posted and kept on the server under an opaque key). docs/SECURITY.md
// explains each choice.
package web

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"khomat/api/internal/front"
	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*.css static/*.js static/fonts/*.ttf
var staticFS embed.FS

// Errors that the implementations behind Sessions and Users return
// (wrapped, or joined with their own) so that the pages can say what went
// wrong. The archive's errors (archive.ErrNotFound, ...) and field errors
// (any []archive.FieldError in the chain) are recognised too. They are the
// JSON API's errors too (package front).
var (
	// ErrUnauthenticated: the session token is unknown, expired or
	// revoked, or its user is disabled.
	ErrUnauthenticated = front.ErrUnauthenticated
	// ErrInvalidCredentials: a wrong user name or password (one error for
	// both).
	ErrInvalidCredentials = front.ErrInvalidCredentials
	// ErrForbidden: the user may not do this.
	ErrForbidden = front.ErrForbidden
	// ErrNotFound: no such user.
	ErrNotFound = front.ErrNotFound
	// ErrConflict: the user name is taken, or the record changed.
	ErrConflict = front.ErrConflict
	// ErrInvalid: a value is malformed; field errors in the chain say
	// which.
	ErrInvalid = front.ErrInvalid
	// ErrInvalidQuery: a search query that does not parse.
	ErrInvalidQuery = front.ErrInvalidQuery
	// ErrUnavailable: a backend (the search indexes, the identity store)
	// cannot serve now.
	ErrUnavailable = front.ErrUnavailable
)

// ThrottledError refuses a login after too many failures, for RetryAfter.
type ThrottledError = front.ThrottledError

// Documents is what the pages need of the archive service
// (*archive.Service): what the JSON API needs of it. Each method decides
// with access.Decide and audits.
type Documents = front.Documents

// User is an account as the pages show it, the same as the API's. It
// never holds a password or its hash; Subject is the access subject it
// acts as, none at all for a disabled user.
type User = front.User

// Session is a signed-in session: an opaque token and when it expires.
type Session = front.Session

// NewUser is an account to create.
type NewUser = front.NewUser

// DirectoryEntry is what an auditor sees of an account named in the log.
type DirectoryEntry = front.DirectoryEntry

// UserChange changes an account; nil fields stay as they are.
type UserChange = front.UserChange

// Sessions signs users in and out and resolves session tokens.
type Sessions = front.Sessions

// Users manages accounts; each call decides with access.Decide for the
// acting subject and records its audit event.
type Users = front.Users

// SearchRequest is a search as the search page sends it.
type SearchRequest struct {
	// Query is the text typed in the one box: words, "phrases",
	// -exclusions, with or without diacritics.
	Query  string
	Levels []access.Level
	Types  []archive.DocType
	// IssuingBodies keeps documents of these issuing bodies.
	IssuingBodies []string
	// From and To bound the date issued, inclusive; zero for open.
	From, To archive.Date
	// Sort is "relevance" (default), "date" (oldest first) or "-date".
	Sort string
	// Page counts from 1; Size is the page size.
	Page, Size int
}

// SearchHit is one document found. Highlights are fragments of the
// matched fields keyed by field name, with the matched words between
// <mark> and </mark>; everything else in them is shown as text.
type SearchHit struct {
	ID           archive.ID
	Title        string
	Level        access.Level
	Type         archive.DocType
	NumberSymbol string
	IssuingBody  string
	IssuedAt     archive.Date
	Summary      string
	Score        float64
	Highlights   map[string][]string
}

// FacetCount is the number of hits with one value of a facet.
type FacetCount struct {
	Value string
	Count int
}

// SearchResult is a page of hits and the facets of every hit. Facets are
// keyed "level", "doc_type" and "issuing_body"; values are level and type
// codes, and issuing body names.
type SearchResult struct {
	Total  int
	Hits   []SearchHit
	Facets map[string][]FacetCount
}

// Searcher runs searches bound to the subject's clearance: nothing above
// it, or outside its compartments or named-recipient markings, can shape
// the result. A query that does not parse is ErrInvalidQuery.
type Searcher interface {
	Search(ctx context.Context, s access.Subject, r SearchRequest) (SearchResult, error)
}

// AuditLog is what the pages need of the audit log (*audit.Log).
type AuditLog interface {
	Append(ctx context.Context, e audit.Event) (uint64, error)
	Query(ctx context.Context, q audit.Query) (audit.Page, error)
	Export(ctx context.Context, w io.Writer, q audit.Query, f audit.Format) (audit.Checkpoint, error)
	Checkpoint(ctx context.Context) (audit.Checkpoint, error)
	QueryHasher() *audit.QueryHasher
	VerifierKey() string
}

var _ AuditLog = (*audit.Log)(nil)

// Defaults of Config.
const (
	// DefaultMaxUpload bounds one upload request (one file, or every
	// file of a bulk upload together).
	DefaultMaxUpload = 1 << 30
	// DefaultSearchTTL is how long a posted search stays on the server.
	DefaultSearchTTL = time.Hour
	// SessionCookie is the session cookie, shared with the JSON API.
	SessionCookie = "khomat_session"
	// LangCookie remembers the chosen language ("vi" or "en").
	LangCookie = "khomat_lang"
	// loginCookie carries the double-submit CSRF token of the sign-in
	// form, before there is a session to bind a token to.
	loginCookie = "khomat_login_csrf"
)

// Config is what New needs. Documents, Sessions and Audit are required; a
// nil Users or Search hides and refuses the pages that need them, and a nil
// Verify hides the "verify the log" action.
type Config struct {
	Documents Documents
	Sessions  Sessions
	Users     Users
	Search    Searcher
	Audit     AuditLog
	// Verify re-reads the whole audit log and checks it with only its
	// public key (audit.Verify over the log's folder or bucket copy).
	Verify func(ctx context.Context) (audit.Report, error)
	// Rules are the archive's configurable rules: the level from which a
	// download needs an approved copy request, protection periods, the
	// time zone of "today". They must be those of the archive service.
	Rules archive.Rules
	// MaxUpload bounds an upload request in bytes (DefaultMaxUpload when
	// zero).
	MaxUpload int64
	// SearchTTL is how long a posted search can be paged through
	// (DefaultSearchTTL when zero).
	SearchTTL time.Duration
	// SecureCookies marks cookies Secure (serving TLS, or behind a TLS
	// proxy).
	SecureCookies bool
	Logger        *slog.Logger
	// Clock and Rand default to time.Now and crypto/rand.
	Clock func() time.Time
	Rand  io.Reader
}

// Web is the web interface. Build it with New, add its routes to a Gin
// router with Register.
type Web struct {
	docs      Documents
	sessions  Sessions
	users     Users
	search    Searcher
	audit     AuditLog
	verify    func(ctx context.Context) (audit.Report, error)
	rules     archive.Rules
	maxUpload int64
	secure    bool
	log       *slog.Logger
	now       func() time.Time
	rand      io.Reader

	pages    map[string]*template.Template
	static   fs.FS
	assetVer string
	msgs     catalogue
	searches *searchStore
	base     string // the path prefix of the routes, without a trailing slash
}

// New returns the web interface over cfg, its templates parsed.
func New(cfg Config) (*Web, error) {
	if cfg.Documents == nil || cfg.Sessions == nil || cfg.Audit == nil {
		return nil, errors.New("web: documents, sessions and an audit log are required")
	}
	w := &Web{
		docs: cfg.Documents, sessions: cfg.Sessions, users: cfg.Users, search: cfg.Search,
		audit: cfg.Audit, verify: cfg.Verify, rules: cfg.Rules, maxUpload: cfg.MaxUpload,
		secure: cfg.SecureCookies, log: cfg.Logger, now: cfg.Clock, rand: cfg.Rand,
		msgs: newCatalogue(),
	}
	if w.maxUpload <= 0 {
		w.maxUpload = DefaultMaxUpload
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.rand == nil {
		w.rand = rand.Reader
	} else {
		w.rand = &lockedReader{r: w.rand}
	}
	ttl := cfg.SearchTTL
	if ttl <= 0 {
		ttl = DefaultSearchTTL
	}
	w.searches = newSearchStore(ttl, maxSavedSearches)
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static assets: %w", err)
	}
	w.static = static
	if w.assetVer, err = assetVersion(static); err != nil {
		return nil, err
	}
	if w.pages, err = w.parseTemplates(); err != nil {
		return nil, err
	}
	return w, nil
}

// lockedReader serialises reads of a caller's random source, which need
// not be safe for concurrent use.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// Register adds the pages to r: the home page at r's base path, and the
// rest below it. Every page route gets the interface's security headers,
// which replace any the router set for the JSON API.
func (w *Web) Register(r gin.IRouter) {
	if b, ok := r.(interface{ BasePath() string }); ok {
		w.base = strings.TrimSuffix(b.BasePath(), "/")
	}
	g := r.Group("", w.headers, w.language)

	g.GET("/static/*file", w.serveStatic)
	g.GET("/login", w.loginPage)
	g.POST("/login", w.loginSubmit)

	in := g.Group("", w.authenticate)
	in.GET("/", w.home)
	in.POST("/logout", w.csrf, w.logout)

	in.GET("/search", w.searchPage)
	in.POST("/search", w.csrf, w.searchSubmit)
	in.GET("/search/r/:key", w.searchResults)
	in.POST("/search/r/:key/refine", w.csrf, w.searchRefine)

	in.GET("/documents/:id", w.documentPage)
	in.GET("/documents/:id/view", w.viewPage)
	in.GET("/documents/:id/content", w.viewContent)
	in.POST("/documents/:id/download", w.csrf, w.download)
	in.POST("/documents/:id/copies", w.csrf, w.requestCopy)
	in.POST("/documents/:id/copies/:req/approve", w.csrf, w.approveCopy)
	in.POST("/documents/:id/destruction", w.csrf, w.requestDestruction)
	in.POST("/documents/:id/destruction/approve", w.csrf, w.approveDestruction)
	in.POST("/documents/:id/destruction/cancel", w.csrf, w.cancelDestruction)
	in.GET("/documents/:id/reclassify", w.reclassifyPage)
	in.POST("/documents/:id/reclassify", w.csrf, w.reclassifySubmit)
	in.GET("/documents/:id/protection", w.extendPage)
	in.POST("/documents/:id/protection", w.csrf, w.extendSubmit)
	in.GET("/documents/:id/edit", w.editPage)
	in.POST("/documents/:id/edit", w.csrf, w.editSubmit)
	in.GET("/documents/:id/versions", w.versionPage)
	// As the upload form's, the token of the version form travels in the
	// streamed multipart body, checked before the file part.
	in.POST("/documents/:id/versions", w.versionSubmit)

	in.GET("/upload", w.uploadPage)
	// The upload form's token travels in the multipart body, which the
	// handler streams; it checks the token itself before any file part.
	in.POST("/upload", w.uploadSubmit)

	in.GET("/audit", w.auditPage)
	in.GET("/audit/export", w.auditExport)
	in.POST("/audit/verify", w.csrf, w.auditVerify)

	in.GET("/users", w.usersPage)
	in.GET("/users/new", w.userNewPage)
	in.POST("/users", w.csrf, w.userCreate)
	in.GET("/users/:id", w.userEditPage)
	in.POST("/users/:id", w.csrf, w.userUpdate)
	in.POST("/users/:id/disable", w.csrf, w.userDisable)
	in.POST("/users/:id/enable", w.csrf, w.userEnable)
}

// path returns the absolute path of a route of the interface.
func (w *Web) path(p string) string {
	if p == "/" && w.base != "" {
		return w.base + "/"
	}
	return w.base + p
}
