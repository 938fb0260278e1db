package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/gin-gonic/gin"
	"golang.org/x/text/unicode/norm"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
	"khomat/archive/store"
	"khomat/crypto"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	os.Exit(m.Run())
}

// env is a running web interface over the real archive service, the real
// audit log and the real folder store. Accounts and search are stand-ins
// (directory and listSearch below) until the identity and search packages
// are wired in by `khomat serve`.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	web      *Web
	docs     *archive.Service
	log      *audit.Log
	logDir   string
	dir      *directory
	users    map[string]User // by username
	password string
}

// The accounts of every test, by username.
var testAccounts = []struct {
	name, display string
	roles         []access.Role
	clearance     access.Level
	comps         []string
}{
	{"admin", "Quản trị viên", []access.Role{access.Admin}, access.TopSecret, []string{"kinh-te", "quoc-phong"}},
	{"vanthu", "Nguyễn Thị Văn Thư", []access.Role{access.Archivist, access.Reader}, access.Secret, []string{"kinh-te"}},
	{"thamquyen", "Trần Văn Thẩm Quyền", []access.Role{access.SecurityOfficer, access.Reader}, access.TopSecret, []string{"kinh-te"}},
	{"thamquyen2", "Lê Văn Duyệt", []access.Role{access.SecurityOfficer}, access.TopSecret, []string{"kinh-te"}},
	{"canbo", "Phạm Văn Cán Bộ", []access.Role{access.Reader}, access.Secret, []string{"kinh-te"}},
	{"canbomat", "Hoàng Thị Mật", []access.Role{access.Reader}, access.Confidential, nil},
	{"kiemtra", "Đỗ Văn Kiểm Tra", []access.Role{access.Auditor}, access.Unclassified, nil},
}

// newEnv starts the interface; opts change its Config before New.
func newEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := crypto.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	log, err := audit.Open(logDir, audit.Options{Node: "web-test", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close(context.Background()) })
	docs, err := archive.New(archive.Config{Store: st, Keys: keys, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, docs: docs, log: log, logDir: logDir, users: map[string]User{}, password: "mật-khẩu-thử-nghiệm-2026"}
	e.dir = newDirectory(log, e.password)
	for _, a := range testAccounts {
		u := e.dir.add(a.name, a.display, a.roles, a.clearance, a.comps)
		e.users[a.name] = u
	}
	cfg := Config{
		Documents: docs, Sessions: e.dir, Users: e.dir, Search: &listSearch{docs: docs}, Audit: log,
		Verify: func(ctx context.Context) (audit.Report, error) {
			return audit.Verify(ctx, audit.Folder{Dir: logDir}, log.Verifier())
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.web = w
	r := gin.New()
	w.Register(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	_ = ctx
	return e
}

// directory is the stand-in account store of the tests: passwords in
// memory, opaque random session tokens, audited changes. It follows the
// contract of Sessions and Users, including disabling that ends sessions.
type directory struct {
	log      *audit.Log
	password string

	mu       sync.Mutex
	users    map[string]*User // by id
	pw       map[string]string
	sessions map[string]dirSession
}

type dirSession struct {
	user    string
	expires time.Time
}

func newDirectory(log *audit.Log, password string) *directory {
	return &directory{log: log, password: password, users: map[string]*User{}, pw: map[string]string{}, sessions: map[string]dirSession{}}
}

func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (d *directory) add(name, display string, roles []access.Role, clearance access.Level, comps []string) User {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := &User{ID: randomID(), Username: name, DisplayName: display, Roles: roles, Clearance: clearance, Compartments: comps, CreatedAt: time.Now()}
	d.users[u.ID] = u
	d.pw[u.ID] = d.password
	return *u
}

func (d *directory) Login(ctx context.Context, username, password, client string) (Session, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, u := range d.users {
		if u.Username == username && d.pw[id] == password && !u.Disabled {
			tok := randomID() + randomID()
			d.sessions[tok] = dirSession{user: id, expires: time.Now().Add(time.Hour)}
			d.log.Append(ctx, audit.Event{Actor: id, Roles: u.Roles, Clearance: u.Clearance, Action: audit.ActionLogin, Outcome: audit.Allowed, Reason: "ok", ClientIP: client})
			return Session{Token: tok, ExpiresAt: time.Now().Add(time.Hour), User: *u}, nil
		}
	}
	d.log.Append(ctx, audit.Event{Action: audit.ActionLoginFailed, Outcome: audit.Denied, Reason: "bad_credentials", ClientIP: client})
	return Session{}, ErrInvalidCredentials
}

func (d *directory) Authenticate(ctx context.Context, token string) (User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.sessions[token]
	if !ok || time.Now().After(s.expires) {
		return User{}, ErrUnauthenticated
	}
	u := d.users[s.user]
	if u == nil || u.Disabled {
		return User{}, ErrUnauthenticated
	}
	return *u, nil
}

func (d *directory) Logout(ctx context.Context, token, client string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.sessions, token)
	return nil
}

// expire ends every session of a user, as the identity store does when a
// session runs out.
func (d *directory) expire(userID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, s := range d.sessions {
		if s.user == userID {
			delete(d.sessions, k)
		}
	}
}

func (d *directory) record(ctx context.Context, a archive.Actor, action, object string, dec access.Decision) error {
	o := audit.Allowed
	if !dec.Allow {
		o = audit.Denied
	}
	_, err := d.log.Append(ctx, audit.Event{Actor: a.Subject.ID, Roles: a.Subject.Roles, Clearance: a.Subject.Clearance,
		Action: action, Object: object, Outcome: o, Reason: string(dec.Reason), ClientIP: a.ClientAddr, Request: a.RequestID})
	return err
}

func (d *directory) CreateUser(ctx context.Context, a archive.Actor, nu NewUser) (User, error) {
	dec := access.Decide(a.Subject, access.ManageUsers, access.Resource{Target: nu.Clearance, Compartments: nu.Compartments})
	if err := d.record(ctx, a, audit.ActionUserCreate, "", dec); err != nil {
		return User{}, err
	}
	if !dec.Allow {
		return User{}, ErrForbidden
	}
	var fes archive.FieldErrors
	if len(nu.Username) < 3 {
		fes = append(fes, archive.FieldError{Field: "username", Code: archive.CodeTooLong, Message: "is too short", MessageVI: "quá ngắn"})
	}
	if len(nu.Password) < 12 {
		fes = append(fes, archive.FieldError{Field: "password", Code: archive.CodeTooLong, Message: "must have at least 12 characters", MessageVI: "phải có ít nhất 12 ký tự"})
	}
	if len(fes) > 0 {
		return User{}, fmt.Errorf("%w: %w", ErrInvalid, fes)
	}
	d.mu.Lock()
	for _, u := range d.users {
		if u.Username == nu.Username {
			d.mu.Unlock()
			return User{}, ErrConflict
		}
	}
	d.mu.Unlock()
	u := d.add(nu.Username, nu.DisplayName, nu.Roles, nu.Clearance, nu.Compartments)
	d.mu.Lock()
	d.pw[u.ID] = nu.Password
	d.users[u.ID].OrgUnit = nu.OrgUnit
	u = *d.users[u.ID]
	d.mu.Unlock()
	return u, nil
}

func (d *directory) ListUsers(ctx context.Context, a archive.Actor) ([]User, error) {
	if !a.Subject.Has(access.Admin) {
		return nil, ErrForbidden
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []User
	for _, u := range d.users {
		if access.Decide(a.Subject, access.ManageUsers, access.Resource{Target: u.Clearance, Compartments: u.Compartments}).Allow {
			out = append(out, *u)
		}
	}
	return out, nil
}

func (d *directory) Directory(ctx context.Context, a archive.Actor, keys ...string) ([]DirectoryEntry, error) {
	dec := access.Decide(a.Subject, access.ReadAudit, access.Resource{})
	if _, err := d.log.Append(ctx, audit.Event{Actor: a.Subject.ID, Roles: a.Subject.Roles, Clearance: a.Subject.Clearance,
		Action: audit.ActionAuditRead, Detail: "directory", Outcome: map[bool]audit.Outcome{true: audit.Allowed, false: audit.Denied}[dec.Allow],
		Reason: string(dec.Reason), ClientIP: a.ClientAddr, Request: a.RequestID}); err != nil {
		return nil, err
	}
	if !dec.Allow {
		return nil, ErrForbidden
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []DirectoryEntry
	for id, u := range d.users {
		if len(keys) == 0 || slices.ContainsFunc(keys, func(k string) bool { return k == id || strings.EqualFold(k, u.Username) }) {
			out = append(out, DirectoryEntry{ID: id, Username: u.Username, DisplayName: u.DisplayName, OrgUnit: u.OrgUnit, Disabled: u.Disabled})
		}
	}
	return out, nil
}

func (d *directory) UpdateUser(ctx context.Context, a archive.Actor, id string, ch UserChange) (User, error) {
	d.mu.Lock()
	u, ok := d.users[id]
	var cur User
	if ok {
		cur = *u
	}
	d.mu.Unlock()
	if !ok {
		return User{}, ErrNotFound
	}
	target, comps := cur.Clearance, cur.Compartments
	if ch.Clearance != nil {
		target = max(target, *ch.Clearance)
	}
	if ch.Compartments != nil {
		comps = append(slices.Clone(comps), *ch.Compartments...)
	}
	action := audit.ActionUserUpdate
	if ch.Disabled != nil && *ch.Disabled {
		action = audit.ActionUserDisable
	}
	dec := access.Decide(a.Subject, access.ManageUsers, access.Resource{Target: target, Compartments: comps})
	if err := d.record(ctx, a, action, id, dec); err != nil {
		return User{}, err
	}
	if !dec.Allow {
		return User{}, ErrForbidden
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch.DisplayName != nil {
		u.DisplayName = *ch.DisplayName
	}
	if ch.OrgUnit != nil {
		u.OrgUnit = *ch.OrgUnit
	}
	if ch.Roles != nil {
		u.Roles = *ch.Roles
	}
	if ch.Clearance != nil {
		u.Clearance = *ch.Clearance
	}
	if ch.Compartments != nil {
		u.Compartments = *ch.Compartments
	}
	if ch.Password != nil {
		d.pw[id] = *ch.Password
	}
	if ch.Disabled != nil {
		u.Disabled = *ch.Disabled
		if u.Disabled {
			for k, s := range d.sessions {
				if s.user == id {
					delete(d.sessions, k)
				}
			}
		}
	}
	u.UpdatedAt = time.Now()
	return *u, nil
}

// listSearch is the stand-in search of the tests: it reads every document
// the subject may see through the archive service's List (which applies the
// access policy) and matches the query with diacritics folded, as the
// search package's analyzer does.
type listSearch struct{ docs *archive.Service }

func fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func (l *listSearch) Search(ctx context.Context, s access.Subject, r SearchRequest) (SearchResult, error) {
	words := strings.Fields(fold(r.Query))
	var hits []SearchHit
	facets := map[string]map[string]int{"level": {}, "doc_type": {}, "issuing_body": {}}
	for doc, err := range l.docs.List(ctx, archive.Actor{Subject: s}) {
		if err != nil {
			return SearchResult{}, err
		}
		text := fold(strings.Join([]string{doc.Title, doc.Summary, doc.IssuingBody, doc.NumberSymbol, strings.Join(doc.Keywords, " ")}, " "))
		match := true
		for _, w := range words {
			if !strings.Contains(text, w) {
				match = false
			}
		}
		if !match || (len(r.Levels) > 0 && !slices.Contains(r.Levels, doc.Level)) ||
			(len(r.Types) > 0 && !slices.Contains(r.Types, doc.Type)) ||
			(len(r.IssuingBodies) > 0 && !slices.Contains(r.IssuingBodies, doc.IssuingBody)) ||
			(!r.From.IsZero() && doc.DateIssued.Before(r.From)) || (!r.To.IsZero() && doc.DateIssued.After(r.To)) {
			continue
		}
		facets["level"][doc.Level.String()]++
		facets["doc_type"][string(doc.Type)]++
		facets["issuing_body"][doc.IssuingBody]++
		h := SearchHit{ID: doc.ID, Title: doc.Title, Level: doc.Level, Type: doc.Type, NumberSymbol: doc.NumberSymbol,
			IssuingBody: doc.IssuingBody, IssuedAt: doc.DateIssued, Summary: doc.Summary}
		if len(words) > 0 {
			var marked []string
			for _, tok := range strings.Fields(doc.Title) {
				f := fold(tok)
				hit := false
				for _, w := range words {
					if strings.Contains(f, w) {
						hit = true
					}
				}
				if hit {
					tok = "<mark>" + strings.ReplaceAll(strings.ReplaceAll(tok, "&", "&amp;"), "<", "&lt;") + "</mark>"
				} else {
					tok = strings.ReplaceAll(strings.ReplaceAll(tok, "&", "&amp;"), "<", "&lt;")
				}
				marked = append(marked, tok)
			}
			h.Highlights = map[string][]string{"title": {strings.Join(marked, " ")}}
		}
		hits = append(hits, h)
	}
	res := SearchResult{Total: len(hits), Facets: map[string][]FacetCount{}}
	for k, m := range facets {
		for v, n := range m {
			res.Facets[k] = append(res.Facets[k], FacetCount{Value: v, Count: n})
		}
		slices.SortFunc(res.Facets[k], func(a, b FacetCount) int { return b.Count - a.Count })
	}
	start := (r.Page - 1) * r.Size
	if start < len(hits) {
		res.Hits = hits[start:min(len(hits), start+r.Size)]
	}
	return res, nil
}
