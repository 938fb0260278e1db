package web

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
)

// client is a browser stand-in: a cookie jar, no redirect following.
type client struct {
	t    *testing.T
	e    *env
	http *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type response struct {
	*http.Response
	body string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if m := csrfInput.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return response{resp, string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	if form.Get("csrf") == "" && form.Get("csrf-omit") == "" {
		form.Set("csrf", c.csrf)
	}
	form.Del("csrf-omit")
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *client) login(name string) {
	c.t.Helper()
	c.get("/login")
	r := c.post("/login", url.Values{"username": {name}, "password": {c.e.password}})
	if r.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login %s: %d\n%s", name, r.StatusCode, r.body)
	}
	c.get("/search") // picks up the session's CSRF token
}

type file struct {
	name, ctype string
	data        []byte
}

func (c *client) upload(fields [][2]string, files ...file) response {
	c.t.Helper()
	return c.uploadTo("/upload", fields, files...)
}

// uploadTo posts a multipart form to path: the CSRF token, the fields,
// then the files.
func (c *client) uploadTo(path string, fields [][2]string, files ...file) response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", c.csrf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.ctype)
		pw, _ := mw.CreatePart(h)
		pw.Write(f.data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// secretDoc are the fields of a Tối mật resolution.
func secretDoc(title string) [][2]string {
	return [][2]string{
		{"issuing_body", "Ban Thường vụ Tỉnh ủy"}, {"number_symbol", "15-NQ/TU"}, {"date_issued", "12/03/2025"},
		{"doc_type", "resolution"}, {"title", title}, {"level", "secret"}, {"urgency", "urgent"},
		{"state_secret_ref", "Quyết định 1234/QĐ-TTg, mục 5"}, {"keywords", "kinh tế, chuyển đổi số"},
		{"recipients", "Các đồng chí Ủy viên Ban Thường vụ\nLưu VT"}, {"retention", "permanent"},
	}
}

func (c *client) create(fields [][2]string, content string) string {
	c.t.Helper()
	r := c.upload(fields, file{"nghi-quyet.txt", "text/plain; charset=utf-8", []byte(content)})
	if r.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("upload: %d\n%s", r.StatusCode, r.body)
	}
	loc := r.Header.Get("Location")
	m := regexp.MustCompile(`^/documents/([0-9a-f]{32})\?ok=uploaded$`).FindStringSubmatch(loc)
	if m == nil {
		c.t.Fatalf("upload redirected to %q", loc)
	}
	return m[1]
}

func wantStatus(t *testing.T, r response, code int) {
	t.Helper()
	if r.StatusCode != code {
		t.Fatalf("%s %s: status %d, want %d\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, code, r.body)
	}
}

func TestSecurityHeadersAndAssets(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.get("/login")
	wantStatus(t, r, http.StatusOK)
	h := r.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	for k, v := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	// No inline script or style, no style attribute, no outside address.
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<script>|<script [^>]*>[^<]`), regexp.MustCompile(`<style`), regexp.MustCompile(` style=`),
		regexp.MustCompile(` on[a-z]+=`), regexp.MustCompile(`https?://`),
	} {
		if bad.MatchString(r.body) {
			t.Errorf("login page matches %s", bad)
		}
	}
	if !strings.Contains(r.body, `lang="vi"`) || !strings.Contains(r.body, "Đăng nhập") {
		t.Error("login page is not in Vietnamese")
	}
	for _, p := range []string{"/static/app.css", "/static/app.js", "/static/fonts/DejaVuSans.ttf", "/static/fonts/DejaVuSans-Bold.ttf"} {
		r := c.get(p)
		wantStatus(t, r, http.StatusOK)
		// The font's name table holds its licence's address as text;
		// nothing loads it. The stylesheet and script name none.
		if !strings.HasSuffix(p, ".ttf") && (strings.Contains(r.body, "http://") || strings.Contains(r.body, "https://")) {
			t.Errorf("%s names an outside address", p)
		}
	}
	wantStatus(t, c.get("/static/../web.go"), http.StatusNotFound)
}

func TestLoginLogoutAndExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client()

	r := c.get("/search")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/login?next=%2Fsearch" {
		t.Errorf("unauthenticated redirect to %q", loc)
	}

	c.get("/login")
	r = c.post("/login", url.Values{"username": {"canbo"}, "password": {"sai mật khẩu"}})
	wantStatus(t, r, http.StatusUnauthorized)
	if !strings.Contains(r.body, "Sai tên đăng nhập hoặc mật khẩu") {
		t.Error("no message for a wrong password")
	}

	// A form without the sign-in token is refused.
	r = c.post("/login", url.Values{"username": {"canbo"}, "password": {e.password}, "csrf": {"forged"}})
	wantStatus(t, r, http.StatusForbidden)

	c.get("/login")
	r = c.post("/login", url.Values{"username": {"canbo"}, "password": {e.password}, "next": {"/search"}})
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/search" {
		t.Errorf("login went to %q", r.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == SessionCookie {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie %+v", session)
	}

	// An off-site "next" is ignored.
	c2 := e.client()
	c2.get("/login")
	r = c2.post("/login", url.Values{"username": {"canbo"}, "password": {e.password}, "next": {"//evil.example/x"}})
	if r.Header.Get("Location") != "/" {
		t.Errorf("login with an off-site next went to %q", r.Header.Get("Location"))
	}

	// The session ends: the next page says so.
	e.dir.expire(e.users["canbo"].ID)
	r = c.get("/search")
	wantStatus(t, r, http.StatusSeeOther)
	if !strings.HasPrefix(r.Header.Get("Location"), "/login?expired=1") {
		t.Fatalf("expired session went to %q", r.Header.Get("Location"))
	}
	r = c.get(r.Header.Get("Location"))
	if !strings.Contains(r.body, "Phiên làm việc đã hết hạn") {
		t.Error("no session expiry message")
	}

	// Sign out.
	c.login("canbo")
	r = c.post("/logout", url.Values{})
	wantStatus(t, r, http.StatusSeeOther)
	wantStatus(t, c.get("/search"), http.StatusSeeOther)
}

func TestLanguage(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.get("/login?lang=en")
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/login" {
		t.Errorf("language switch went to %q", r.Header.Get("Location"))
	}
	r = c.get("/login")
	if !strings.Contains(r.body, `lang="en"`) || !strings.Contains(r.body, "Sign in to Khomat") {
		t.Error("page not in English after ?lang=en")
	}
	c.get("/login?lang=vi")
	if r := c.get("/login"); !strings.Contains(r.body, "Đăng nhập Khomat") {
		t.Error("page not back in Vietnamese")
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("canbo")
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{"q": {"x"}, "csrf-omit": {"1"}}, nil},
		{"wrong token", url.Values{"q": {"x"}, "csrf": {"AAAA"}}, nil},
		{"cross-site", url.Values{"q": {"x"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"other origin", url.Values{"q": {"x"}}, map[string]string{"Origin": "http://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.form.Get("csrf") == "" && tc.form.Get("csrf-omit") == "" {
				tc.form.Set("csrf", c.csrf)
			}
			tc.form.Del("csrf-omit")
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/search", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			wantStatus(t, c.do(req), http.StatusForbidden)
		})
	}
	// An oversized form is refused before it is read.
	big := url.Values{"q": {strings.Repeat("x", 2<<20)}, "csrf": {c.csrf}}
	wantStatus(t, c.post("/search", big), http.StatusForbidden)
	// An upload without the token stores nothing.
	csrf := c.csrf
	c.csrf = "forged"
	r := c.upload(secretDoc("Giả mạo"), file{"x.txt", "text/plain", []byte("x")})
	wantStatus(t, r, http.StatusForbidden)
	c.csrf = csrf
}

func TestUploadSearchViewDownload(t *testing.T) {
	e := newEnv(t)
	arch := e.client()
	arch.login("vanthu")

	// Validation messages come back beside the fields, the form as typed.
	bad := [][2]string{{"issuing_body", ""}, {"date_issued", "31/02/2025"}, {"doc_type", "resolution"},
		{"title", "Nghị quyết thiếu thông tin"}, {"level", "secret"}}
	r := arch.upload(bad, file{"a.txt", "text/plain", []byte("nội dung")})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{`id="issuing_body-err"`, `id="date_issued-err"`, "không phải ngày dạng dd/mm/yyyy", "Nghị quyết thiếu thông tin", `id="state_secret_ref-err"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("validation page lacks %q", want)
		}
	}
	// Levels above the uploader's clearance are neither offered nor accepted.
	r = arch.get("/upload")
	if strings.Contains(r.body, `value="top_secret"`) {
		t.Error("upload form offers Tuyệt mật to a Tối mật archivist")
	}
	over := secretDoc("Quá mức")
	over[5] = [2]string{"level", "top_secret"}
	r = arch.upload(over, file{"a.txt", "text/plain", []byte("x")})
	wantStatus(t, r, http.StatusUnprocessableEntity)

	const title = "Nghị quyết về phát triển kinh tế số và chuyển đổi số của Đảng bộ tỉnh"
	const content = "Điều 1. Đẩy mạnh chuyển đổi số trong các cơ quan Đảng.\n"
	id := arch.create(secretDoc(title), content)

	// The document page: no-store, no title in <title>, all metadata.
	r = arch.get("/documents/" + id)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("document page may be cached")
	}
	if m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(r.body); m == nil || strings.Contains(m[1], "kinh tế") {
		t.Errorf("page title %q", m)
	}
	for _, want := range []string{title, "TỐI MẬT", "15-NQ/TU", "12/03/2025", "Ban Thường vụ Tỉnh ủy", "Quyết định 1234/QĐ-TTg", "Lưu VT", "Vĩnh viễn", "KHẨN"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("document page lacks %q", want)
		}
	}

	// A cadre finds it without diacritics; the URL holds only an opaque key.
	reader := e.client()
	reader.login("canbo")
	r = reader.post("/search", url.Values{"q": {"kinh te so dang bo"}})
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !regexp.MustCompile(`^/search/r/[0-9a-f]{32}$`).MatchString(loc) {
		t.Fatalf("search redirected to %q", loc)
	}
	r = reader.get(loc)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "/documents/"+id) || !strings.Contains(r.body, "<mark>") || !strings.Contains(r.body, "Tìm thấy 1 tài liệu") {
		t.Errorf("results lack the document\n%s", r.body)
	}
	// Another user cannot replay the key.
	if r := arch.get(loc); r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "đã hết hạn") {
		t.Errorf("another user's search key: %d", r.StatusCode)
	}

	// A facet narrows the search.
	r = reader.post(loc+"/refine", url.Values{"add": {"level:secret"}})
	wantStatus(t, r, http.StatusSeeOther)
	if r = reader.get(r.Header.Get("Location")); !strings.Contains(r.body, "Đang lọc theo") {
		t.Error("refined results show no active filter")
	}

	// View and download (a copy, in the register).
	r = reader.get("/documents/" + id + "/view")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "Đẩy mạnh chuyển đổi số") {
		t.Error("viewer does not show the text")
	}
	r = reader.post("/documents/"+id+"/download", url.Values{})
	wantStatus(t, r, http.StatusOK)
	if r.body != content || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(r.Header.Get("Content-Disposition"), id+".txt") || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("download: %q %v", r.body, r.Header)
	}
	doc, err := e.docs.Get(context.Background(), archive.Actor{Subject: e.users["canbo"].Subject()}, mustID(t, id))
	if err != nil || len(doc.CopyRegister) != 1 || doc.CopyRegister[0].By != e.users["canbo"].ID {
		t.Errorf("copy register after download: %+v %v", doc.CopyRegister, err)
	}

	// A Mật-cleared cadre: not in results, and its URL is "not found".
	low := e.client()
	low.login("canbomat")
	r = low.post("/search", url.Values{"q": {"kinh te so"}})
	r = low.get(r.Header.Get("Location"))
	if strings.Contains(r.body, id) || strings.Contains(r.body, "kinh tế số") || !strings.Contains(r.body, "Tìm thấy 0 tài liệu") {
		t.Error("a Mật-cleared cadre sees the Tối mật document in results")
	}
	for _, p := range []string{"/documents/" + id, "/documents/" + id + "/view", "/documents/" + strings.Repeat("0", 32), "/documents/nonsense"} {
		r = low.get(p)
		wantStatus(t, r, http.StatusNotFound)
		if strings.Contains(r.body, title) || !strings.Contains(r.body, "Không tìm thấy tài liệu") {
			t.Errorf("%s: not-found page leaks or differs", p)
		}
	}
	if r := low.post("/documents/"+id+"/download", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("download by the uncleared: %d", r.StatusCode)
	}
}

func mustID(t *testing.T, s string) archive.ID {
	id, err := archive.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestBulkUpload(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("vanthu")
	f := secretDoc("")
	f = append(f, [2]string{"title_0", "Báo cáo quý I"}, [2]string{"title_1", "Báo cáo quý II"})
	r := c.upload(f, file{"q1.txt", "text/plain", []byte("quý một")}, file{"q2.pdf", "", []byte("%PDF-1.4 quý hai")}, file{"Báo cáo quý III.txt", "text/plain", []byte("quý ba")})
	wantStatus(t, r, http.StatusOK)
	if n := strings.Count(r.body, `href="/documents/`); n != 3 {
		t.Fatalf("bulk upload stored %d documents\n%s", n, r.body)
	}
	var titles []string
	for d, err := range e.docs.List(context.Background(), archive.Actor{Subject: e.users["vanthu"].Subject()}) {
		if err != nil {
			t.Fatal(err)
		}
		titles = append(titles, d.Title+"|"+d.ContentType)
	}
	for _, want := range []string{"Báo cáo quý I|text/plain", "Báo cáo quý II|application/pdf", "Báo cáo quý III|text/plain"} {
		found := false
		for _, got := range titles {
			found = found || got == want
		}
		if !found {
			t.Errorf("no document %q among %q", want, titles)
		}
	}
}

func TestReclassifyCopyAndDestruction(t *testing.T) {
	e := newEnv(t)
	arch := e.client()
	arch.login("vanthu")
	fields := secretDoc("Kế hoạch bảo vệ bí mật nhà nước năm 2026")
	fields[5] = [2]string{"level", "confidential"}
	id := arch.create(fields, "kế hoạch")

	// The archivist may raise but not lower.
	r := arch.get("/documents/" + id + "/reclassify")
	wantStatus(t, r, http.StatusOK)
	if strings.Contains(r.body, `value="unclassified"`) || !strings.Contains(r.body, `value="secret"`) || strings.Contains(r.body, `value="top_secret"`) {
		t.Error("archivist offered the wrong levels")
	}
	r = arch.post("/documents/"+id+"/reclassify", url.Values{"level": {"secret"}, "reason": {"Nội dung nhạy cảm hơn"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `bắt buộc phải nhập`) {
		t.Error("no message for a missing decision")
	}
	r = arch.post("/documents/"+id+"/reclassify", url.Values{"level": {"secret"}, "reason": {"Nội dung nhạy cảm hơn"}, "decision_ref": {"12/QĐ-VPTU ngày 01/03/2026"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = arch.get(r.Header.Get("Location"))
	if !strings.Contains(r.body, "12/QĐ-VPTU ngày 01/03/2026") || !strings.Contains(r.body, "Đã thay đổi độ mật") {
		t.Error("classification history or message missing")
	}
	wantStatus(t, arch.post("/documents/"+id+"/reclassify", url.Values{"level": {"unclassified"}, "reason": {"x"}, "decision_ref": {"y"}}), http.StatusForbidden)

	// A security officer lowers it.
	off := e.client()
	off.login("thamquyen")
	r = off.post("/documents/"+id+"/reclassify", url.Values{"level": {"confidential"}, "reason": {"Hạ độ mật"}, "decision_ref": {"15/QĐ-VPTU"}})
	wantStatus(t, r, http.StatusSeeOther)

	// Raise to Tuyệt mật: a download then needs an approved copy request.
	r = off.post("/documents/"+id+"/reclassify", url.Values{"level": {"top_secret"}, "reason": {"Tăng"}, "decision_ref": {"16/QĐ-VPTU"}})
	wantStatus(t, r, http.StatusSeeOther)
	r = off.get("/documents/" + id)
	if strings.Contains(r.body, `id="download"`) || !strings.Contains(r.body, "Đề nghị sao, chụp") {
		t.Fatal("Tuyệt mật document offers a download without approval")
	}
	wantStatus(t, off.post("/documents/"+id+"/download", url.Values{}), http.StatusForbidden)
	wantStatus(t, off.post("/documents/"+id+"/copies", url.Values{"reason": {"Phục vụ họp Ban Thường vụ"}}), http.StatusSeeOther)
	r = off.get("/documents/" + id)
	if strings.Contains(r.body, "/approve\"") && strings.Contains(r.body, "copies/") && strings.Contains(r.body, `>Duyệt</button>`) {
		t.Error("the requester may approve their own copy request")
	}
	off2 := e.client()
	off2.login("thamquyen2")
	r = off2.get("/documents/" + id)
	m := regexp.MustCompile(`/documents/` + id + `/copies/([0-9a-f]+)/approve`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("second officer sees no approve button\n%s", r.body)
	}
	wantStatus(t, off2.post(m[0], url.Values{}), http.StatusSeeOther)
	r = off.get("/documents/" + id)
	if !strings.Contains(r.body, `id="download"`) {
		t.Fatal("approved copy gives no download")
	}
	r = off.post("/documents/"+id+"/download", url.Values{})
	wantStatus(t, r, http.StatusOK)
	wantStatus(t, off.post("/documents/"+id+"/download", url.Values{}), http.StatusForbidden) // one copy per approval

	// Destruction takes two people.
	wantStatus(t, off.post("/documents/"+id+"/destruction", url.Values{"reason": {"Hết giá trị"}, "decision_ref": {"Biên bản 03/HĐ"}}), http.StatusSeeOther)
	r = off.get("/documents/" + id)
	if strings.Contains(r.body, "/destruction/approve") {
		t.Error("the requester may approve destruction")
	}
	r = off2.get("/documents/" + id)
	if !strings.Contains(r.body, "/destruction/approve") {
		t.Fatal("second officer cannot approve destruction")
	}
	wantStatus(t, off2.post("/documents/"+id+"/destruction/approve", url.Values{}), http.StatusSeeOther)
	wantStatus(t, off2.get("/documents/"+id), http.StatusNotFound)
}

func TestAuditPage(t *testing.T) {
	e := newEnv(t)
	arch := e.client()
	arch.login("vanthu")
	id := arch.create(secretDoc("Báo cáo kiểm tra"), "x")
	low := e.client()
	low.login("canbomat")
	low.get("/documents/" + id)

	// Only auditors read the log.
	wantStatus(t, arch.get("/audit"), http.StatusForbidden)

	aud := e.client()
	aud.login("kiemtra")
	r := aud.get("/")
	wantStatus(t, r, http.StatusSeeOther)
	if r.Header.Get("Location") != "/audit" {
		t.Errorf("auditor's home is %q", r.Header.Get("Location"))
	}
	r = aud.get("/audit?object=" + id)
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{"Tạo tài liệu", "Từ chối", "Cho phép", "Xem thông tin tài liệu"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "Báo cáo kiểm tra") {
		t.Error("the audit page shows a document title")
	}
	// Actors are named: username and display name, with the id kept in
	// the title.
	for _, want := range []string{`<span title="` + e.users["vanthu"].ID + `">vanthu</span>`, "Nguyễn Thị Văn Thư", "Hoàng Thị Mật"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the audit page does not name its actors: lacks %q", want)
		}
	}
	// The actor filter takes a username as well as an id.
	byName := aud.get("/audit?actor=CanBoMat&object=" + id)
	byID := aud.get("/audit?actor=" + e.users["canbomat"].ID + "&object=" + id)
	wantStatus(t, byName, http.StatusOK)
	if n := strings.Count(byName.body, `class="o-`); n == 0 || n != strings.Count(byID.body, `class="o-`) || strings.Contains(byName.body, ">vanthu<") {
		t.Errorf("filtering by username shows %d events, by id %d", n, strings.Count(byID.body, `class="o-`))
	}
	r = aud.get("/audit?actor=khongco")
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "Không có tài khoản với tên đăng nhập này") {
		t.Error("an unknown username in the filter is not explained")
	}
	// Looking names up is part of reading the log, and audited as such.
	if p, err := e.log.Query(context.Background(), audit.Query{Actor: e.users["kiemtra"].ID, Actions: []string{audit.ActionAuditRead}}); err != nil ||
		!slices.ContainsFunc(p.Entries, func(en audit.Entry) bool { return en.Detail == "directory" }) {
		t.Errorf("directory reads not audited: %v", err)
	}
	wantStatus(t, aud.get("/audit?from=99/99/2025"), http.StatusUnprocessableEntity)

	r = aud.get("/audit/export?format=csv&object=" + id)
	wantStatus(t, r, http.StatusOK)
	if !strings.HasPrefix(r.body, "seq,time,actor") || !strings.Contains(r.body, id) {
		t.Errorf("CSV export: %.200s", r.body)
	}

	r = aud.post("/audit/verify", url.Values{})
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "Nhật ký toàn vẹn") || !strings.Contains(r.body, "khomat-audit/web-test") {
		t.Errorf("verify result missing\n%s", r.body)
	}
	ev, err := e.log.Query(context.Background(), audit.Query{Actions: []string{audit.ActionAuditVerify}})
	if err != nil || len(ev.Entries) != 1 {
		t.Errorf("verification not audited: %v %v", ev.Entries, err)
	}
}

func TestUsersPage(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, func() response { c := e.client(); c.login("canbo"); return c.get("/users") }(), http.StatusForbidden)
	if p, err := e.log.Query(context.Background(), audit.Query{Actor: e.users["canbo"].ID, Outcomes: []audit.Outcome{audit.Denied}}); err != nil || len(p.Entries) != 1 || p.Entries[0].Action != "manage_users" {
		t.Errorf("a refused users page is not audited: %+v %v", p.Entries, err)
	}

	adm := e.client()
	adm.login("admin")
	r := adm.get("/users")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, "vanthu") || !strings.Contains(r.body, "kiemtra") {
		t.Error("users list incomplete")
	}
	r = adm.post("/users", url.Values{"username": {"moi"}, "password": {"ngắn"}, "roles": {"reader"}, "clearance": {"confidential"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "phải có ít nhất 12 ký tự") {
		t.Error("no password message")
	}
	r = adm.post("/users", url.Values{"username": {"moi"}, "password": {"một mật khẩu dài"}, "display_name": {"Người Mới"},
		"roles": {"reader", "archivist"}, "clearance": {"confidential"}, "compartments": {"kinh-te"}})
	wantStatus(t, r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	r = adm.get(strings.TrimSuffix(loc, "?ok=usercreated"))
	if !strings.Contains(r.body, "Người Mới") {
		t.Fatal("new account page")
	}
	uid := strings.TrimPrefix(strings.Split(loc, "?")[0], "/users/")
	wantStatus(t, adm.post("/users/"+uid, url.Values{"display_name": {"Người Mới Sửa"}, "roles": {"reader"}, "clearance": {"secret"}}), http.StatusSeeOther)

	nu := e.client()
	nu.get("/login")
	wantStatus(t, nu.post("/login", url.Values{"username": {"moi"}, "password": {"một mật khẩu dài"}}), http.StatusSeeOther)
	wantStatus(t, adm.post("/users/"+uid+"/disable", url.Values{}), http.StatusSeeOther)
	r = nu.get("/search")
	if !strings.HasPrefix(r.Header.Get("Location"), "/login?expired=1") {
		t.Errorf("a disabled user's session goes on: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestCatalogue checks that every message a template or handler names is in
// the catalogue, in both languages.
func TestCatalogue(t *testing.T) {
	msgs := newCatalogue()
	for k, v := range msgs {
		if v[0] == "" || v[1] == "" {
			t.Errorf("%s lacks a language", k)
		}
	}
	keyRe := regexp.MustCompile(`\.T "([a-z0-9_.]+)"|"((?:err|ok|title|login|search|upload|field|hint)\.[a-z0-9_.]+)"`)
	entries, _ := os.ReadDir("templates")
	var sources []string
	for _, e := range entries {
		sources = append(sources, "templates/"+e.Name())
	}
	gos, _ := os.ReadDir(".")
	for _, e := range gos {
		if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			sources = append(sources, e.Name())
		}
	}
	for _, p := range sources {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyRe.FindAllStringSubmatch(string(b), -1) {
			k := m[1] + m[2]
			if strings.HasSuffix(k, ".") {
				continue
			}
			if !msgs.has(k) {
				t.Errorf("%s: message %q is not in the catalogue", p, k)
			}
		}
	}
	for _, f := range metaFieldNames() {
		if !msgs.has("field." + f) {
			t.Errorf("field %s has no label", f)
		}
	}
}

func TestHighlightEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"a <mark>b</mark> c":                      "a <mark>b</mark> c",
		"<script>x</script> <mark>y</mark>":       "&lt;script&gt;x&lt;/script&gt; <mark>y</mark>",
		"&lt;b&gt; <mark>&amp;</mark>":            "&lt;b&gt; <mark>&amp;</mark>",
		"<mark><img src=x onerror=1></mark> open": "<mark>&lt;img src=x onerror=1&gt;</mark> open",
	} {
		if got := string(highlight(in)); got != want {
			t.Errorf("highlight(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDateVI(t *testing.T) {
	for in, want := range map[string]string{"12/03/2025": "2025-03-12", "1/2/2024": "2024-02-01", "2025-03-12": "2025-03-12", "": ""} {
		d, err := parseDateVI(in)
		if err != nil || d.String() != want {
			t.Errorf("parseDateVI(%q) = %v, %v", in, d, err)
		}
	}
	for _, in := range []string{"31/02/2025", "12/03/25", "abc", "03/12", "12/13/2025"} {
		if _, err := parseDateVI(in); err == nil {
			t.Errorf("parseDateVI(%q) accepted", in)
		}
	}
}

func TestFormField(t *testing.T) {
	for in, want := range map[string]string{
		"keywords[2]": "keywords", "protection.years": "protection_years", "protection": "protection_years",
		"classification_history[3].decision_ref": "decision_ref", "title": "title", "retention.years": "retention_years",
	} {
		if got := formField(in); got != want {
			t.Errorf("formField(%q) = %q, want %q", in, got, want)
		}
	}
	_ = access.Reader
}

// TestNoInlineCode renders every page and checks that none holds inline
// script or style, an event attribute, or an address outside the server:
// the CSP would block them, and a page that needs them is broken.
func TestNoInlineCode(t *testing.T) {
	e := newEnv(t)
	arch := e.client()
	arch.login("vanthu")
	id := arch.create(secretDoc("Thông báo kết luận"), "nội dung")
	pages := map[string][]string{
		"vanthu":    {"/search", "/upload", "/documents/" + id, "/documents/" + id + "/view", "/documents/" + id + "/edit", "/documents/" + id + "/versions", "/documents/nonsense"},
		"canbo":     {"/search"},
		"kiemtra":   {"/audit"},
		"admin":     {"/users", "/users/new", "/users/" + e.users["canbo"].ID},
		"thamquyen": {"/documents/" + id, "/documents/" + id + "/reclassify"},
	}
	bad := []*regexp.Regexp{
		regexp.MustCompile(`<script>|<script [^>]*>[^<]`), regexp.MustCompile(`<style`), regexp.MustCompile(` style=`),
		regexp.MustCompile(` on[a-z]+=`), regexp.MustCompile(`https?://`), regexp.MustCompile(`javascript:`),
	}
	for user, paths := range pages {
		c := e.client()
		c.login(user)
		for _, p := range paths {
			r := c.get(p)
			if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: %d", user, p, r.StatusCode)
			}
			for _, re := range bad {
				if loc := re.FindStringIndex(r.body); loc != nil {
					t.Errorf("%s %s: %q", user, p, r.body[loc[0]:min(len(r.body), loc[1]+40)])
				}
			}
			if m := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(r.body); m == nil || strings.Contains(m[1], "Thông báo") {
				t.Errorf("%s %s: title %q", user, p, m)
			}
		}
	}
}
