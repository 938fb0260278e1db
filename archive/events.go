package archive

import (
	"context"
	"io"
	"time"

	"khomat/archive/access"
)

// Actor is who asks the service to act, and from where: the authenticated
// subject plus what the audit log records of the request. The API builds it
// from the session; nothing in a request body fills it.
type Actor struct {
	Subject    access.Subject
	ClientAddr string // the client's IP address
	RequestID  string // the request's correlation id
}

// Outcome is how an audited action ended.
type Outcome string

// The outcomes of an audited action.
const (
	// Allowed: the policy allowed the action and it took effect.
	Allowed Outcome = "allowed"
	// Denied: the policy refused the action; nothing happened.
	Denied Outcome = "denied"
	// Failed: the policy allowed the action but it did not complete
	// (storage or integrity error); nothing visible changed.
	Failed Outcome = "failed"
)

// AuditEvent is what the service reports of every decision and change. It
// carries no title, summary, query text or content: a Tuyệt mật title in a
// log that a Mật-cleared auditor reads would itself be a leak.
type AuditEvent struct {
	Time      time.Time
	Actor     string // subject ID
	Roles     []access.Role
	Clearance access.Level
	OrgUnit   string
	// Action is the access action asked for (access.Action.String(), e.g.
	// "read", "create", "lower_level"), or a service event such as
	// "sweep".
	Action  string
	Object  string       // the document ID, "" when none
	Version uint32       // the document version concerned, 0 when none
	Level   access.Level // the document's level at decision time
	Target  access.Level // the new level of a reclassification
	Outcome Outcome
	Reason  string // access.Reason for decisions, an error code for failures
	// Detail holds codes that qualify the action, as "key=value" pairs
	// separated by spaces ("roles=reader,auditor" for a role change);
	// never free text, a title or a secret.
	Detail   string
	ClientIP string
	Request  string // request id
}

// AuditSink records audit events durably. Record returns only once the
// event is durable; an error means it is not, and the service then refuses
// the action (fail closed): nothing happens unlogged. The audit package
// implements it.
type AuditSink interface {
	Record(ctx context.Context, e AuditEvent) error
}

// Indexer keeps the search index in step with the archive. The service
// calls it after a change is committed to the store; the store stays the
// truth, so an indexing failure is logged and repaired by a later pass, never
// a reason to undo the change. The search package implements it.
type Indexer interface {
	// Index adds or replaces the document's entry. open returns the
	// plaintext content of the document's current version for text
	// extraction; the indexer closes it.
	Index(ctx context.Context, doc Document, open func(context.Context) (io.ReadCloser, error)) error
	// Remove drops the document from every index (after destruction).
	Remove(ctx context.Context, id ID) error
}
