package identity

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"khomat/archive"
	"khomat/archive/access"
)

// DirectoryEntry is what the audit log's readers see of an account: enough
// to say who an actor id is, and nothing that grants or proves anything (no
// roles, clearance, compartments or credentials; an event carries the
// actor's roles and clearance as they were).
type DirectoryEntry struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	OrgUnit     string `json:"org_unit"`
	Disabled    bool   `json:"disabled"`
}

// Directory returns the accounts named by keys, each an account id or a
// username (found through the username index), or every account when keys
// is empty, sorted by username; keys that name no account are left out. The
// audit log names actors by id, so saying who they are is part of reading
// it: the caller must be allowed access.ReadAudit (the auditor), whatever
// the accounts' clearances. The read is audited as one "audit_read" event
// with the detail "directory".
func (s *Service) Directory(ctx context.Context, a archive.Actor, keys ...string) ([]DirectoryEntry, error) {
	ev := archive.AuditEvent{Action: ActionAuditRead, Detail: "directory"}
	if d := access.Decide(a.Subject, access.ReadAudit, access.Resource{}); !d.Allow {
		return nil, s.deny(ctx, a, ev, d.Reason, ErrForbidden)
	}
	ev.Outcome, ev.Reason = archive.Allowed, string(access.ReasonOK)
	if err := s.record(ctx, a, ev); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		var err error
		if keys, err = s.userIDs(ctx, 0); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	var out []DirectoryEntry
	for _, key := range keys {
		id, byName := key, ""
		if !validID(key) {
			canon, ok := loginName(key)
			if !ok {
				continue
			}
			var err error
			if id, _, err = s.lookupName(ctx, canon); errors.Is(err, ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
			byName = canon
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		rec, err := s.currentUser(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && byName != "" && rec.Username != byName):
			// No such account, or a name entry left by a create
			// that did not finish.
			continue
		case errors.Is(err, ErrIntegrity):
			s.log.Error("user record fails its integrity check; left out of the directory", "user", a.Subject.ID, "target", id, "err", err)
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, DirectoryEntry{ID: rec.ID, Username: rec.Username, DisplayName: rec.DisplayName, OrgUnit: rec.OrgUnit, Disabled: rec.Disabled})
	}
	slices.SortFunc(out, func(x, y DirectoryEntry) int { return cmp.Compare(x.Username, y.Username) })
	return out, nil
}
