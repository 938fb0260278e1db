package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/archive/store/storetest"
	"khomat/crypto"
)

// fakeClock is moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder is an audit sink that keeps events in memory and fails on
// demand.
type recorder struct {
	mu     sync.Mutex
	events []archive.AuditEvent
	fail   atomic.Bool
	// okLeft, when not negative, is how many more events are accepted
	// before the sink starts failing.
	okLeft int
}

var errSinkDown = errors.New("audit disk full")

func (r *recorder) Record(_ context.Context, e archive.AuditEvent) error {
	if r.fail.Load() {
		return errSinkDown
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.okLeft == 0 {
		return errSinkDown
	}
	if r.okLeft > 0 {
		r.okLeft--
	}
	r.events = append(r.events, e)
	return nil
}

// failAfter makes the sink accept n more events and then fail; -1 heals
// it.
func (r *recorder) failAfter(n int) {
	r.mu.Lock()
	r.okLeft = n
	r.mu.Unlock()
}

func (r *recorder) all() []archive.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) find(action string, outcome archive.Outcome) []archive.AuditEvent {
	var out []archive.AuditEvent
	for _, e := range r.all() {
		if e.Action == action && e.Outcome == outcome {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) last() archive.AuditEvent {
	ev := r.all()
	if len(ev) == 0 {
		return archive.AuditEvent{}
	}
	return ev[len(ev)-1]
}

// cheapArgon2 makes tests fast; one test runs the defaults.
var cheapArgon2 = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// backend is a store the tests run against.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

func backends() []backend {
	return []backend{
		{"folder", func(t testing.TB) store.Store {
			f, err := store.OpenFolder(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{"minio", func(t testing.TB) store.Store { return storetest.NewS3(t, false) }},
	}
}

// forEachStore runs fn on a new, empty store of every backend.
func forEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.open(t))
		})
	}
}

// env is one node's Service with its clock, audit sink and keyring.
type env struct {
	t     testing.TB
	store store.Store
	keys  *crypto.Keyring
	clock *fakeClock
	audit *recorder
	cfg   Config
	svc   *Service
	root  User // the bootstrap admin
}

const (
	rootName = "quantri"
	rootPass = "mật khẩu quản trị rất dài"
)

var testAdminCompartments = []string{"kinh-te", "quoc-phong"}

// newEnv opens a Service on st with test settings changed by mods, and
// creates the first admin.
func newEnv(t testing.TB, st store.Store, mods ...func(*Config)) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	keys, err := crypto.NewKeyring(rand.Reader, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Destroy)
	e := &env{t: t, store: st, keys: keys, clock: clock, audit: &recorder{okLeft: -1}}
	e.cfg = Config{
		Store: st, Keys: keys, Audit: e.audit,
		Argon2:            cheapArgon2,
		AdminCompartments: testAdminCompartments,
		Sessions:          SessionConfig{Recheck: time.Hour},
		Clock:             clock.Now,
	}
	for _, m := range mods {
		m(&e.cfg)
	}
	e.svc = e.node()
	root, created, err := e.svc.EnsureAdmin(context.Background(), rootName, rootPass)
	if err != nil || !created {
		t.Fatalf("EnsureAdmin: %v, created %v", err, created)
	}
	e.root = root
	return e
}

// node opens another Service (another server node) on the same store,
// keyring, clock and audit sink.
func (e *env) node() *Service {
	e.t.Helper()
	s, err := Open(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

func actor(u User) archive.Actor {
	return archive.Actor{Subject: u.Subject(), ClientAddr: "10.0.0.1", RequestID: "req-1"}
}

func (e *env) rootActor() archive.Actor { return actor(e.root) }

// mustCreate creates a user as root.
func (e *env) mustCreate(name string, roles []access.Role, level access.Level, comps ...string) User {
	e.t.Helper()
	u, err := e.svc.Create(context.Background(), e.rootActor(), NewUser{
		Username: name, Password: "mật khẩu của " + name, DisplayName: "Cán bộ " + name,
		Roles: roles, Clearance: level, Compartments: comps, OrgUnit: "Văn phòng",
	})
	if err != nil {
		e.t.Fatalf("Create %s: %v", name, err)
	}
	return u
}

func passwordOf(name string) string { return "mật khẩu của " + name }

// login logs name in with its test password.
func (e *env) login(s *Service, name string) (string, User) {
	e.t.Helper()
	tok, _, u, err := s.Login(context.Background(), name, passwordOf(name), "10.0.0.9")
	if err != nil {
		e.t.Fatalf("Login %s: %v", name, err)
	}
	return tok, u
}

func ptr[T any](v T) *T { return &v }

func newTestKeyring() (*crypto.Keyring, error) { return crypto.NewKeyring(rand.Reader, time.Now()) }
