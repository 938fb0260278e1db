package identity

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
)

// The audit actions of accounts and sessions. They are the strings of the
// matching constants of khomat/archive/audit (a test holds them equal), so
// the log's filters find them.
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionLogout      = "logout"
	ActionUserCreate  = "user_create"
	ActionUserUpdate  = "user_update"
	ActionUserDisable = "user_disable"
	ActionRoleChange  = "role_change"
	ActionClearance   = "clearance_change"
	ActionPasswordSet = "password_reset"
	// ActionAuditRead is the audit package's audit_read: Directory is
	// part of reading the log.
	ActionAuditRead = "audit_read"
)

// The reason codes of login_failed events (and of a refused password
// change). The client is told none of them: it sees ErrBadCredentials or
// ErrThrottled.
const (
	ReasonUnknownUser     = "unknown_user"
	ReasonBadPassword     = "bad_password"
	ReasonDisabled        = "disabled"
	ReasonThrottled       = "throttled"
	ReasonInvalidUsername = "invalid_username"
	ReasonIntegrity       = "integrity"
	// ReasonSelfChange: an admin tried to change their own roles,
	// clearance, compartments or state, which needs a second admin.
	ReasonSelfChange = "self_change"
	// ReasonUsernameTaken: a create lost to an existing username.
	ReasonUsernameTaken = "username_taken"
	// ReasonNotFound: the account does not exist.
	ReasonNotFound = "not_found"
)

// SystemActor is the actor of changes the server makes on its own behalf
// (the first admin, created by EnsureAdmin). It is the audit log's
// SystemActor.
const SystemActor = "system"

// record writes an audit event for actor a and fails closed.
func (s *Service) record(ctx context.Context, a archive.Actor, e archive.AuditEvent) error {
	e.Time = s.now().UTC()
	e.Actor = a.Subject.ID
	e.Roles = a.Subject.Roles
	e.Clearance = a.Subject.Clearance
	e.OrgUnit = a.Subject.OrgUnit
	e.ClientIP = a.ClientAddr
	e.Request = a.RequestID
	if err := s.audit.Record(ctx, e); err != nil {
		s.log.Error("audit record failed; action refused", "request_id", a.RequestID, "user", a.Subject.ID, "action", e.Action, "err", err)
		return errors.Join(ErrAudit, err)
	}
	return nil
}

// failed records that an action recorded as allowed did not take effect.
// Nothing changed, so a failure to record it is only logged.
func (s *Service) failed(ctx context.Context, a archive.Actor, e archive.AuditEvent, cause error) {
	e.Outcome = archive.Failed
	e.Reason = failureReason(cause)
	if err := s.record(context.WithoutCancel(ctx), a, e); err != nil {
		s.log.Error("recording a failed action", "request_id", a.RequestID, "err", err)
	}
}

func failureReason(err error) string {
	switch {
	case errors.Is(err, ErrUsernameTaken):
		return ReasonUsernameTaken
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrIntegrity):
		return ReasonIntegrity
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	case errors.Is(err, store.ErrUnavailable):
		return "store_unavailable"
	}
	return "error"
}

// denyErr turns a denied decision on an account into the error the actor
// gets: a subject who may not manage users at all is forbidden; an admin
// asking about an account above their own clearance or compartments finds
// no such account.
func denyErr(d access.Decision) error {
	switch d.Reason {
	case access.ReasonAboveOwnClearance, access.ReasonCompartment:
		return ErrNotFound
	}
	return ErrForbidden
}

// rolesDetail and compartmentsDetail are the Detail of allowed role and
// clearance changes, so the log says what was granted. Codes and labels
// only, never free text.
func rolesDetail(rs []access.Role) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.String()
	}
	return "roles=" + strings.Join(names, ",")
}

func compartmentsDetail(cs []string) string {
	d := "compartments=" + strings.Join(cs, ",")
	if len(d) > 512 {
		d = "compartments=" + strconv.Itoa(len(cs))
	}
	return d
}
