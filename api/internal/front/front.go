// Package front holds what Khomat's two HTTP front ends — the JSON API
// (package api) and the web pages (api/web) — share: the errors their
// backends return, accounts and sessions as both show them, the adapter
// that serves both from the account directory (archive/identity), the
// translation of the search indexes' errors and highlights, and the
// security headers both send. api registers api/web, so api/web cannot
// import api; both import this package instead, and re-export its names.
package front

import (
	"context"
	"errors"
	"fmt"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/identity"
)

// Errors that the implementations behind the front ends' interfaces return
// (wrapped) so that the front ends can say what went wrong.
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
	// unknown role, ...); field errors in the chain say which.
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

// User is an account as the front ends show it. It never holds a password
// or its hash.
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

// Subject returns the access subject the user acts as; a disabled user is
// no subject at all.
func (u User) Subject() access.Subject {
	if u.Disabled {
		return access.Subject{}
	}
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

// Sessions signs users in and out and resolves session tokens.
type Sessions interface {
	// Login checks a user name and password; client is the caller's
	// address, for throttling. It returns ErrInvalidCredentials or a
	// *ThrottledError when it refuses.
	Login(ctx context.Context, username, password, client string) (Session, error)
	// Authenticate returns the user of a live session, or
	// ErrUnauthenticated.
	Authenticate(ctx context.Context, token string) (User, error)
	// Logout ends the session of token; client is the caller's address,
	// for the audit log.
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
	// Directory says who the accounts named by keys (ids or usernames)
	// are (every account when none is named), for the readers of the
	// audit log.
	Directory(ctx context.Context, a archive.Actor, keys ...string) ([]DirectoryEntry, error)
}

// DirectoryEntry is what the audit log's readers see of an account: id,
// username, display name, organisation unit and whether it is disabled.
type DirectoryEntry = identity.DirectoryEntry

var (
	_ Sessions = Identity{}
	_ Users    = Identity{}
)

// Documents is what both front ends need of the archive service
// (*archive.Service). Every method decides with access.Decide for the
// actor and records its audit event first; see the archive package for
// each.
type Documents interface {
	// Create stores a new document from a streamed upload.
	Create(ctx context.Context, a archive.Actor, m archive.Metadata, up archive.Upload) (archive.Document, error)
	// Get returns a document's current metadata.
	Get(ctx context.Context, a archive.Actor, id archive.ID) (archive.Document, error)
	// AddVersion stores new content as the next version.
	AddVersion(ctx context.Context, a archive.Actor, id archive.ID, up archive.Upload) (archive.Document, error)
	// UpdateMetadata writes a new metadata revision; expectedRev, when not
	// zero, must be the current revision.
	UpdateMetadata(ctx context.Context, a archive.Actor, id archive.ID, m archive.Metadata, expectedRev uint32) (archive.Document, error)
	// Revisions returns every metadata revision, oldest first.
	Revisions(ctx context.Context, a archive.Actor, id archive.ID) ([]archive.Document, error)
	// Open streams a version's content, whole or a range.
	Open(ctx context.Context, a archive.Actor, id archive.ID, opts archive.OpenOptions) (*archive.Content, error)
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
