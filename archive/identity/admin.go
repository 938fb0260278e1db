package identity

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
)

// orphanGrace is how long a username reservation may point to a user
// record that does not exist before a new Create may take it over: such a
// reservation is debris of a Create that stopped between its two writes.
const orphanGrace = 2 * time.Minute

// Create makes a new account. The actor must be an admin (access.ManageUsers)
// and may give no clearance or compartment above their own
// (access.GrantClearance). A username already taken is ErrUsernameTaken
// (an ErrConflict); of two admins creating the same username at once,
// exactly one succeeds.
func (s *Service) Create(ctx context.Context, a archive.Actor, n NewUser) (User, error) {
	if d := access.Decide(a.Subject, access.ManageUsers, access.Resource{}); !d.Allow {
		return User{}, s.deny(ctx, a, archive.AuditEvent{Action: ActionUserCreate}, d.Reason, ErrForbidden)
	}
	u, pw, err := s.prepareNew(n)
	if err != nil {
		return User{}, err
	}
	return s.create(ctx, a, u, pw, true)
}

// prepareNew normalises and validates n.
func (s *Service) prepareNew(n NewUser) (User, string, error) {
	u := User{
		Username:     CanonicalUsername(n.Username),
		DisplayName:  cleanText(n.DisplayName),
		Roles:        sortedRoles(n.Roles),
		Clearance:    n.Clearance,
		Compartments: cleanCompartments(n.Compartments),
		OrgUnit:      cleanText(n.OrgUnit),
	}
	pw := cleanPassword(n.Password)
	var c checker
	c.username(u.Username)
	c.password("password", pw, u.Username, s.minPass)
	c.text("display_name", u.DisplayName, MaxDisplayNameLen, true)
	c.text("org_unit", u.OrgUnit, MaxOrgUnitLen, false)
	c.roles(n.Roles)
	c.clearance(u.Clearance)
	c.compartments(u.Compartments)
	u.Compartments = sortedStrings(u.Compartments)
	return u, pw, c.result()
}

func (s *Service) create(ctx context.Context, a archive.Actor, u User, pw string, authorize bool) (User, error) {
	ev := archive.AuditEvent{Action: ActionUserCreate, Level: u.Clearance, Target: u.Clearance}
	if authorize {
		res := access.Resource{Target: u.Clearance, Compartments: u.Compartments}
		for _, act := range []access.Action{access.ManageUsers, access.GrantClearance} {
			if d := access.Decide(a.Subject, act, res); !d.Allow {
				return User{}, s.deny(ctx, a, ev, d.Reason, ErrForbidden)
			}
		}
	}
	id, err := s.newID()
	if err != nil {
		return User{}, err
	}
	ev.Object = id
	hash, err := s.hash(ctx, pw)
	if err != nil {
		return User{}, err
	}
	takeover, err := s.nameFree(ctx, u.Username)
	if errors.Is(err, ErrUsernameTaken) {
		ev.Outcome, ev.Reason = archive.Failed, ReasonUsernameTaken
		if rerr := s.record(ctx, a, ev); rerr != nil {
			return User{}, rerr
		}
		return User{}, err
	}
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	u.ID = id
	u.CreatedAt, u.CreatedBy = now, a.Subject.ID
	u.UpdatedAt, u.UpdatedBy = now, a.Subject.ID
	u.PasswordChangedAt = now
	u.Revision = 1
	rec := &record{User: u, PasswordHash: hash, Epoch: 1}

	ev.Outcome, ev.Reason, ev.Detail = archive.Allowed, string(access.ReasonOK), rolesDetail(u.Roles)
	if err := s.record(ctx, a, ev); err != nil {
		return User{}, err
	}
	// The reservation comes first: a Create that stops after it leaves a
	// name pointing nowhere, which the next Create of that name takes over
	// after orphanGrace, rather than an account nobody can log into.
	if err := s.reserveName(ctx, u.Username, id, takeover); err != nil {
		s.failed(ctx, a, ev, err)
		return User{}, err
	}
	if err := s.writeUser(ctx, rec, ""); err != nil {
		s.failed(ctx, a, ev, err)
		return User{}, err
	}
	s.log.Info("user created", "request_id", a.RequestID, "user", a.Subject.ID, "target", id)
	return rec.User.clone(), nil
}

// nameFree checks that a canonical username is free. It returns the ETag of
// an orphaned reservation to take over, "" if there is none, or
// ErrUsernameTaken.
func (s *Service) nameFree(ctx context.Context, canonical string) (string, error) {
	id, info, err := s.lookupName(ctx, canonical)
	switch {
	case errors.Is(err, ErrNotFound):
		return "", nil
	case err != nil:
		return "", err
	}
	_, err = s.store.Stat(ctx, userKey(id))
	switch {
	case err == nil:
		return "", ErrUsernameTaken
	case !errors.Is(err, store.ErrNotExist):
		return "", err
	case s.now().Sub(info.ModTime) < orphanGrace:
		// Perhaps another admin's Create, between its two writes.
		return "", ErrUsernameTaken
	}
	return info.ETag, nil
}

// deny records a denied action and returns errOut, or the audit failure.
func (s *Service) deny(ctx context.Context, a archive.Actor, ev archive.AuditEvent, reason access.Reason, errOut error) error {
	ev.Outcome, ev.Reason = archive.Denied, string(reason)
	if err := s.record(ctx, a, ev); err != nil {
		return err
	}
	return errOut
}

// loadTarget loads account id for an admin action and decides
// access.ManageUsers on it, recording a denial as action. An account above
// the admin's clearance or compartments is ErrNotFound, like a missing one.
func (s *Service) loadTarget(ctx context.Context, a archive.Actor, id, action string) (*record, string, error) {
	ev := archive.AuditEvent{Action: action, Object: id}
	if d := access.Decide(a.Subject, access.ManageUsers, access.Resource{}); !d.Allow {
		return nil, "", s.deny(ctx, a, ev, d.Reason, ErrForbidden)
	}
	if !validID(id) {
		ev.Object = ""
	}
	rec, etag, err := s.loadUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, "", s.deny(ctx, a, ev, ReasonNotFound, ErrNotFound)
	}
	if err != nil {
		s.failed(ctx, a, ev, err)
		return nil, "", err
	}
	ev.Level = rec.Clearance
	res := access.Resource{Target: rec.Clearance, Compartments: rec.Compartments}
	if d := access.Decide(a.Subject, access.ManageUsers, res); !d.Allow {
		return nil, "", s.deny(ctx, a, ev, d.Reason, denyErr(d))
	}
	return rec, etag, nil
}

// Get returns an account the admin may manage. Reads are audited as
// "manage_users".
func (s *Service) Get(ctx context.Context, a archive.Actor, id string) (User, error) {
	action := access.ManageUsers.String()
	rec, _, err := s.loadTarget(ctx, a, id, action)
	if err != nil {
		return User{}, err
	}
	ev := archive.AuditEvent{Action: action, Object: id, Level: rec.Clearance, Outcome: archive.Allowed, Reason: string(access.ReasonOK)}
	if err := s.record(ctx, a, ev); err != nil {
		return User{}, err
	}
	return rec.User.clone(), nil
}

// List returns every account the admin may manage, by username. Accounts
// above the admin's clearance or compartments are left out, as if they did
// not exist. The listing is audited as one "manage_users" event.
func (s *Service) List(ctx context.Context, a archive.Actor) ([]User, error) {
	ev := archive.AuditEvent{Action: access.ManageUsers.String()}
	if d := access.Decide(a.Subject, access.ManageUsers, access.Resource{}); !d.Allow {
		return nil, s.deny(ctx, a, ev, d.Reason, ErrForbidden)
	}
	ev.Outcome, ev.Reason = archive.Allowed, string(access.ReasonOK)
	if err := s.record(ctx, a, ev); err != nil {
		return nil, err
	}
	ids, err := s.userIDs(ctx, 0)
	if err != nil {
		return nil, err
	}
	users := make([]User, 0, len(ids))
	for _, id := range ids {
		rec, _, err := s.loadUser(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // removed since the listing
		case errors.Is(err, ErrIntegrity):
			s.log.Error("user record fails its integrity check; left out of the list", "user", a.Subject.ID, "target", id, "err", err)
			continue
		case err != nil:
			return nil, err
		}
		res := access.Resource{Target: rec.Clearance, Compartments: rec.Compartments}
		if access.Decide(a.Subject, access.ManageUsers, res).Allow {
			users = append(users, rec.User.clone())
		}
	}
	slices.SortFunc(users, func(x, y User) int { return cmp.Compare(x.Username, y.Username) })
	return users, nil
}

// Update changes the fields of up that are set. The actor must be an admin
// who may manage the account (its clearance and compartments within their
// own), and who may grant any new clearance and compartments. An admin may
// not change their own roles, clearance, compartments or disabled state:
// that takes a second admin. Changing roles, clearance or compartments, or
// disabling, ends every session of the account. The audit log gets one event
// per kind of change (user_disable, role_change, clearance_change,
// user_update), all before the change is written. A concurrent change of
// the same account, or an IfRevision that is no longer current, is
// ErrConflict and changes nothing.
func (s *Service) Update(ctx context.Context, a archive.Actor, id string, up UserUpdate) (User, error) {
	rec, etag, err := s.loadTarget(ctx, a, id, updateAction(up))
	if err != nil {
		return User{}, err
	}
	next := rec.clone()
	var c checker
	if up.DisplayName != nil {
		next.DisplayName = cleanText(*up.DisplayName)
		c.text("display_name", next.DisplayName, MaxDisplayNameLen, true)
	}
	if up.OrgUnit != nil {
		next.OrgUnit = cleanText(*up.OrgUnit)
		c.text("org_unit", next.OrgUnit, MaxOrgUnitLen, false)
	}
	if up.Roles != nil {
		c.roles(*up.Roles)
		next.Roles = sortedRoles(*up.Roles)
	}
	if up.Clearance != nil {
		next.Clearance = *up.Clearance
		c.clearance(next.Clearance)
	}
	if up.Compartments != nil {
		comps := cleanCompartments(*up.Compartments)
		c.compartments(comps)
		next.Compartments = sortedStrings(comps)
	}
	if up.Disabled != nil {
		next.Disabled = *up.Disabled
	}
	if err := c.result(); err != nil {
		return User{}, err
	}

	profile := next.DisplayName != rec.DisplayName || next.OrgUnit != rec.OrgUnit
	roles := !slices.Equal(next.Roles, rec.Roles)
	clearance := next.Clearance != rec.Clearance || !slices.Equal(next.Compartments, rec.Compartments)
	disabling := next.Disabled && !rec.Disabled
	enabling := !next.Disabled && rec.Disabled
	if !profile && !roles && !clearance && !disabling && !enabling {
		return rec.User.clone(), nil
	}

	base := archive.AuditEvent{Object: id, Level: rec.Clearance, Target: next.Clearance}
	if a.Subject.ID == id && (roles || clearance || disabling || enabling) {
		base.Action = updateAction(up)
		return User{}, s.deny(ctx, a, base, ReasonSelfChange, ErrForbidden)
	}
	if clearance {
		res := access.Resource{Target: next.Clearance, Compartments: next.Compartments}
		if d := access.Decide(a.Subject, access.GrantClearance, res); !d.Allow {
			base.Action = ActionClearance
			return User{}, s.deny(ctx, a, base, d.Reason, ErrForbidden)
		}
	}
	if up.IfRevision != 0 && up.IfRevision != rec.Revision {
		base.Action = updateAction(up)
		s.failed(ctx, a, base, ErrConflict)
		return User{}, ErrConflict
	}

	var events []archive.AuditEvent
	add := func(action, detail string) {
		e := base
		e.Action, e.Outcome, e.Reason, e.Detail = action, archive.Allowed, string(access.ReasonOK), detail
		events = append(events, e)
	}
	if disabling {
		add(ActionUserDisable, "")
	}
	if roles {
		add(ActionRoleChange, rolesDetail(next.Roles))
	}
	if clearance {
		add(ActionClearance, compartmentsDetail(next.Compartments))
	}
	if profile || enabling {
		add(ActionUserUpdate, "")
	}
	next.Revision++
	next.UpdatedAt, next.UpdatedBy = s.now().UTC(), a.Subject.ID
	if roles || clearance || disabling {
		next.Epoch++ // every session ends
	}
	if err := s.commit(ctx, a, next, etag, events); err != nil {
		return User{}, err
	}
	return next.User.clone(), nil
}

// commit records events (all allowed) and then writes rec over the version
// read under etag. If an event cannot be recorded, nothing is written; if
// the write fails, the events already recorded are followed by failures.
func (s *Service) commit(ctx context.Context, a archive.Actor, rec *record, etag string, events []archive.AuditEvent) error {
	for i, e := range events {
		if err := s.record(ctx, a, e); err != nil {
			for _, done := range events[:i] {
				s.failed(ctx, a, done, err)
			}
			return err
		}
	}
	if err := s.writeUser(ctx, rec, etag); err != nil {
		for _, e := range events {
			s.failed(ctx, a, e, err)
		}
		return err
	}
	return nil
}

// updateAction names an update for its audit events when it is refused
// before its changes are known: the weightiest kind it asks for.
func updateAction(up UserUpdate) string {
	switch {
	case up.Disabled != nil && *up.Disabled:
		return ActionUserDisable
	case up.Clearance != nil || up.Compartments != nil:
		return ActionClearance
	case up.Roles != nil:
		return ActionRoleChange
	}
	return ActionUserUpdate
}

// Disable disables an account and ends its sessions at once (on this node;
// on other nodes within SessionConfig.Recheck). It is Update with Disabled
// set.
func (s *Service) Disable(ctx context.Context, a archive.Actor, id string) (User, error) {
	yes := true
	return s.Update(ctx, a, id, UserUpdate{Disabled: &yes})
}

// SetPassword sets another account's password (an admin's reset) and ends
// its sessions. Admins change their own password with ChangePassword, which
// asks for the old one.
func (s *Service) SetPassword(ctx context.Context, a archive.Actor, id, password string) error {
	rec, etag, err := s.loadTarget(ctx, a, id, ActionPasswordSet)
	if err != nil {
		return err
	}
	ev := archive.AuditEvent{Action: ActionPasswordSet, Object: id, Level: rec.Clearance, Target: rec.Clearance}
	if a.Subject.ID == id {
		return s.deny(ctx, a, ev, ReasonSelfChange, ErrForbidden)
	}
	return s.setPassword(ctx, a, rec, etag, password, ev)
}

// setPassword validates and hashes password, records ev as allowed and
// writes the new hash with a new session epoch.
func (s *Service) setPassword(ctx context.Context, a archive.Actor, rec *record, etag, password string, ev archive.AuditEvent) error {
	pw := cleanPassword(password)
	var c checker
	c.password("password", pw, rec.Username, s.minPass)
	if err := c.result(); err != nil {
		return err
	}
	hash, err := s.hash(ctx, pw)
	if err != nil {
		return err
	}
	next := rec.clone()
	now := s.now().UTC()
	next.PasswordHash = hash
	next.PasswordChangedAt = now
	next.UpdatedAt, next.UpdatedBy = now, a.Subject.ID
	next.Revision++
	next.Epoch++
	ev.Outcome, ev.Reason = archive.Allowed, string(access.ReasonOK)
	return s.commit(ctx, a, next, etag, []archive.AuditEvent{ev})
}

// EndSessions ends every session of an account at once (on other nodes
// within SessionConfig.Recheck), for an admin who suspects a stolen token.
// It is audited as "logout" of the account, with reason "all_sessions".
func (s *Service) EndSessions(ctx context.Context, a archive.Actor, id string) error {
	rec, etag, err := s.loadTarget(ctx, a, id, ActionLogout)
	if err != nil {
		return err
	}
	next := rec.clone()
	next.Revision++
	next.UpdatedAt, next.UpdatedBy = s.now().UTC(), a.Subject.ID
	next.Epoch++
	ev := archive.AuditEvent{Action: ActionLogout, Object: id, Level: rec.Clearance, Target: rec.Clearance,
		Outcome: archive.Allowed, Reason: "all_sessions"}
	return s.commit(ctx, a, next, etag, []archive.AuditEvent{ev})
}

// EnsureAdmin creates the first account when the store holds none: an admin
// with Tuyệt mật clearance and Config.AdminCompartments, display name
// "Quản trị", created by the system actor. It returns the account and true
// when it created it. When any account exists it does nothing and returns
// false, whatever username it is given; so it is safe to call at every
// start, and of several nodes starting at once on an empty store one
// creates the admin.
func (s *Service) EnsureAdmin(ctx context.Context, username, password string) (User, bool, error) {
	ids, err := s.userIDs(ctx, 1)
	if err != nil {
		return User{}, false, err
	}
	if len(ids) > 0 {
		return User{}, false, nil
	}
	u, pw, err := s.prepareNew(NewUser{
		Username:     username,
		Password:     password,
		DisplayName:  "Quản trị",
		Roles:        []access.Role{access.Admin},
		Clearance:    access.TopSecret,
		Compartments: s.adminComps,
	})
	if err != nil {
		return User{}, false, err
	}
	system := archive.Actor{Subject: access.Subject{ID: SystemActor}}
	created, err := s.create(ctx, system, u, pw, false)
	if errors.Is(err, ErrUsernameTaken) {
		return User{}, false, nil // another node was first
	}
	if err != nil {
		return User{}, false, err
	}
	return created, true, nil
}
