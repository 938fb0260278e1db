package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"khomat/archive"
	"khomat/archive/access"
)

// hash runs Argon2id on pw within the bound on concurrent computations.
func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	h, err := hashPassword(pw, s.params, s.rand)
	if err != nil {
		return "", fmt.Errorf("identity: hashing a password: %w", err)
	}
	return h, nil
}

// verify checks pw against a stored hash within the same bound.
func (s *Service) verify(ctx context.Context, pw, phc string) (ok, stale bool, err error) {
	if err := s.acquire(ctx); err != nil {
		return false, false, err
	}
	defer s.release()
	return verifyPassword(pw, phc, s.params)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("identity: waiting to hash a password: %w", ctx.Err())
	}
}

func (s *Service) release() { <-s.hashing }

// maxLoginName bounds the username text a login looks at: a valid one is
// at most MaxUsernameLen characters of at most 4 bytes.
const maxLoginName = 4 * MaxUsernameLen

// Login checks a username and password and opens a session. It returns the
// session token (shown to the client once, never stored), the session and
// the user.
//
// An unknown username, a wrong password and a disabled account all give
// ErrBadCredentials after the same work: an unknown username is checked
// against a dummy hash with the same Argon2id parameters, and a disabled
// account's password is checked before it is refused. Failures count
// against the username and against clientAddr (ThrottleConfig); while
// either is locked out, Login answers a *ThrottledError without checking
// anything. Every attempt is audited, "login" or "login_failed" with a
// reason code, and a login whose event cannot be recorded is refused
// (ErrAudit). A successful login whose hash was made with other Argon2id
// parameters than the configured ones is rehashed.
func (s *Service) Login(ctx context.Context, username, password, clientAddr string) (string, Session, User, error) {
	now := s.now()
	canon, valid := loginName(username)
	userKey, addrKey := userThrottleKey(canon), addrThrottleKey(clientAddr)
	a := archive.Actor{ClientAddr: clientAddr}
	fail := archive.AuditEvent{Action: ActionLoginFailed, Outcome: archive.Denied}

	if wait := s.throttle.wait(now, userKey, addrKey); wait > 0 {
		fail.Reason = ReasonThrottled
		if err := s.record(ctx, a, fail); err != nil {
			return "", Session{}, User{}, err
		}
		return "", Session{}, User{}, &ThrottledError{RetryAfter: max(wait, time.Second)}
	}

	var rec *record
	var etag string
	reason := ReasonInvalidUsername
	if valid {
		reason = ReasonUnknownUser
		id, _, err := s.lookupName(ctx, canon)
		if err == nil {
			rec, etag, err = s.loadUser(ctx, id)
		} else if errors.Is(err, ErrNotFound) {
			// A known username costs a second read and the opening of its
			// record; an unknown one reads a small object and opens a
			// decoy record, so the two do the same work.
			_, _ = readObject(ctx, s.store, keyObject)
			_, _ = s.openUser(strings.Repeat("0", 32), s.decoy)
		}
		switch {
		case errors.Is(err, ErrNotFound):
		case errors.Is(err, ErrIntegrity):
			s.log.Error("login: an identity record fails its integrity check", "err", err)
			reason, rec = ReasonIntegrity, nil
		case err != nil:
			return "", Session{}, User{}, err
		}
	}
	phc := s.dummy
	if rec != nil {
		phc = rec.PasswordHash
	}
	ok, stale, err := s.verify(ctx, cleanPassword(password), phc)
	if err != nil && rec != nil {
		s.log.Error("login: a stored password hash is malformed", "target", rec.ID, "err", err)
		reason, ok = ReasonIntegrity, false
	} else if err != nil {
		return "", Session{}, User{}, err
	}
	switch {
	case rec == nil:
		ok = false
	case !ok:
		reason = ReasonBadPassword
	case rec.Disabled:
		reason, ok = ReasonDisabled, false
	}

	if !ok {
		s.throttle.fail(now, userKey, addrKey)
		if rec != nil {
			a.Subject = access.Subject{ID: rec.ID, Roles: rec.Roles, Clearance: rec.Clearance, OrgUnit: rec.OrgUnit}
			fail.Object = rec.ID
		}
		fail.Reason = reason
		if err := s.record(ctx, a, fail); err != nil {
			return "", Session{}, User{}, err
		}
		return "", Session{}, User{}, ErrBadCredentials
	}

	a.Subject = rec.User.Subject()
	ev := archive.AuditEvent{Action: ActionLogin, Object: rec.ID, Outcome: archive.Allowed,
		Level: rec.Clearance, Target: rec.Clearance, Reason: string(access.ReasonOK)}
	if err := s.record(ctx, a, ev); err != nil {
		return "", Session{}, User{}, err
	}
	s.throttle.succeed(userKey)
	token, h, err := s.newToken()
	if err != nil {
		s.failed(ctx, a, ev, err)
		return "", Session{}, User{}, err
	}
	srec := sessionRecord{
		UserID: rec.ID, Epoch: rec.Epoch, CreatedAt: now.UTC(), LastSeenAt: now.UTC(),
		ExpiresAt: now.UTC().Add(s.sess.MaxLifetime), ClientAddr: clientAddr,
	}
	setag, err := s.writeSession(ctx, h, srec, "")
	if err != nil {
		s.failed(ctx, a, ev, err)
		return "", Session{}, User{}, err
	}
	s.mu.Lock()
	s.installSessionLocked(h, &sessionEntry{rec: srec, etag: setag, checked: now, lastSeen: srec.LastSeenAt}, now)
	s.mu.Unlock()
	if stale {
		s.rehash(ctx, rec, etag, password)
	}
	return token, s.session(h, srec, srec.LastSeenAt), rec.User.clone(), nil
}

// loginName returns the canonical form of a typed username and whether it
// could be a valid one. An invalid one is still throttled, under a digest
// so that its length does not matter.
func loginName(username string) (string, bool) {
	if len(username) > maxLoginName || !utf8.ValidString(username) {
		sum := sha256.Sum256([]byte(username))
		return "#" + hex.EncodeToString(sum[:]), false
	}
	canon := CanonicalUsername(username)
	var c checker
	c.username(canon)
	return canon, c.result() == nil
}

// rehash replaces a hash made with old parameters after a successful login.
// It changes no credential, so it is not audited and does not end
// sessions; losing a race to an admin's edit just leaves it for next time.
func (s *Service) rehash(ctx context.Context, rec *record, etag, password string) {
	hash, err := s.hash(ctx, cleanPassword(password))
	if err != nil {
		s.log.Warn("rehashing a password", "target", rec.ID, "err", err)
		return
	}
	next := rec.clone()
	next.PasswordHash = hash
	next.Revision++
	if err := s.writeUser(ctx, next, etag); err != nil && !errors.Is(err, ErrConflict) {
		s.log.Warn("rehashing a password", "target", rec.ID, "err", err)
	}
}

// ChangePassword changes the actor's own password, given the current one.
// A wrong current password is ErrBadCredentials and counts as a failed login
// for the throttle; while locked out, a *ThrottledError. Every session of
// the account ends, the current one included: the client logs in again.
func (s *Service) ChangePassword(ctx context.Context, a archive.Actor, oldPassword, newPassword string) error {
	now := s.now()
	id := a.Subject.ID
	ev := archive.AuditEvent{Action: ActionPasswordSet, Object: id, Level: a.Subject.Clearance, Target: a.Subject.Clearance}
	rec, etag, err := s.loadUser(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.deny(ctx, a, ev, ReasonNotFound, ErrForbidden)
	case err != nil:
		s.failed(ctx, a, ev, err)
		return err
	case rec.Disabled:
		return s.deny(ctx, a, ev, ReasonDisabled, ErrForbidden)
	}
	userKey, addrKey := userThrottleKey(rec.Username), addrThrottleKey(a.ClientAddr)
	if wait := s.throttle.wait(now, userKey, addrKey); wait > 0 {
		if err := s.deny(ctx, a, ev, ReasonThrottled, nil); err != nil {
			return err
		}
		return &ThrottledError{RetryAfter: max(wait, time.Second)}
	}
	ok, _, err := s.verify(ctx, cleanPassword(oldPassword), rec.PasswordHash)
	if err != nil {
		s.failed(ctx, a, ev, ErrIntegrity)
		return fmt.Errorf("%w: user %s: %w", ErrIntegrity, id, err)
	}
	if !ok {
		s.throttle.fail(now, userKey, addrKey)
		return s.deny(ctx, a, ev, ReasonBadPassword, ErrBadCredentials)
	}
	s.throttle.succeed(userKey)
	return s.setPassword(ctx, a, rec, etag, newPassword, ev)
}
