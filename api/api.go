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
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
)

// Errors that the implementations behind the interfaces below return
// (wrapped) so that the API can answer with the right status. The archive's
// own errors (archive.ErrNotFound, ...) are recognised too.
var (
	// ErrUnauthenticated: the token is unknown, expired or revoked, or its
	// user is disabled.
	ErrUnauthenticated = errors.New("not authenticated")
	// ErrInvalidCredentials: a login with a wrong user name or password
	// (one error for both).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrForbidden: the subject may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: no such user or entry.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the user name is taken, or the record changed.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: a request value is malformed (a weak password, an
	// unknown role, ...).
	ErrInvalid = errors.New("invalid request")
	// ErrInvalidQuery: a search query that does not parse.
	ErrInvalidQuery = errors.New("invalid query")
	// ErrUnavailable: a backend (index, identity store) is unreachable.
	ErrUnavailable = errors.New("unavailable")
)

// ThrottledError refuses a login after too many failures, for RetryAfter.
type ThrottledError struct{ RetryAfter time.Duration }

// Error describes the refusal.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; retry after %s", e.RetryAfter)
}

// Documents is what the API needs of the archive service
// (*archive.Service). Every method decides with access.Decide for the actor
// and records its audit event first; see the archive package for each.
type Documents interface {
	// Create stores a new document from a streamed upload.
	Create(ctx context.Context, a archive.Actor, m archive.Metadata, up archive.Upload) (archive.Document, error)
	// Get returns a document's current metadata.
	Get(ctx context.Context, a archive.Actor, id archive.ID) (archive.Document, error)
	// Revisions returns every metadata revision, oldest first.
	Revisions(ctx context.Context, a archive.Actor, id archive.ID) ([]archive.Document, error)
	// Open streams a version's content, whole or a range.
	Open(ctx context.Context, a archive.Actor, id archive.ID, opts archive.OpenOptions) (*archive.Content, error)
	// AddVersion stores new content as the next version.
	AddVersion(ctx context.Context, a archive.Actor, id archive.ID, up archive.Upload) (archive.Document, error)
	// UpdateMetadata writes a new metadata revision.
	UpdateMetadata(ctx context.Context, a archive.Actor, id archive.ID, m archive.Metadata, expectedRev uint32) (archive.Document, error)
	// Reclassify changes the secrecy level.
	Reclassify(ctx context.Context, a archive.Actor, id archive.ID, r archive.Reclassification) (archive.Document, error)
	// ExtendProtection extends the protection period of a classified
	// document before it ends.
	ExtendProtection(ctx context.Context, a archive.Actor, id archive.ID, x archive.Extension) (archive.Document, error)
	// RequestCopy enters a copy request in the document's copy register.
	RequestCopy(ctx context.Context, a archive.Actor, id archive.ID, reason string) (archive.CopyRequest, error)
	// ApproveCopy approves another user's copy request.
	ApproveCopy(ctx context.Context, a archive.Actor, id archive.ID, requestID string) (archive.Document, error)
	// RequestDestruction asks for the document's destruction.
	RequestDestruction(ctx context.Context, a archive.Actor, id archive.ID, reason, decisionRef string) (archive.Document, error)
	// CancelDestruction withdraws a pending destruction request.
	CancelDestruction(ctx context.Context, a archive.Actor, id archive.ID) (archive.Document, error)
	// ApproveDestruction destroys the document (crypto-shredding).
	ApproveDestruction(ctx context.Context, a archive.Actor, id archive.ID) error
}

var _ Documents = (*archive.Service)(nil)

// User is an account as the API shows it. It never holds a password or
// its hash.
type User struct {
	// ID is the account's stable identifier; Username is what the user
	// signs in with.
	ID           string        `json:"id"`
	Username     string        `json:"username"`
	DisplayName  string        `json:"display_name"`
	Roles        []access.Role `json:"roles"`
	Clearance    access.Level  `json:"clearance"`
	Compartments []string      `json:"compartments"`
	OrgUnit      string        `json:"org_unit,omitempty"`
	// Disabled accounts cannot sign in and have no sessions.
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Subject returns the access subject the user acts as.
func (u User) Subject() access.Subject {
	return access.Subject{ID: u.ID, Roles: u.Roles, Clearance: u.Clearance, Compartments: u.Compartments, OrgUnit: u.OrgUnit}
}

// Session is a signed-in session: an opaque token and when it expires.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// NewUser is an account to create.
type NewUser struct {
	Username     string        `json:"username"`
	Password     string        `json:"password"`
	DisplayName  string        `json:"display_name"`
	Roles        []access.Role `json:"roles"`
	Clearance    access.Level  `json:"clearance"`
	Compartments []string      `json:"compartments"`
	OrgUnit      string        `json:"org_unit"`
}

// UserChange changes an account; nil fields stay as they are.
type UserChange struct {
	DisplayName  *string        `json:"display_name"`
	Password     *string        `json:"password"`
	Roles        *[]access.Role `json:"roles"`
	Clearance    *access.Level  `json:"clearance"`
	Compartments *[]string      `json:"compartments"`
	OrgUnit      *string        `json:"org_unit"`
	// Disabled true disables the account and ends its sessions at once.
	Disabled *bool `json:"disabled"`
}

// Sessions signs users in and out and resolves tokens.
type Sessions interface {
	// Login checks a user name and password; client is the caller's
	// address, for throttling. It returns ErrInvalidCredentials or a
	// *ThrottledError when it refuses.
	Login(ctx context.Context, username, password, client string) (Session, error)
	// Authenticate returns the user of a live session, or
	// ErrUnauthenticated.
	Authenticate(ctx context.Context, token string) (User, error)
	// Logout ends the session of token; client is the caller's address.
	Logout(ctx context.Context, token, client string) error
}

// Users manages accounts; each call decides with access.Decide for the
// acting subject and records its audit event.
type Users interface {
	// CreateUser creates an account.
	CreateUser(ctx context.Context, a archive.Actor, u NewUser) (User, error)
	// ListUsers lists the accounts the actor may manage.
	ListUsers(ctx context.Context, a archive.Actor) ([]User, error)
	// UpdateUser changes an account.
	UpdateUser(ctx context.Context, a archive.Actor, id string, ch UserChange) (User, error)
}

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
