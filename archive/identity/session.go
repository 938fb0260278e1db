package identity

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
)

// TokenLen is the length of a session token: 32 random bytes in unpadded
// base64url.
const TokenLen = 43

// Session is a login: what a token stands for. The token itself is never
// stored or returned after Login; only its SHA-256.
type Session struct {
	// ID is the hex SHA-256 of the token's 32 bytes, also the name of the
	// stored session (sessions/<ID>). Knowing it does not let anyone use
	// the session.
	ID string `json:"id"`
	// UserID is the id of the user who logged in.
	UserID string `json:"user_id"`
	// CreatedAt is the login time.
	CreatedAt time.Time `json:"created_at"`
	// LastSeenAt is the last use known to this node.
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute end: CreatedAt + MaxLifetime.
	ExpiresAt time.Time `json:"expires_at"`
	// IdleExpiresAt is when the session ends if it is not used again:
	// LastSeenAt + IdleTimeout (never after ExpiresAt).
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	// ClientAddr is the address the login came from.
	ClientAddr string `json:"client_addr"`
}

// sessionRecord is a session as stored, sealed, in sessions/<id>.
type sessionRecord struct {
	Format     int       `json:"format"`
	UserID     string    `json:"user_id"`
	Epoch      uint64    `json:"epoch"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	ClientAddr string    `json:"client_addr"`
}

const sessionFormat = 1

// sessionEntry is a cached session: the record as last read or written,
// its ETag, when it was compared with the store, and the last use seen here
// (which may be ahead of the stored one by up to TouchInterval).
type sessionEntry struct {
	rec      sessionRecord
	etag     string
	checked  time.Time
	lastSeen time.Time
	touching bool
}

func sessionKey(h [32]byte) string { return sessionPrefix + hex.EncodeToString(h[:]) }

// parseToken returns the SHA-256 of a well-formed token's bytes.
func parseToken(token string) ([32]byte, bool) {
	if len(token) != TokenLen {
		return [32]byte{}, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != 32 {
		return [32]byte{}, false
	}
	return sha256.Sum256(raw), true
}

func (s *Service) newToken() (string, [32]byte, error) {
	var raw [32]byte
	if _, err := io.ReadFull(s.rand, raw[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("identity: new token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	h := sha256.Sum256(raw[:])
	clear(raw[:])
	return tok, h, nil
}

func (s *Service) session(h [32]byte, rec sessionRecord, lastSeen time.Time) Session {
	idle := lastSeen.Add(s.sess.IdleTimeout)
	if idle.After(rec.ExpiresAt) {
		idle = rec.ExpiresAt
	}
	return Session{
		ID: hex.EncodeToString(h[:]), UserID: rec.UserID,
		CreatedAt: rec.CreatedAt, LastSeenAt: lastSeen, ExpiresAt: rec.ExpiresAt,
		IdleExpiresAt: idle, ClientAddr: rec.ClientAddr,
	}
}

// writeSession stores a session: created if ifMatch is "", else replaced
// if its ETag is still ifMatch.
func (s *Service) writeSession(ctx context.Context, h [32]byte, rec sessionRecord, ifMatch string) (string, error) {
	rec.Format = sessionFormat
	plain, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("identity: encoding session: %w", err)
	}
	name := hex.EncodeToString(h[:])
	sealed, err := s.k.sealObject(adSession, name, plain, s.rand)
	if err != nil {
		return "", fmt.Errorf("identity: sealing session: %w", err)
	}
	opts := store.PutOptions{IfAbsent: ifMatch == "", IfMatch: ifMatch}
	info, err := s.store.Put(ctx, sessionKey(h), bytes.NewReader(sealed), opts)
	if err != nil {
		return "", fmt.Errorf("identity: writing session: %w", err)
	}
	return info.ETag, nil
}

// readSession reads and opens sessions/<h>; a missing one is
// ErrUnauthenticated.
func (s *Service) readSession(ctx context.Context, h [32]byte) (sessionRecord, string, error) {
	name := hex.EncodeToString(h[:])
	b, info, err := readObjectInfo(ctx, s.store, sessionKey(h))
	if errors.Is(err, store.ErrNotExist) {
		return sessionRecord{}, "", fmt.Errorf("%w: no such session", ErrUnauthenticated)
	}
	if err != nil {
		return sessionRecord{}, "", err
	}
	plain, err := s.k.openObject(adSession, name, b)
	if err != nil {
		return sessionRecord{}, "", err
	}
	var rec sessionRecord
	if err := json.Unmarshal(plain, &rec); err != nil || rec.Format != sessionFormat || !validID(rec.UserID) {
		return sessionRecord{}, "", fmt.Errorf("%w: session %s: malformed", ErrIntegrity, name)
	}
	return rec, info.ETag, nil
}

// installSession caches e under h unless h was ended on this node
// moments ago (a logout racing a request must not bring the session back).
// The caller holds s.mu.
func (s *Service) installSessionLocked(h [32]byte, e *sessionEntry, now time.Time) bool {
	if until, ok := s.ended[h]; ok {
		if now.Before(until) {
			return false
		}
		delete(s.ended, h)
	}
	if _, ok := s.sessions[h]; !ok && len(s.sessions) >= s.sess.MaxCached {
		for k, old := range s.sessions {
			if !now.Before(old.rec.ExpiresAt) {
				delete(s.sessions, k)
			}
		}
		for k := range s.sessions {
			if len(s.sessions) < s.sess.MaxCached*9/10+1 {
				break
			}
			delete(s.sessions, k) // the store still has it
		}
	}
	s.sessions[h] = e
	return true
}

// forgetSession drops h from the cache and keeps it from coming back for
// a while (see installSessionLocked).
func (s *Service) forgetSession(h [32]byte) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, h)
	for k, until := range s.ended {
		if !now.Before(until) {
			delete(s.ended, k)
		}
	}
	s.ended[h] = now.Add(max(s.sess.Recheck, time.Minute))
}

// Authenticate returns the user and session a token stands for. It fails
// with ErrUnauthenticated for a malformed, unknown, expired or revoked
// token, and for a user who is disabled, gone, or whose roles, clearance,
// compartments or password changed since the login (each of those ends
// every session). A node trusts its cached session and user for at most
// SessionConfig.Recheck; changes made on the same node are seen at once.
// Other errors (the store unreachable) are returned as they are.
func (s *Service) Authenticate(ctx context.Context, token string) (User, Session, error) {
	h, ok := parseToken(token)
	if !ok {
		return User{}, Session{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	now := s.now()
	s.mu.Lock()
	e := s.sessions[h]
	var snap sessionEntry
	fresh := e != nil && s.fresh(e.checked, now)
	if fresh {
		snap = *e
	}
	s.mu.Unlock()
	if !fresh {
		rec, etag, err := s.readSession(ctx, h)
		if err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				s.forgetSession(h)
			}
			return User{}, Session{}, err
		}
		s.mu.Lock()
		e = s.sessions[h]
		if e != nil && e.etag == etag {
			e.checked = now
		} else {
			last := rec.LastSeenAt
			if e != nil && e.lastSeen.After(last) {
				last = e.lastSeen // used here since another node touched it
			}
			e = &sessionEntry{rec: rec, etag: etag, checked: now, lastSeen: last}
			if !s.installSessionLocked(h, e, now) {
				s.mu.Unlock()
				return User{}, Session{}, fmt.Errorf("%w: session ended", ErrUnauthenticated)
			}
		}
		snap = *e
		s.mu.Unlock()
	}
	switch {
	case !now.Before(snap.rec.ExpiresAt):
		s.endSession(ctx, h)
		return User{}, Session{}, fmt.Errorf("%w: session expired", ErrUnauthenticated)
	case !now.Before(snap.lastSeen.Add(s.sess.IdleTimeout)):
		s.endSession(ctx, h)
		return User{}, Session{}, fmt.Errorf("%w: session idle too long", ErrUnauthenticated)
	}
	u, err := s.currentUser(ctx, snap.rec.UserID)
	if err == nil && (u.Disabled || u.Epoch != snap.rec.Epoch) {
		// Before ending a session for its user's state, make sure that
		// state is not an old copy: a login made on another node since a
		// change there carries the new epoch.
		u, _, err = s.loadUser(ctx, snap.rec.UserID)
	}
	switch {
	case errors.Is(err, ErrNotFound):
		s.endSession(ctx, h)
		return User{}, Session{}, fmt.Errorf("%w: user gone", ErrUnauthenticated)
	case err != nil:
		return User{}, Session{}, err
	case u.Disabled || u.Epoch != snap.rec.Epoch:
		s.endSession(ctx, h)
		return User{}, Session{}, fmt.Errorf("%w: user disabled or changed", ErrUnauthenticated)
	}

	s.mu.Lock()
	touch := false
	sess := s.session(h, snap.rec, now)
	if e = s.sessions[h]; e != nil {
		if now.After(e.lastSeen) {
			e.lastSeen = now
		}
		touch = !e.touching && e.lastSeen.Sub(e.rec.LastSeenAt) >= s.sess.TouchInterval
		if touch {
			e.touching = true
			snap = *e
		}
		sess = s.session(h, e.rec, e.lastSeen)
	}
	s.mu.Unlock()
	if touch {
		s.touch(ctx, h, snap)
	}
	return u.User.clone(), sess, nil
}

// touch writes a session's last use back to the store, so other nodes and
// the sweep see it as active. Losing the race to another node's touch is
// harmless: the next request rereads the session.
func (s *Service) touch(ctx context.Context, h [32]byte, ent sessionEntry) {
	rec := ent.rec
	rec.LastSeenAt = ent.lastSeen
	etag, err := s.writeSession(ctx, h, rec, ent.etag)
	if err != nil && !errors.Is(err, store.ErrPrecondition) {
		s.log.Warn("recording a session's last use", "user", rec.UserID, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions[h]
	if !ok {
		return
	}
	e.touching = false
	switch {
	case err == nil && e.etag == ent.etag:
		e.rec.LastSeenAt = rec.LastSeenAt
		e.etag = etag
	case err != nil:
		e.checked = time.Time{} // reread on the next request
	}
}

// endSession deletes a session that has ended (expired, or its user
// changed). A failure only leaves debris for SweepSessions.
func (s *Service) endSession(ctx context.Context, h [32]byte) {
	s.forgetSession(h)
	if err := s.store.Delete(ctx, sessionKey(h), store.DeleteOptions{}); err != nil {
		s.log.Warn("deleting an ended session", "err", err)
	}
}

// Logout ends the session of token. It is audited as "logout" before the
// session is deleted. Unlike other changes, a logout is not refused when the
// audit log fails: ending a session only takes access away, and refusing
// would leave a session open that its user believes closed. The session
// ends, and the error (matching ErrAudit) says the log missed it.
func (s *Service) Logout(ctx context.Context, token, clientAddr string) error {
	h, ok := parseToken(token)
	if !ok {
		return fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	rec, _, err := s.readSession(ctx, h)
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			s.forgetSession(h)
		}
		return err
	}
	a := archive.Actor{Subject: s.subjectOf(ctx, rec.UserID), ClientAddr: clientAddr}
	ev := archive.AuditEvent{Action: ActionLogout, Object: rec.UserID, Outcome: archive.Allowed,
		Level: a.Subject.Clearance, Target: a.Subject.Clearance, Reason: "ok"}
	auditErr := s.record(ctx, a, ev)
	s.forgetSession(h)
	if err := s.store.Delete(ctx, sessionKey(h), store.DeleteOptions{}); err != nil {
		return errors.Join(fmt.Errorf("identity: deleting session: %w", err), auditErr)
	}
	return auditErr
}

// subjectOf is the audit subject of a user id: the user's current roles and
// clearance if the account can be read, else the bare id.
func (s *Service) subjectOf(ctx context.Context, id string) access.Subject {
	rec, err := s.currentUser(ctx, id)
	if err != nil {
		return access.Subject{ID: id}
	}
	return access.Subject{ID: id, Roles: rec.Roles, Clearance: rec.Clearance, OrgUnit: rec.OrgUnit}
}

// SweepSessions deletes stored sessions that can never be used again:
// expired, idle past the timeout (by their stored last use), of a user who
// is gone or disabled, or from before a change that ended the user's
// sessions. Run it now and then (for example hourly) on one node. It
// returns how many it deleted. Sessions that fail to open are logged and
// left for an operator to look at.
func (s *Service) SweepSessions(ctx context.Context) (int, error) {
	now := s.now()
	var keys []string
	for info, err := range s.store.List(ctx, sessionPrefix, "") {
		if err != nil {
			return 0, fmt.Errorf("identity: listing sessions: %w", err)
		}
		keys = append(keys, info.Key)
	}
	removed := 0
	for _, key := range keys {
		var h [32]byte
		if b, err := hex.DecodeString(key[len(sessionPrefix):]); err != nil || len(b) != 32 {
			s.log.Error("foreign object among sessions", "key", key)
			continue
		} else {
			copy(h[:], b)
		}
		rec, _, err := s.readSession(ctx, h)
		switch {
		case errors.Is(err, ErrUnauthenticated):
			continue // deleted meanwhile
		case errors.Is(err, ErrIntegrity):
			s.log.Error("stored session fails its integrity check", "key", key, "err", err)
			continue
		case err != nil:
			return removed, err
		}
		dead := !now.Before(rec.ExpiresAt) || !now.Before(rec.LastSeenAt.Add(s.sess.IdleTimeout))
		if !dead {
			u, _, err := s.loadUser(ctx, rec.UserID)
			switch {
			case errors.Is(err, ErrNotFound):
				dead = true
			case err != nil:
				s.log.Error("sweeping sessions: reading their user", "target", rec.UserID, "err", err)
				continue
			default:
				dead = u.Disabled || u.Epoch != rec.Epoch
			}
		}
		if dead {
			if err := s.store.Delete(ctx, key, store.DeleteOptions{}); err != nil {
				return removed, fmt.Errorf("identity: deleting %s: %w", key, err)
			}
			s.forgetSession(h)
			removed++
		}
	}
	return removed, nil
}
