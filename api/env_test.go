package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"khomat/api"
	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
	"khomat/archive/store"
	"khomat/archive/store/storetest"
	"khomat/crypto"
)

// env is a running API over real parts: a store (folder or MinIO), a
// keyring, the archive service and the audit log, served over real HTTP.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	api    *api.Server
	store  store.Store
	audit  *audit.Log
	auditD string
	ids    *testIdentity
	svc    *archive.Service
}

type envOptions struct {
	s3        bool
	maxUpload int64
	search    api.Searcher
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	var st store.Store
	if o.s3 {
		st = storetest.NewS3(t, false)
	} else {
		f, err := store.OpenFolder(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		st = f
	}
	kr, err := crypto.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log, err := audit.Open(dir, audit.Options{Node: "test", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close(context.Background()) })
	svc, err := archive.New(archive.Config{Store: st, Keys: kr, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	ids := newTestIdentity()
	a, err := api.New(api.Config{
		Documents: svc, Sessions: ids, Users: ids, Audit: log, Search: o.search,
		Ready:     []api.Check{api.StoreCheck(st), api.AuditCheck(log)},
		MaxUpload: o.maxUpload,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, api: a, store: st, audit: log, auditD: dir, ids: ids, svc: svc}
}

// user makes an account and returns a session token for it.
func (e *env) user(name string, clearance access.Level, roles ...access.Role) string {
	return e.ids.add(name, clearance, roles...)
}

// request is one HTTP request of a test.
type request struct {
	method, path string
	token        string
	body         io.Reader
	contentType  string
	header       map[string]string
}

func (e *env) do(r request) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(r.method, e.srv.URL+r.path, r.body)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// call makes a request and decodes a JSON answer into out (when not nil),
// returning the status.
func (e *env) call(r request, out any) int {
	e.t.Helper()
	resp := e.do(r)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %q: %v", r.method, r.path, b, err)
		}
	}
	return resp.StatusCode
}

func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return bytes.NewReader(b)
}

// meta is valid metadata at level l.
func meta(title string, l access.Level) map[string]any {
	m := map[string]any{
		"issuing_body":  "Văn phòng Tỉnh ủy",
		"number_symbol": "15-NQ/TU",
		"date_issued":   "2025-03-14",
		"doc_type":      "resolution",
		"title":         title,
		"level":         l.String(),
	}
	if l.Classified() {
		m["state_secret_ref"] = "Quyết định 1234/QĐ-TTg, mục 5"
	}
	return m
}

// multipartBody builds an upload: parts in order, each a name, file name,
// content type and bytes.
type part struct {
	name, filename, contentType string
	data                        []byte
}

func multipartBody(parts ...part) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name=%q`, p.name)
		if p.filename != "" {
			cd += fmt.Sprintf(`; filename=%q`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, _ := w.CreatePart(h)
		pw.Write(p.data)
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func uploadBody(m map[string]any, data []byte) (io.Reader, string) {
	mb, _ := json.Marshal(m)
	return multipartBody(
		part{name: "metadata", contentType: "application/json", data: mb},
		part{name: "file", filename: "scan.pdf", contentType: "application/pdf", data: data},
	)
}

// upload stores a document as token and returns it.
func (e *env) upload(token string, m map[string]any, data []byte) archive.Document {
	e.t.Helper()
	body, ct := uploadBody(m, data)
	var doc archive.Document
	var p api.Problem
	resp := e.do(request{method: "POST", path: "/api/v1/documents", token: token, body: body, contentType: ct})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		json.Unmarshal(b, &p)
		e.t.Fatalf("upload: %d %+v", resp.StatusCode, p)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// docObjects counts the objects under docs/ in the store.
func (e *env) docObjects() int {
	e.t.Helper()
	n := 0
	for _, err := range e.store.List(context.Background(), "docs/", "") {
		if err != nil {
			e.t.Fatal(err)
		}
		n++
	}
	return n
}

// events returns the audit log's events, oldest first.
func (e *env) events() []audit.Entry {
	e.t.Helper()
	p, err := e.audit.Query(context.Background(), audit.Query{Limit: audit.MaxLimit})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.Reverse(p.Entries)
	return p.Entries
}

// testIdentity stands in for archive/identity until it lands on main:
// accounts and sessions in memory, with the same access decisions.
type testIdentity struct {
	mu       sync.Mutex
	users    map[string]*api.User // by id
	pw       map[string]string    // username → password
	sessions map[string]string    // token → user id
	expiry   map[string]time.Time
}

func newTestIdentity() *testIdentity {
	return &testIdentity{users: map[string]*api.User{}, pw: map[string]string{}, sessions: map[string]string{}, expiry: map[string]time.Time{}}
}

func token() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (x *testIdentity) add(name string, clearance access.Level, roles ...access.Role) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	u := &api.User{ID: "u-" + name, Username: name, DisplayName: name, Roles: roles, Clearance: clearance}
	x.users[u.ID] = u
	x.pw[name] = "mật khẩu của " + name
	tok := token()
	x.sessions[tok] = u.ID
	x.expiry[tok] = time.Now().Add(time.Hour)
	return tok
}

// expire ends a session as if its time had run out.
func (x *testIdentity) expire(tok string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.expiry[tok] = time.Now().Add(-time.Minute)
}

func (x *testIdentity) Login(ctx context.Context, username, password, client string) (api.Session, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	want, ok := x.pw[username]
	if !ok || want != password {
		return api.Session{}, api.ErrInvalidCredentials
	}
	for _, u := range x.users {
		if u.Username == username && !u.Disabled {
			tok := token()
			x.sessions[tok] = u.ID
			x.expiry[tok] = time.Now().Add(time.Hour)
			return api.Session{Token: tok, ExpiresAt: x.expiry[tok], User: *u}, nil
		}
	}
	return api.Session{}, api.ErrInvalidCredentials
}

func (x *testIdentity) Authenticate(ctx context.Context, tok string) (api.User, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	id, ok := x.sessions[tok]
	if !ok || time.Now().After(x.expiry[tok]) || x.users[id].Disabled {
		return api.User{}, api.ErrUnauthenticated
	}
	return *x.users[id], nil
}

func (x *testIdentity) Logout(ctx context.Context, tok string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.sessions, tok)
	return nil
}

func (x *testIdentity) CreateUser(ctx context.Context, a archive.Actor, n api.NewUser) (api.User, error) {
	if d := access.Decide(a.Subject, access.ManageUsers, access.Resource{Target: n.Clearance, Compartments: n.Compartments}); !d.Allow {
		return api.User{}, api.ErrForbidden
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.pw[n.Username]; ok {
		return api.User{}, api.ErrConflict
	}
	u := &api.User{ID: "u-" + n.Username, Username: n.Username, DisplayName: n.DisplayName, Roles: n.Roles, Clearance: n.Clearance, Compartments: n.Compartments}
	x.users[u.ID] = u
	x.pw[n.Username] = n.Password
	return *u, nil
}

func (x *testIdentity) ListUsers(ctx context.Context, a archive.Actor) ([]api.User, error) {
	if d := access.Decide(a.Subject, access.ManageUsers, access.Resource{}); !d.Allow {
		return nil, api.ErrForbidden
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []api.User
	for _, u := range x.users {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b api.User) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (x *testIdentity) UpdateUser(ctx context.Context, a archive.Actor, id string, ch api.UserChange) (api.User, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	u, ok := x.users[id]
	if !ok {
		return api.User{}, api.ErrNotFound
	}
	target := u.Clearance
	if ch.Clearance != nil {
		target = max(target, *ch.Clearance)
	}
	if d := access.Decide(a.Subject, access.ManageUsers, access.Resource{Target: target}); !d.Allow {
		return api.User{}, api.ErrForbidden
	}
	if ch.Disabled != nil {
		u.Disabled = *ch.Disabled
	}
	if ch.Clearance != nil {
		u.Clearance = *ch.Clearance
	}
	if ch.Roles != nil {
		u.Roles = *ch.Roles
	}
	return *u, nil
}
