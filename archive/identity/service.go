package identity

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/crypto"
)

// Config is what Open needs. Store, Keys and Audit are required; every other
// field has a default.
type Config struct {
	// Store holds the accounts and sessions (users/…, sessions/…).
	Store store.Store
	// Keys unwraps the system key (users/key) under the Tuyệt mật KEK.
	Keys crypto.Wrapper
	// Audit records every change and every login before it takes effect;
	// if it fails, the change is refused.
	Audit archive.AuditSink

	// Argon2 are the parameters of new password hashes; zero means
	// DefaultArgon2Params.
	Argon2 Argon2Params
	// MaxHashing bounds the Argon2id computations that run at once (each
	// takes Argon2.MemoryKiB); zero means GOMAXPROCS. Logins beyond it
	// wait.
	MaxHashing int
	// MinPasswordLen is the shortest password accepted, in characters;
	// zero means DefaultMinPasswordLen. Values under 8 are refused.
	MinPasswordLen int
	// Sessions sets session lifetimes and caching.
	Sessions SessionConfig
	// Throttle sets the lockout after failed logins.
	Throttle ThrottleConfig
	// AdminCompartments are the compartments EnsureAdmin gives the first
	// admin. An admin grants only compartments they hold, so the labels
	// an office uses must enter through the first admin.
	AdminCompartments []string

	// Clock, Rand and Logger default to time.Now, crypto/rand and a
	// logger that discards. Rand need not be safe for concurrent use.
	Clock  func() time.Time
	Rand   io.Reader    // ids, salts, keys and tokens
	Logger *slog.Logger // operational messages; never a name, password or token
}

// SessionConfig sets how long sessions live and how long a node trusts what
// it has cached.
type SessionConfig struct {
	// IdleTimeout ends a session not used for this long; zero means 30
	// minutes.
	IdleTimeout time.Duration
	// MaxLifetime ends a session this long after login however much it is
	// used; zero means 12 hours.
	MaxLifetime time.Duration
	// Recheck is how long a node trusts its cached copy of a session or a
	// user before comparing it with the store (a stat of the object). A
	// change made on this node takes effect on it at once; one made on
	// another node (a disable, a logout) within Recheck. Zero means 5
	// seconds; a negative value rechecks on every request.
	Recheck time.Duration
	// TouchInterval is how often a session's last use is written back to
	// the store, so that other nodes see it as active; zero means the
	// smaller of a minute and IdleTimeout/4. It must be at most half of
	// IdleTimeout.
	TouchInterval time.Duration
	// MaxCached bounds the sessions cached in memory; zero means 100 000.
	MaxCached int
}

func (c *SessionConfig) setDefaults() error {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.MaxLifetime == 0 {
		c.MaxLifetime = 12 * time.Hour
	}
	if c.Recheck == 0 {
		c.Recheck = 5 * time.Second
	}
	if c.TouchInterval == 0 {
		c.TouchInterval = min(time.Minute, c.IdleTimeout/4)
	}
	if c.MaxCached == 0 {
		c.MaxCached = 100_000
	}
	switch {
	case c.IdleTimeout < 0 || c.MaxLifetime < 0 || c.TouchInterval < 0 || c.MaxCached < 0:
		return errors.New("negative session setting")
	case c.TouchInterval > c.IdleTimeout/2:
		return fmt.Errorf("touch interval %s is more than half the idle timeout %s", c.TouchInterval, c.IdleTimeout)
	}
	return nil
}

// Service is the account directory: users, passwords, logins and sessions.
// Every change is authorized with access.Decide, recorded in the audit log,
// and only then written. It is safe for concurrent use, and several
// services (on several nodes) may share one store.
type Service struct {
	store      store.Store
	keys       crypto.Wrapper
	audit      archive.AuditSink
	params     Argon2Params
	minPass    int
	sess       SessionConfig
	adminComps []string
	now        func() time.Time
	rand       io.Reader
	log        *slog.Logger

	k        *keys
	dummy    string        // a hash of a random password, verified for unknown users
	decoy    []byte        // a sealed user record, opened for unknown users
	hashing  chan struct{} // one token per Argon2id computation in flight
	throttle *throttle

	mu       sync.Mutex
	users    map[string]*userEntry
	sessions map[[32]byte]*sessionEntry
	ended    map[[32]byte]time.Time // sessions ended here lately, until when
}

// Open opens the account directory in cfg.Store, creating the system key
// (users/key) if the store has none. Call Close when done.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Audit == nil {
		return nil, errors.New("identity: a store, a key wrapper and an audit sink are required")
	}
	s := &Service{
		store: cfg.Store, keys: cfg.Keys, audit: cfg.Audit,
		params: cfg.Argon2, minPass: cfg.MinPasswordLen, sess: cfg.Sessions,
		now: cfg.Clock, rand: cfg.Rand, log: cfg.Logger,
		users:    make(map[string]*userEntry),
		sessions: make(map[[32]byte]*sessionEntry),
		ended:    make(map[[32]byte]time.Time),
	}
	if s.params == (Argon2Params{}) {
		s.params = DefaultArgon2Params()
	}
	if err := s.params.validate(); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if s.minPass == 0 {
		s.minPass = DefaultMinPasswordLen
	}
	if s.minPass < 8 {
		return nil, fmt.Errorf("identity: minimum password length %d is under 8", s.minPass)
	}
	if err := s.sess.setDefaults(); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	th, err := newThrottle(cfg.Throttle)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	s.throttle = th
	comps := cleanCompartments(cfg.AdminCompartments)
	var c checker
	c.compartments(comps)
	if err := c.result(); err != nil {
		return nil, fmt.Errorf("identity: admin compartments: %w", err)
	}
	s.adminComps = sortedStrings(comps)
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = crand.Reader
	} else {
		s.rand = &lockedReader{r: s.rand}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	n := cfg.MaxHashing
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	s.hashing = make(chan struct{}, n)

	if s.k, err = openKeys(ctx, s.store, s.keys, s.rand); err != nil {
		return nil, err
	}
	var dummy [32]byte
	if _, err := io.ReadFull(s.rand, dummy[:]); err != nil {
		s.k.destroy()
		return nil, fmt.Errorf("identity: reading random bytes: %w", err)
	}
	if s.dummy, err = hashPassword(hex.EncodeToString(dummy[:]), s.params, s.rand); err != nil {
		s.k.destroy()
		return nil, fmt.Errorf("identity: %w", err)
	}
	if s.decoy, err = s.sealUser(decoyRecord(s.dummy)); err != nil {
		s.k.destroy()
		return nil, err
	}
	return s, nil
}

// Close zeroes the keys held in memory. The Service is unusable afterwards.
func (s *Service) Close() error {
	s.k.destroy()
	return nil
}

// RewrapKey rewraps the system key (users/key) under the active Tuyệt mật
// KEK, so that an older KEK version can be retired after a rotation. The
// key itself, and so every identity record, is unchanged.
func (s *Service) RewrapKey(ctx context.Context) error {
	env, info, err := readObjectInfo(ctx, s.store, keyObject)
	if err != nil {
		return err
	}
	next, err := crypto.Rewrap(s.keys, env, systemKeyLevel, systemBinding(), systemKeyLevel)
	if err != nil {
		return fmt.Errorf("identity: rewrapping %s: %w", keyObject, err)
	}
	if _, err := s.store.Put(ctx, keyObject, bytes.NewReader(next), store.PutOptions{IfMatch: info.ETag}); err != nil {
		return fmt.Errorf("identity: writing %s: %w", keyObject, err)
	}
	return nil
}

// record is a user as stored: the User, its password hash and the session
// epoch. Every session records the epoch of its login; changing the epoch
// ends them all.
type record struct {
	Format int `json:"format"`
	User
	PasswordHash string `json:"password_hash"`
	Epoch        uint64 `json:"epoch"`
}

const recordFormat = 1

func (r *record) clone() *record {
	c := *r
	c.User = r.User.clone()
	return &c
}

// userEntry is a cached user record with the ETag it was read or written
// under and when it was last compared with the store.
type userEntry struct {
	rec     *record
	etag    string
	checked time.Time
}

func userKey(id string) string { return userPrefix + id }

// validID reports whether id is 32 lower-case hex digits.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (s *Service) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", fmt.Errorf("identity: new user id: %w", err)
	}
	if b == [16]byte{} {
		return "", errors.New("identity: new user id: random source returned zeros")
	}
	return hex.EncodeToString(b[:]), nil
}

// loadUser reads and opens users/<id>. A missing user is ErrNotFound.
func (s *Service) loadUser(ctx context.Context, id string) (*record, string, error) {
	if !validID(id) {
		return nil, "", ErrNotFound
	}
	b, info, err := readObjectInfo(ctx, s.store, userKey(id))
	if errors.Is(err, store.ErrNotExist) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	rec, err := s.openUser(id, b)
	if err != nil {
		return nil, "", err
	}
	// Revisions only grow. A read older than what this node last wrote or
	// read is a read that raced a write here, or a record put back by
	// someone with write access to the bucket: either way the newer one
	// stands.
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.users[id]; ok && e.rec.Revision > rec.Revision {
		return e.rec.clone(), e.etag, nil
	}
	s.users[id] = &userEntry{rec: rec.clone(), etag: info.ETag, checked: s.now()}
	return rec, info.ETag, nil
}

// sealUser encodes and seals a user record.
func (s *Service) sealUser(rec *record) ([]byte, error) {
	rec.Format = recordFormat
	plain, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("identity: encoding user %s: %w", rec.ID, err)
	}
	sealed, err := s.k.sealObject(adUser, rec.ID, plain, s.rand)
	if err != nil {
		return nil, fmt.Errorf("identity: sealing user %s: %w", rec.ID, err)
	}
	return sealed, nil
}

// openUser opens and decodes a sealed user record found under id.
func (s *Service) openUser(id string, sealed []byte) (*record, error) {
	plain, err := s.k.openObject(adUser, id, sealed)
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(plain, &rec); err != nil || rec.Format != recordFormat || rec.ID != id {
		return nil, fmt.Errorf("%w: user %s: malformed record", ErrIntegrity, id)
	}
	return &rec, nil
}

// decoyRecord is a record of typical size that belongs to nobody: Login
// opens it for an unknown username, so that it does the work of a known one.
func decoyRecord(hash string) *record {
	return &record{User: User{
		ID: strings.Repeat("0", 32), Username: "khong.ton.tai", DisplayName: "Không tồn tại",
		Roles: []access.Role{access.Reader}, Compartments: []string{}, OrgUnit: "Văn phòng",
		Disabled: true, Revision: 1,
	}, PasswordHash: hash}
}

// writeUser stores rec: created if ifMatch is "", else replaced if its ETag
// is still ifMatch. A lost race is ErrConflict.
func (s *Service) writeUser(ctx context.Context, rec *record, ifMatch string) error {
	sealed, err := s.sealUser(rec)
	if err != nil {
		return err
	}
	opts := store.PutOptions{IfAbsent: ifMatch == "", IfMatch: ifMatch}
	info, err := s.store.Put(ctx, userKey(rec.ID), bytes.NewReader(sealed), opts)
	switch {
	case errors.Is(err, store.ErrExist), errors.Is(err, store.ErrPrecondition):
		return fmt.Errorf("identity: writing user %s: %w", rec.ID, ErrConflict)
	case err != nil:
		return fmt.Errorf("identity: writing user %s: %w", rec.ID, err)
	}
	s.cacheUser(rec.clone(), info.ETag)
	return nil
}

// cacheUser remembers rec unless a newer revision is already cached (a
// slow read must not undo a write that finished first).
func (s *Service) cacheUser(rec *record, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.users[rec.ID]; ok && e.rec.Revision > rec.Revision {
		return
	}
	s.users[rec.ID] = &userEntry{rec: rec, etag: etag, checked: s.now()}
}

func (s *Service) fresh(checked, now time.Time) bool {
	return s.sess.Recheck > 0 && now.Sub(checked) < s.sess.Recheck && !now.Before(checked)
}

// currentUser returns the user as cached if the cache is fresh, after
// comparing its ETag with the store's otherwise, or as read.
func (s *Service) currentUser(ctx context.Context, id string) (*record, error) {
	now := s.now()
	s.mu.Lock()
	e := s.users[id]
	s.mu.Unlock()
	if e != nil && s.fresh(e.checked, now) {
		return e.rec, nil
	}
	if e != nil {
		info, err := s.store.Stat(ctx, userKey(id))
		switch {
		case errors.Is(err, store.ErrNotExist):
			s.mu.Lock()
			delete(s.users, id)
			s.mu.Unlock()
			return nil, ErrNotFound
		case err != nil:
			return nil, fmt.Errorf("identity: checking user %s: %w", id, err)
		case info.ETag == e.etag:
			s.mu.Lock()
			if cur := s.users[id]; cur == e {
				e2 := *e
				e2.checked = now
				s.users[id] = &e2
			}
			s.mu.Unlock()
			return e.rec, nil
		}
	}
	rec, _, err := s.loadUser(ctx, id)
	return rec, err
}

// nameEntry is what users/by-name/<nameID> holds, sealed.
type nameEntry struct {
	ID string `json:"id"`
}

// lookupName returns the user id a canonical username is reserved for,
// with the index object's Info; ErrNotFound if none.
func (s *Service) lookupName(ctx context.Context, canonical string) (string, store.Info, error) {
	nid := s.k.nameID(canonical)
	b, info, err := readObjectInfo(ctx, s.store, namePrefix+nid)
	if errors.Is(err, store.ErrNotExist) {
		return "", store.Info{}, ErrNotFound
	}
	if err != nil {
		return "", store.Info{}, err
	}
	plain, err := s.k.openObject(adName, nid, b)
	if err != nil {
		return "", store.Info{}, err
	}
	var ne nameEntry
	if err := json.Unmarshal(plain, &ne); err != nil || !validID(ne.ID) {
		return "", store.Info{}, fmt.Errorf("%w: username index %s: malformed", ErrIntegrity, nid)
	}
	return ne.ID, info, nil
}

// reserveName writes users/by-name/<nameID> pointing to id: created if
// ifMatch is "", else replaced if still ifMatch. A lost race is
// ErrUsernameTaken.
func (s *Service) reserveName(ctx context.Context, canonical, id, ifMatch string) error {
	nid := s.k.nameID(canonical)
	plain, err := json.Marshal(nameEntry{ID: id})
	if err != nil {
		return fmt.Errorf("identity: encoding username index: %w", err)
	}
	sealed, err := s.k.sealObject(adName, nid, plain, s.rand)
	if err != nil {
		return fmt.Errorf("identity: sealing username index: %w", err)
	}
	opts := store.PutOptions{IfAbsent: ifMatch == "", IfMatch: ifMatch}
	_, err = s.store.Put(ctx, namePrefix+nid, bytes.NewReader(sealed), opts)
	switch {
	case errors.Is(err, store.ErrExist), errors.Is(err, store.ErrPrecondition):
		return ErrUsernameTaken
	case err != nil:
		return fmt.Errorf("identity: writing username index: %w", err)
	}
	return nil
}

// userIDs lists the ids of every stored user, in key order.
func (s *Service) userIDs(ctx context.Context, limit int) ([]string, error) {
	var ids []string
	for info, err := range s.store.List(ctx, userPrefix, "") {
		if err != nil {
			return nil, fmt.Errorf("identity: listing users: %w", err)
		}
		id := strings.TrimPrefix(info.Key, userPrefix)
		if validID(id) {
			ids = append(ids, id)
			if limit > 0 && len(ids) == limit {
				break
			}
		}
	}
	return ids, nil
}

// lockedReader serializes reads from a source that may not be safe for
// concurrent use (a deterministic one in tests).
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

// Read reads from the source under the lock.
func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
