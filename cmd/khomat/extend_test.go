package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocExtend: a security officer extends a document's protection period
// from the command line and gets the new end; an archivist is refused
// (exit 4), and an invalid extension fails (exit 1) with the field named.
func TestDocExtend(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"KHOMAT_DATA": data, "KHOMAT_ADMIN_PASSWORD": "mật khẩu quản trị rất dài 2025"}
	s := startServer(t, env)
	as := func(tok string) map[string]string {
		e := s.as(tok)
		e["KHOMAT_LANG"] = "en"
		return e
	}
	admin := s.login(t, "admin", env["KHOMAT_ADMIN_PASSWORD"])
	tok := map[string]string{}
	for _, u := range []struct{ name, role string }{{"vanthu", "archivist"}, {"thamquyen", "security_officer"}} {
		e := as(admin)
		e["KHOMAT_NEW_PASSWORD"] = "mật khẩu của " + u.name + " 2025"
		if r := khomat(t, e, "", "user", "add", "--username", u.name, "--role", u.role, "--clearance", "secret"); r.code != exitOK {
			t.Fatalf("user add %s: %+v", u.name, r)
		}
		tok[u.name] = s.login(t, u.name, "mật khẩu của "+u.name+" 2025")
	}
	file := filepath.Join(t.TempDir(), "cong-van.txt")
	os.WriteFile(file, []byte("công văn mật"), 0o600)
	r := khomat(t, as(tok["vanthu"]), "", "doc", "upload", "--title", "Công văn về bảo vệ bí mật", "--level", "mật",
		"--type", "Công văn", "--issuing-body", "Văn phòng Tỉnh ủy", "--date", "2025-03-14",
		"--state-secret-ref", "Quyết định 1234/QĐ-TTg, mục 5", file)
	if r.code != exitOK {
		t.Fatalf("doc upload: %+v", r)
	}
	id := strings.TrimSpace(r.stdout)

	if r := khomat(t, as(tok["vanthu"]), "", "doc", "extend", "--years", "5", "--decision-ref", "QĐ 21/QĐ-VPTU", id); r.code != exitRefused {
		t.Errorf("an archivist extends: %+v", r)
	}
	r = khomat(t, as(tok["thamquyen"]), "", "doc", "extend", "--years", "11", "--decision-ref", "QĐ 21/QĐ-VPTU", id)
	if r.code != exitFailure || !strings.Contains(r.stderr, "years: must be at most 10") {
		t.Errorf("an extension longer than the level's period: %+v", r)
	}
	r = khomat(t, as(tok["thamquyen"]), "", "doc", "extend", "--years", "5", "--decision-ref", "QĐ 21/QĐ-VPTU", "--reason", "còn giá trị", id)
	if r.code != exitOK || r.stdout != id+" 2040-03-14\n" {
		t.Errorf("doc extend: %+v", r)
	}
}
