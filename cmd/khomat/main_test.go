package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"khomat/archive/store/storetest"
)

// syncBuffer is an output the server writes to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what one in-process run of khomat gave.
type result struct {
	code           int
	stdout, stderr string
}

// khomat runs the command line in-process with env as its whole
// environment.
func khomat(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{args: args, getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code := runContext(ctx, c)
	return result{code, out.String(), errb.String()}
}

// server is a khomat serve running in-process.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	stop   func() int
}

// startServer runs khomat serve on a free loopback port until stop.
func startServer(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	addr := make(chan string, 1)
	c := &cli{args: append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), getenv: func(k string) string { return env[k] },
		stdin: strings.NewReader(""), stdout: s.stdout, stderr: s.stderr, ready: func(a string) { addr <- a }}
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, c) }()
	select {
	case a := <-addr:
		s.url = "http://" + a
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d:\n%s\n%s", code, s.stdout, s.stderr)
	case <-time.After(2 * time.Minute):
		cancel()
		t.Fatal("serve did not start")
	}
	var once sync.Once
	code := 0
	s.stop = func() int {
		once.Do(func() {
			cancel()
			code = <-done
		})
		return code
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// as is the environment of a client command run against s with the session
// token tok.
func (s *server) as(tok string) map[string]string {
	return map[string]string{"KHOMAT_SERVER": s.url, "KHOMAT_TOKEN": tok}
}

// login signs user in on s and returns the session token.
func (s *server) login(t *testing.T, user, pw string) string {
	t.Helper()
	r := khomat(t, map[string]string{"KHOMAT_SERVER": s.url, "KHOMAT_PASSWORD": pw}, "", "login", "--user", user)
	if r.code != exitOK {
		t.Fatalf("login %s: %+v", user, r)
	}
	return strings.TrimSpace(r.stdout)
}

// TestHelpAndUsage: --help on every command answers 0 on stdout; misuse
// answers 2.
func TestHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"login", "--help"}, {"user", "--help"}, {"user", "add", "--help"},
		{"user", "list", "--help"}, {"user", "disable", "--help"}, {"doc", "--help"}, {"doc", "upload", "--help"},
		{"doc", "get", "--help"}, {"doc", "search", "--help"}, {"doc", "extend", "--help"}, {"keys", "rotate", "--help"}, {"reindex", "--help"},
		{"audit", "verify", "--help"},
	} {
		r := khomat(t, nil, "", args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "Usage") {
			t.Errorf("%v: %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"user"}, {"user", "remove"}, {"serve", "--no-such-flag"}, {"serve", "extra"},
		{"keys", "rotate"}, {"keys", "rotate", "--level", "ultra"}, {"doc", "get"}, {"doc", "get", "not-an-id"},
		{"serve", "--max-upload", "lots"}, {"login"}, {"doc", "extend", strings.Repeat("ab", 16)},
		{"doc", "extend", "--years", "5", strings.Repeat("ab", 16)}, {"doc", "extend", "--years", "5", "--decision-ref", "QĐ 1"},
	} {
		if r := khomat(t, nil, "", args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, r.code, exitUsage, r.stderr)
		}
	}
}

// TestServeFirstStart: with no configuration, serve creates the data
// folder, a trial key file (mode 0600, with a warning), the keyring and an
// admin account whose generated password is printed once; a second start
// reuses all of it; offline tools then work on the stopped node.
func TestServeFirstStart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "khomat-data")
	env := map[string]string{"KHOMAT_DATA": data}
	s := startServer(t, env)
	if !strings.Contains(s.stderr.String(), "WARNING") {
		t.Errorf("no trial warning:\n%s", s.stderr)
	}
	fi, err := os.Stat(filepath.Join(data, "master.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("trial key file: %v %v", fi, err)
	}
	for _, f := range []string{"keyring", "audit/verifier.key", "store"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no admin password printed:\n%s", s.stdout)
	}
	pw := m[1]
	cl := map[string]string{"KHOMAT_SERVER": s.url, "KHOMAT_PASSWORD": pw}
	r := khomat(t, cl, "", "login", "--user", "admin")
	if r.code != exitOK || len(strings.TrimSpace(r.stdout)) < 20 {
		t.Fatalf("login: %+v", r)
	}
	if r := khomat(t, map[string]string{"KHOMAT_SERVER": s.url}, "wrong password\n", "login", "--user", "admin"); r.code != exitRefused {
		t.Errorf("wrong password: %+v", r)
	}
	waitReady(t, s.url)
	for _, path := range []string{"/healthz", "/readyz", "/login", "/api/v1/openapi.yaml"} {
		resp, err := http.Get(s.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	if code := s.stop(); code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, s.stderr)
	}
	// A second start: same keyring, no new admin.
	s2 := startServer(t, env)
	if strings.Contains(s2.stdout.String(), "password:") {
		t.Error("a second start printed an admin password")
	}
	if r := khomat(t, map[string]string{"KHOMAT_SERVER": s2.url, "KHOMAT_PASSWORD": pw}, "", "login", "--user", "admin"); r.code != exitOK {
		t.Errorf("login after restart: %+v", r)
	}
	s2.stop()

	if r := khomat(t, env, "", "audit", "verify"); r.code != exitOK || !strings.Contains(r.stdout, "verifies") {
		t.Errorf("audit verify: %+v", r)
	}
	if r := khomat(t, env, "", "reindex"); r.code != exitOK || !strings.Contains(r.stdout, "indexed") {
		t.Errorf("reindex: %+v", r)
	}
	if r := khomat(t, env, "", "keys", "rotate", "--level", "tối mật"); r.code != exitOK || !strings.Contains(r.stdout, "version 2") {
		t.Errorf("keys rotate: %+v", r)
	}
	if r := khomat(t, env, "", "keys", "rotate", "--level", "top_secret"); r.code != exitOK || !strings.Contains(r.stdout, "account system key") {
		t.Errorf("keys rotate top_secret: %+v", r)
	}
	// The admin still signs in after the rotations.
	s3 := startServer(t, env)
	if r := khomat(t, map[string]string{"KHOMAT_SERVER": s3.url, "KHOMAT_PASSWORD": pw}, "", "login", "--user", "admin"); r.code != exitOK {
		t.Errorf("login after key rotation: %+v", r)
	}
	s3.stop()
	// Tamper with the log: verify must say so with exit code 3.
	segs, _ := filepath.Glob(filepath.Join(data, "audit", "segments", "*"))
	if len(segs) == 0 {
		t.Fatal("no audit segments")
	}
	b, _ := os.ReadFile(segs[0])
	b[len(b)/2] ^= 1
	os.WriteFile(segs[0], b, 0o600)
	if r := khomat(t, env, "", "audit", "verify"); r.code != exitVerify {
		t.Errorf("audit verify of a tampered log: %+v", r)
	}
}

// TestJourneyFolder and TestJourneyS3 walk the journey over real
// HTTP against khomat serve, on the folder store and on a real MinIO.
func TestJourneyFolder(t *testing.T) { journey(t, false) }

func TestJourneyS3(t *testing.T) { journey(t, true) }

func journey(t *testing.T, s3 bool) {
	data := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"KHOMAT_DATA": data, "KHOMAT_ADMIN_PASSWORD": "mật khẩu quản trị rất dài 2025"}
	if s3 {
		cfg := storetest.S3Config(t)
		env["KHOMAT_S3_ENDPOINT"] = cfg.Endpoint
		env["KHOMAT_S3_BUCKET"] = cfg.Bucket
		env["KHOMAT_S3_ACCESS_KEY"] = cfg.AccessKey
		env["KHOMAT_S3_SECRET_KEY"] = cfg.SecretKey
	}
	s := startServer(t, env)
	as, login := s.as, func(user, pw string) string { return s.login(t, user, pw) }
	admin := login("admin", env["KHOMAT_ADMIN_PASSWORD"])

	// 1. The admin creates the accounts.
	ids := map[string]string{}
	for _, u := range []struct{ name, role, clearance string }{
		{"vanthu", "archivist", "secret"},
		{"canbo.mat", "reader", "confidential"},
		{"canbo.toimat", "reader", "secret"},
		{"kiemtra", "auditor", "unclassified"},
	} {
		e := as(admin)
		e["KHOMAT_NEW_PASSWORD"] = "mật khẩu của " + u.name + " 2025"
		r := khomat(t, e, "", "user", "add", "--username", u.name, "--role", u.role, "--clearance", u.clearance)
		if r.code != exitOK {
			t.Fatalf("user add %s: %+v", u.name, r)
		}
		ids[u.name] = strings.TrimSpace(r.stdout)
	}
	if r := khomat(t, as(admin), "", "user", "list"); r.code != exitOK || !strings.Contains(r.stdout, "canbo.toimat") {
		t.Errorf("user list: %+v", r)
	}
	tok := map[string]string{}
	for name := range ids {
		tok[name] = login(name, "mật khẩu của "+name+" 2025")
	}

	// 2. The archivist uploads a PDF at Tối mật.
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("Nghị quyết về định dạng văn bản mật. "), 5000)...)
	file := filepath.Join(t.TempDir(), "nghi-quyet.pdf")
	os.WriteFile(file, pdf, 0o600)
	r := khomat(t, as(tok["vanthu"]), "", "doc", "upload", "--title", "Nghị quyết về định dạng văn bản", "--level", "tối mật",
		"--type", "Nghị quyết", "--issuing-body", "Ban Thường vụ Tỉnh ủy", "--date", "2025-03-14",
		"--state-secret-ref", "Quyết định 1234/QĐ-TTg, mục 5", file)
	if r.code != exitOK {
		t.Fatalf("doc upload: %+v", r)
	}
	id := strings.TrimSpace(r.stdout)

	// 3. The Mật-cleared cadre: the search does not reveal it, and its
	// id is 404, as a missing one.
	waitReady(t, s.url)
	r = khomat(t, as(tok["canbo.mat"]), "", "doc", "search", "--json", "dinh dang")
	if r.code != exitOK || strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, `"total":0`) {
		t.Errorf("Mật cadre's search: %+v", r)
	}
	r = khomat(t, as(tok["canbo.mat"]), "", "doc", "get", "--metadata", id)
	if r.code != exitNotFound || strings.Contains(r.stderr, "định dạng") {
		t.Errorf("Mật cadre reading a Tối mật id: %+v", r)
	}
	if r := khomat(t, as(tok["canbo.mat"]), "", "doc", "get", strings.Repeat("ab", 16)); r.code != exitNotFound {
		t.Errorf("missing id: %+v", r)
	}

	// 4. The Tối mật-cleared cadre finds it typed without diacritics and
	// gets the exact bytes.
	r = khomat(t, as(tok["canbo.toimat"]), "", "doc", "search", "dinh dang")
	if r.code != exitOK || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "Tối mật") {
		t.Errorf("Tối mật cadre's search: %+v", r)
	}
	out := filepath.Join(t.TempDir(), "copy.pdf")
	if r := khomat(t, as(tok["canbo.toimat"]), "", "doc", "get", "--output", out, id); r.code != exitOK {
		t.Fatalf("doc get: %+v", r)
	}
	got, _ := os.ReadFile(out)
	if sha256.Sum256(got) != sha256.Sum256(pdf) {
		t.Errorf("downloaded %d bytes that differ from the %d uploaded", len(got), len(pdf))
	}

	// 5. The auditor sees all of it, the denial included.
	req, _ := http.NewRequest("GET", s.url+"/api/v1/audit/events?object="+id+"&limit=1000", nil)
	req.Header.Set("Authorization", "Bearer "+tok["kiemtra"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Events []struct {
			Actor, Action, Outcome string
		}
	}
	json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	seen := map[string]bool{}
	for _, e := range page.Events {
		seen[fmt.Sprintf("%s %s %s", e.Actor, e.Action, e.Outcome)] = true
	}
	for _, want := range []string{
		ids["vanthu"] + " create allowed",
		ids["canbo.mat"] + " view_metadata denied",
		ids["canbo.toimat"] + " read allowed",
		ids["canbo.mat"] + " view_metadata denied",
	} {
		if !seen[want] {
			t.Errorf("the auditor does not see %q in %v", want, seen)
		}
	}
	// The cadre cannot read the log.
	if r := khomat(t, as(tok["canbo.toimat"]), "", "doc", "get", "--metadata", id); r.code != exitOK || !strings.Contains(r.stdout, "Nghị quyết") {
		t.Errorf("metadata as the cleared cadre: %+v", r)
	}

	// 6. Disabling a user ends their session at once.
	if r := khomat(t, as(admin), "", "user", "disable", ids["canbo.toimat"]); r.code != exitOK {
		t.Fatalf("user disable: %+v", r)
	}
	if r := khomat(t, as(tok["canbo.toimat"]), "", "doc", "get", "--metadata", id); r.code != exitRefused {
		t.Errorf("a disabled user's session still works: %+v", r)
	}

	// 7. Stop, and the audit log verifies offline, and so does its copy.
	if code := s.stop(); code != exitOK {
		t.Fatalf("serve: %d\n%s", code, s.stderr)
	}
	if r := khomat(t, env, "", "audit", "verify"); r.code != exitOK {
		t.Errorf("audit verify: %+v", r)
	}
	if r := khomat(t, env, "", "audit", "verify", "--bucket"); r.code != exitOK {
		t.Errorf("audit verify --bucket: %+v", r)
	}
}

// waitReady waits until /readyz answers 200: the search indexes are
// reconciled with the store after a start.
func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the server did not become ready")
}
