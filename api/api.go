// Package api is Khomat's HTTP API: a Gin router under /api/v1 that speaks
// JSON, answers errors as RFC 9457 problems, and puts every request through
// the archive service, the identity store, the search indexes and the audit
// log, which decide and record. Handlers hold narrow interfaces defined
// here; cmd/khomat wires the real implementations.
//
// The routes and middleware are in router.go; the OpenAPI document that
// describes them is openapi.yaml, served at /api/v1/openapi.yaml.
package api

import (
	"context"
	"io"

	"golang.org/x/mod/sumdb/tlog"

	"khomat/api/internal/front"
	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
)

// Errors that the implementations behind the interfaces below return
// (wrapped) so that the API can answer with the right status. The archive's
// own errors (archive.ErrNotFound, ...) are recognised too. They are the
// web pages' errors too (package front).
var (
	// ErrUnauthenticated: the token is unknown, expired or revoked, or its
	// user is disabled.
	ErrUnauthenticated = front.ErrUnauthenticated
	// ErrInvalidCredentials: a login with a wrong user name or password
	// (one error for both).
	ErrInvalidCredentials = front.ErrInvalidCredentials
	// ErrForbidden: the subject may not do this.
	ErrForbidden = front.ErrForbidden
	// ErrNotFound: no such user or entry.
	ErrNotFound = front.ErrNotFound
	// ErrConflict: the user name is taken, or the record changed.
	ErrConflict = front.ErrConflict
	// ErrInvalid: a request value is malformed (a weak password, an
	// unknown role, ...).
	ErrInvalid = front.ErrInvalid
	// ErrInvalidQuery: a search query that does not parse.
	ErrInvalidQuery = front.ErrInvalidQuery
	// ErrUnavailable: a backend (index, identity store) is unreachable.
	ErrUnavailable = front.ErrUnavailable
)

// ThrottledError refuses a login after too many failures, for RetryAfter.
type ThrottledError = front.ThrottledError

// Documents is what the API needs of the archive service
// (*archive.Service). Every method decides with access.Decide for the actor
// and records its audit event first; see the archive package for each.
type Documents interface {
	// The methods the web pages use too: create, read, versions and
	// metadata revisions, reclassify, extend the protection period,
	// copies and destruction.
	front.Documents
}

var _ Documents = (*archive.Service)(nil)

// User is an account as the API shows it. It never holds a password or
// its hash; Subject is the access subject it acts as.
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

// SearchRequest is a search as the API receives it.
type SearchRequest struct {
	// Query is the user's query text (words, "phrases", -exclusions and
	// field filters); empty lists everything visible.
	Query  string
	Levels []access.Level
	Types  []archive.DocType
	// From and To bound the date issued, inclusive; zero for open.
	From, To archive.Date
	// Sort is "auto" (relevance when the query has words, else newest
	// first), "relevance", "newest" (or "date") or "oldest".
	Sort string
	// Page counts from 1; Size is the page size.
	Page, Size int
}

// SearchHit is one document found.
type SearchHit struct {
	ID         archive.ID          `json:"id"`
	Title      string              `json:"title"`
	Level      access.Level        `json:"level"`
	Type       archive.DocType     `json:"doc_type"`
	IssuedAt   archive.Date        `json:"issued_at,omitzero"`
	Score      float64             `json:"score"`
	Highlights map[string][]string `json:"highlights,omitempty"`
}

// FacetCount is the number of hits with one value of a facet.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// SearchResult is a page of hits and the facets of every hit.
type SearchResult struct {
	Total  int                     `json:"total"`
	Hits   []SearchHit             `json:"hits"`
	Facets map[string][]FacetCount `json:"facets"`
}

// Searcher runs searches bound to the subject's clearance: nothing above
// it, or outside its compartments or named-recipient markings, can shape
// the result. A query that does not parse is ErrInvalidQuery.
type Searcher interface {
	// Search runs r for subject s.
	Search(ctx context.Context, s access.Subject, r SearchRequest) (SearchResult, error)
}

// AuditLog is what the API needs of the audit log (*audit.Log): appending
// the API's own events (searches, audit reads), and the auditors' queries,
// exports, checkpoints and proofs.
type AuditLog interface {
	Append(ctx context.Context, e audit.Event) (uint64, error)
	Query(ctx context.Context, q audit.Query) (audit.Page, error)
	Export(ctx context.Context, w io.Writer, q audit.Query, f audit.Format) (audit.Checkpoint, error)
	Checkpoint(ctx context.Context) (audit.Checkpoint, error)
	Entry(ctx context.Context, seq uint64) (audit.Entry, error)
	InclusionProof(ctx context.Context, seq, size uint64) (tlog.RecordProof, error)
	ConsistencyProof(ctx context.Context, older, newer uint64) (tlog.TreeProof, error)
	QueryHasher() *audit.QueryHasher
	VerifierKey() string
	Status() audit.Status
}

var _ AuditLog = (*audit.Log)(nil)

// Check is a readiness check: Check returns nil when the part named Name
// can serve.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}
