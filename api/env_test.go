package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"khomat/api"
	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
	"khomat/archive/identity"
	"khomat/archive/store"
	"khomat/archive/store/storetest"
	"khomat/crypto"
	"khomat/search"
	"khomat/search/extract"
)

// env is a running API over real parts: a store (folder or MinIO), a
// keyring, the archive service and the audit log, served over real HTTP.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	api    *api.Server
	store  store.Store
	audit  *audit.Log
	auditD string
	ids    api.Identity
	idsvc  *identity.Service
	admin  identity.User
	clock  *clock
	svc    *archive.Service
	owner  string // the matrix's document owner's session
}

type envOptions struct {
	s3         bool
	maxUpload  int64
	uploadIdle time.Duration
	// throttle is the failed logins allowed per user before lockouts
	// (default: many, so that tests do not trip it).
	throttle int
	// maxSearches bounds the searches in flight (default the API's).
	maxSearches int
}

func newEnv(t testing.TB, o envOptions) *env {
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
	idx, err := search.Open(search.Config{Dir: t.TempDir(), Extract: extract.Config{PDFToText: "-"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	svc, err := archive.New(archive.Config{Store: st, Keys: kr, Audit: log, Index: idx})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := idx.Repair(context.Background(), svc.Corpus()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	free := 1000
	if o.throttle > 0 {
		free = o.throttle
	}
	idsvc, err := identity.Open(context.Background(), identity.Config{Store: st, Keys: kr, Audit: log, Argon2: cheapArgon2, Clock: clk.now,
		Throttle: identity.ThrottleConfig{UserFree: free, AddrFree: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idsvc.Close() })
	admin, _, err := idsvc.EnsureAdmin(context.Background(), "admin", "mật khẩu quản trị 2025")
	if err != nil {
		t.Fatal(err)
	}
	ids := api.NewIdentity(idsvc)
	a, err := api.New(api.Config{
		Documents: svc, Sessions: ids, Users: ids, Audit: log, Search: api.NewSearch(idx),
		Ready:     []api.Check{api.StoreCheck(st, identity.SystemKeyObject), api.IndexCheck(idx), api.AuditCheck(log)},
		MaxUpload: o.maxUpload, UploadIdle: o.uploadIdle, MaxSearches: o.maxSearches,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, api: a, store: st, audit: log, auditD: dir, ids: ids, idsvc: idsvc, admin: admin, clock: clk, svc: svc}
}

// user makes an account (as the first admin) and returns a session token
// for it.
func (e *env) user(name string, clearance access.Level, roles ...access.Role) string {
	e.t.Helper()
	u := e.account(name, clearance, roles...)
	sess, err := e.ids.Login(context.Background(), u.Username, password(name), "127.0.0.1")
	if err != nil {
		e.t.Fatalf("login %s: %v", name, err)
	}
	return sess.Token
}

// account makes an account as the first admin.
func (e *env) account(name string, clearance access.Level, roles ...access.Role) identity.User {
	e.t.Helper()
	u, err := e.idsvc.Create(context.Background(), archive.Actor{Subject: e.admin.Subject(), ClientAddr: "127.0.0.1"}, identity.NewUser{
		Username: name, Password: password(name), DisplayName: "Cán bộ " + name, Roles: roles, Clearance: clearance,
	})
	if err != nil {
		e.t.Fatalf("creating %s: %v", name, err)
	}
	return u
}

// userID is the id of the account of a token.
func (e *env) userID(tok string) string {
	e.t.Helper()
	u, err := e.ids.Authenticate(context.Background(), tok)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

func password(name string) string { return "mật khẩu của " + name + " 2025" }

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

// clock is the identity service's clock; tests move it to expire sessions.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// advance moves the clock on by d.
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// cheapArgon2 keeps the tests' logins fast; the parameters of production
// are identity.DefaultArgon2Params.
var cheapArgon2 = identity.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
