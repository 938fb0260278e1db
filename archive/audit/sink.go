package audit

import (
	"context"

	"khomat/archive"
)

var _ archive.AuditSink = (*Log)(nil)

// Record appends an event reported by the archive service and returns once
// it is durable: Log is the service's archive.AuditSink. The two event types
// map field for field; the archive's has no query hash.
func (l *Log) Record(ctx context.Context, e archive.AuditEvent) error {
	_, err := l.Append(ctx, Event{
		Time:      e.Time,
		Actor:     e.Actor,
		Roles:     e.Roles,
		Clearance: e.Clearance,
		OrgUnit:   e.OrgUnit,
		Action:    e.Action,
		Object:    e.Object,
		Version:   e.Version,
		Level:     e.Level,
		Target:    e.Target,
		Outcome:   Outcome(e.Outcome),
		Reason:    e.Reason,
		ClientIP:  e.ClientIP,
		Request:   e.Request,
		Detail:    e.Detail,
	})
	return err
}
