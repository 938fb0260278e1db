package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
)

// editForm is the edit page's form as a browser would send it: every
// input with the value it shows.
func editForm(t *testing.T, body string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range regexp.MustCompile(`<input id="[^"]*" name="([^"]+)" type="(?:text|number)" [^>]*?value="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea id="[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(body, -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, m := range regexp.MustCompile(`(?s)<select id="[^"]*" name="([^"]+)".*?</select>`).FindAllStringSubmatch(body, -1) {
		if s := regexp.MustCompile(`<option value="([^"]*)" selected>`).FindStringSubmatch(m[0]); s != nil {
			f.Set(m[1], s[1])
		}
	}
	for _, m := range regexp.MustCompile(`<input type="checkbox" name="([^"]+)" value="([^"]*)" checked>`).FindAllStringSubmatch(body, -1) {
		f.Add(m[1], m[2])
	}
	if m := regexp.MustCompile(`name="revision" value="(\d+)"`).FindStringSubmatch(body); m != nil {
		f.Set("revision", m[1])
	}
	return f
}

func (e *env) current(t *testing.T, id string) archive.Document {
	t.Helper()
	doc, err := e.docs.Get(context.Background(), archive.Actor{Subject: e.users["vanthu"].Subject()}, mustID(t, id))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// events returns the audit events of action on document id, by outcome.
func (e *env) events(t *testing.T, id, action string) map[audit.Outcome]int {
	t.Helper()
	p, err := e.log.Query(context.Background(), audit.Query{Object: id, Actions: []string{action}})
	if err != nil {
		t.Fatal(err)
	}
	n := map[audit.Outcome]int{}
	for _, en := range p.Entries {
		n[en.Outcome]++
	}
	return n
}

// TestEditFormRoundTrip: the edit form filled in from a document reads back
// as the same metadata.
func TestEditFormRoundTrip(t *testing.T) {
	e := newEnv(t)
	arch := e.client()
	arch.login("vanthu")
	fields := append(secretDoc("Nghị quyết về công tác cán bộ"),
		[2]string{"summary", "Dòng một\nDòng hai"}, [2]string{"pages", "12"}, [2]string{"copies", "30"},
		[2]string{"signer_position", "T/M Ban Thường vụ"}, [2]string{"signer_name", "Nguyễn Văn A"},
		[2]string{"compartments", "kinh-te"}, [2]string{"recall_deadline", "01/12/2030"}, [2]string{"protection_years", "15"})
	id := arch.create(fields, "x")
	doc := e.current(t, id)
	m, errs := e.web.metadata(docForm(&doc.Metadata), "vi")
	m.Normalize()
	if len(errs) > 0 || !reflect.DeepEqual(m, doc.Metadata) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%v", m, doc.Metadata, errs)
	}
}

// TestEditMetadata: an archivist corrects a document's metadata from the
// form filled in from the current revision; the level stays; refused forms
// come back as typed with their messages and store nothing; a form read at
// an older revision is refused with what changed meanwhile; who may not
// correct the document is refused; the audit log has every attempt.
func TestEditMetadata(t *testing.T) {
	e := newEnv(t)
	arch := e.client()
	arch.login("vanthu")
	const title = "Nghị quyết về phát triển kinh tế số"
	id := arch.create(secretDoc(title), "nội dung")
	edit := "/documents/" + id + "/edit"

	// The document page offers the correction to the archivist only.
	if r := arch.get("/documents/" + id); !strings.Contains(r.body, `href="`+edit+`"`) {
		t.Error("the archivist is offered no edit link")
	}
	for _, name := range []string{"canbo", "thamquyen"} {
		c := e.client()
		c.login(name)
		if r := c.get("/documents/" + id); strings.Contains(r.body, `href="`+edit+`"`) {
			t.Errorf("%s is offered the edit link", name)
		}
		wantStatus(t, c.get(edit), http.StatusForbidden)
		wantStatus(t, c.post(edit, url.Values{"revision": {"1"}, "title": {"Sửa trộm"}, "issuing_body": {"X"}, "date_issued": {"01/01/2025"}, "doc_type": {"resolution"}}), http.StatusForbidden)
	}
	low := e.client()
	low.login("canbomat")
	wantStatus(t, low.get(edit), http.StatusNotFound)
	wantStatus(t, low.post(edit, url.Values{"revision": {"1"}, "title": {"Sửa trộm"}}), http.StatusNotFound)
	if got := e.current(t, id); got.Revision != 1 || got.Title != title {
		t.Fatalf("a refused user changed the document: %+v", got)
	}

	// The form is filled in from the current revision; the level is shown,
	// not offered.
	r := arch.get(edit)
	wantStatus(t, r, http.StatusOK)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("the edit page may be cached")
	}
	for _, want := range []string{`name="revision" value="1"`, `value="Ban Thường vụ Tỉnh ủy"`, title + "</textarea>", "Các đồng chí Ủy viên Ban Thường vụ\nLưu VT</textarea>",
		`<option value="permanent" selected>`, `<option value="resolution" selected>`, `value="12/03/2025"`, "TỐI MẬT", "Độ mật không sửa ở đây"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the edit form lacks %q", want)
		}
	}
	if strings.Contains(r.body, `name="level"`) || strings.Contains(r.body, `name="protection_years"`) {
		t.Error("the edit form offers the level or the protection period")
	}
	form := editForm(t, r.body)
	if form.Get("title") != title || form.Get("keywords") != "kinh tế, chuyển đổi số" || form.Get("urgency") != "urgent" {
		t.Fatalf("form read back: %v", form)
	}

	// CSRF.
	f := cloneValues(form)
	f.Set("csrf", "forged")
	wantStatus(t, arch.post(edit, f), http.StatusForbidden)

	// Refused forms come back as typed, with the messages; nothing stored.
	f = cloneValues(form)
	f.Set("issuing_body", "")
	f.Set("title", "")
	f.Set("summary", "Tóm tắt đang gõ dở")
	f.Set("date_issued", "31/02/2025")
	r = arch.post(edit, f)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	for _, want := range []string{`id="issuing_body-err"`, `id="title-err"`, "không phải ngày dạng dd/mm/yyyy", "Tóm tắt đang gõ dở</textarea>", `value="31/02/2025"`, `name="revision" value="1"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("refused form lacks %q", want)
		}
	}
	f = cloneValues(form)
	f.Set("title", "Nghị quyết \xff\xfe")
	r = arch.post(edit, f)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `id="title-err"`) || !strings.Contains(r.body, "giá trị không hợp lệ") {
		t.Error("no message for a title that is not UTF-8")
	}
	f = cloneValues(form)
	f.Set("named_recipients", e.users["canbo"].ID)
	r = arch.post(edit, f)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "danh sách phải có tên bạn") || !strings.Contains(r.body, e.users["canbo"].ID+"</textarea>") {
		t.Error("no message for a named recipient list without the editor")
	}
	f = cloneValues(form)
	f.Set("state_secret_ref", "")
	f.Set("keywords", strings.Repeat("từ khóa rất dài ", 20))
	arch.get(edit + "?lang=en")
	r = arch.post(edit, f)
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, `id="state_secret_ref-err"`) || !strings.Contains(r.body, "must be at most 100 characters") || !strings.Contains(r.body, "Some information is not valid") {
		t.Errorf("no English messages for a missing state secret entry and an over-long keyword\n%s", r.body[strings.Index(r.body, "<main"):])
	}
	arch.get(edit + "?lang=vi")
	wantStatus(t, arch.post(edit, url.Values{"title": {"Không có bản ghi"}}), http.StatusBadRequest)
	if got := e.current(t, id); got.Revision != 1 || got.Title != title {
		t.Fatalf("a refused form changed the document: rev %d %q", got.Revision, got.Title)
	}

	// Two archivists open the form; the first saves (a level posted with
	// it changes nothing).
	other := e.client()
	other.login("vanthu")
	stale := editForm(t, other.get(edit).body)
	f = cloneValues(form)
	f.Set("title", "Nghị quyết về phát triển kinh tế số và xã hội số")
	f.Set("keywords", "kinh tế số, xã hội số")
	f.Set("level", "unclassified")
	r = arch.post(edit, f)
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/documents/"+id+"?ok=edited" {
		t.Fatalf("redirected to %q", loc)
	}
	r = arch.get("/documents/" + id + "?ok=edited")
	for _, want := range []string{"Đã lưu thông tin đã sửa", "Nghị quyết về phát triển kinh tế số và xã hội số", "kinh tế số, xã hội số", "TỐI MẬT", "2 lần ghi"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the document page after the correction lacks %q", want)
		}
	}
	if got := e.current(t, id); got.Level != access.Secret || got.Revision != 2 {
		t.Fatalf("after the correction: level %v, revision %d", got.Level, got.Revision)
	}

	// The second, read at revision 1, is refused with what changed.
	stale.Set("summary", "Tóm tắt của người thứ hai")
	r = other.post(edit, stale)
	wantStatus(t, r, http.StatusConflict)
	body := html.UnescapeString(r.body)
	for _, want := range []string{"Tài liệu đã được thay đổi sau khi bạn mở biểu mẫu (bản ghi 1, nay là bản ghi 2). Thay đổi của bạn chưa được lưu.",
		"<dt>Trích yếu nội dung</dt><dd class=\"pre\">Nghị quyết về phát triển kinh tế số và xã hội số</dd>", "<dt>Từ khóa</dt>",
		"Tóm tắt của người thứ hai</textarea>", `name="revision" value="2"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the refused stale form lacks %q", want)
		}
	}
	if got := e.current(t, id); got.Revision != 2 || got.Summary != "" {
		t.Fatalf("a stale form was written: rev %d summary %q", got.Revision, got.Summary)
	}
	other.get(edit + "?lang=en")
	stale.Set("revision", "1")
	r = other.post(edit, stale)
	wantStatus(t, r, http.StatusConflict)
	if !strings.Contains(r.body, "The document changed after you opened this form (revision 1, now 2)") {
		t.Error("no English message for a stale form")
	}
	other.get(edit + "?lang=vi")
	// Saving the form that came back is a knowing overwrite.
	r = other.post(edit, editForm(t, r.body))
	wantStatus(t, r, http.StatusSeeOther)
	if got := e.current(t, id); got.Revision != 3 || got.Summary != "Tóm tắt của người thứ hai" || got.Level != access.Secret {
		t.Fatalf("after the second save: rev %d summary %q", got.Revision, got.Summary)
	}
	revs, err := e.docs.Revisions(context.Background(), archive.Actor{Subject: e.users["vanthu"].Subject()}, mustID(t, id))
	if err != nil || len(revs) != 3 || revs[0].Title != title {
		t.Errorf("revisions: %d %v", len(revs), err)
	}

	// The audit log: two corrections, the stale forms failed, the
	// refused users denied.
	n := e.events(t, id, "update_metadata")
	if n[audit.Allowed] < 2 || n[audit.Failed] != 2 || n[audit.Denied] != 2 {
		t.Errorf("audit events of update_metadata: %v", n)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// TestAddVersion: an archivist uploads a corrected file as the next
// version from the version page; the document page lists every version,
// each viewable and downloadable (downloads stay copies in the register);
// empty, missing and oversized files come back to the form and store
// nothing; who may not add a version is refused; the audit log has it.
func TestAddVersion(t *testing.T) {
	const maxUpload = 64 << 10
	e := newEnv(t, func(c *Config) { c.MaxUpload = maxUpload })
	arch := e.client()
	arch.login("vanthu")
	const first, second = "Bản quét lần đầu, thiếu trang 3.\n", "Bản quét đã chỉnh, đủ 4 trang.\n"
	id := arch.create(secretDoc("Báo cáo tình hình an ninh"), first)
	page := "/documents/" + id + "/versions"
	txt := func(s string) file { return file{"ban-quet.txt", "text/plain; charset=utf-8", []byte(s)} }

	if r := arch.get("/documents/" + id); !strings.Contains(r.body, `href="`+page+`"`) {
		t.Error("the archivist is offered no way to add a version")
	}
	r := arch.get(page)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(r.body, `enctype="multipart/form-data"`) || !strings.Contains(r.body, "Tối đa 64.0 KiB") || !strings.Contains(r.body, `<span class="tag">hiện hành</span>`) {
		t.Errorf("version page\n%s", r.body)
	}

	// Others are refused, and store nothing.
	for name, code := range map[string]int{"canbo": http.StatusForbidden, "thamquyen": http.StatusForbidden, "canbomat": http.StatusNotFound} {
		c := e.client()
		c.login(name)
		if r := c.get("/documents/" + id); strings.Contains(r.body, `href="`+page+`"`) {
			t.Errorf("%s is offered the version page", name)
		}
		wantStatus(t, c.get(page), code)
		wantStatus(t, c.uploadTo(page, nil, txt("giả mạo")), code)
	}
	csrf := arch.csrf
	arch.csrf = "forged"
	wantStatus(t, arch.uploadTo(page, nil, txt("giả mạo")), http.StatusForbidden)
	arch.csrf = csrf

	// Refused uploads come back to the form with the message.
	for _, tc := range []struct {
		name  string
		files []file
		code  int
		msg   string
	}{
		{"no file", nil, http.StatusUnprocessableEntity, "Hãy chọn ít nhất một tệp"},
		{"no file chosen", []file{{"", "application/octet-stream", nil}}, http.StatusUnprocessableEntity, "Hãy chọn ít nhất một tệp"},
		{"empty file", []file{txt("")}, http.StatusUnprocessableEntity, "Tệp rỗng"},
		{"declared too large", []file{txt(strings.Repeat("x", maxUpload+maxFieldsBytes))}, http.StatusRequestEntityTooLarge, "Tệp quá lớn: tối đa 64.0 KiB mỗi lần tải lên"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := arch.uploadTo(page, nil, tc.files...)
			wantStatus(t, r, tc.code)
			if !strings.Contains(r.body, tc.msg) || !strings.Contains(r.body, `id="file-err"`) || !strings.Contains(r.body, "Chưa lưu phiên bản mới") {
				t.Errorf("refused upload lacks %q\n%s", tc.msg, r.body)
			}
		})
	}
	// Streamed past the limit with no length declared: cut off midway.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("csrf", arch.csrf)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="lon.txt"`)
		h.Set("Content-Type", "text/plain")
		part, _ := mw.CreatePart(h)
		chunk := []byte(strings.Repeat("dữ liệu ", 1024))
		for i := 0; i < 2*(maxUpload+maxFieldsBytes)/len(chunk); i++ {
			if _, err := part.Write(chunk); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		mw.Close()
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+page, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r = arch.do(req)
	pr.Close()
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
	if !strings.Contains(r.body, "Tệp quá lớn") {
		t.Errorf("a streamed oversized upload\n%s", r.body)
	}
	if got := e.current(t, id); got.Version != 1 || got.Revision != 1 {
		t.Fatalf("a refused upload stored something: version %d, revision %d", got.Version, got.Revision)
	}

	// The new version.
	r = arch.uploadTo(page, nil, txt(second))
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/documents/"+id+"?ok=versionadded#versions" {
		t.Fatalf("redirected to %q", loc)
	}
	sum := sha256.Sum256([]byte(second))
	r = arch.get("/documents/" + id + "?ok=versionadded")
	for _, want := range []string{"Đã thêm phiên bản mới", `<td>2 <span class="tag">hiện hành</span></td>`, "<td>1</td>", hex.EncodeToString(sum[:]), size(len(second)), size(len(first)),
		`href="/documents/` + id + `/view?v=1"`, `<input type="hidden" name="v" value="1">`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the document page after the new version lacks %q", want)
		}
	}
	if doc := e.current(t, id); doc.Version != 2 || doc.Title != "Báo cáo tình hình an ninh" || doc.Level != access.Secret {
		t.Fatalf("after the new version: %+v", doc)
	}

	// Each version is viewed and downloaded through the usual routes.
	reader := e.client()
	reader.login("canbo")
	if r := reader.get("/documents/" + id + "/view?v=1"); !strings.Contains(r.body, "thiếu trang 3") {
		t.Error("the first version is not shown")
	}
	if r := reader.get("/documents/" + id + "/view"); !strings.Contains(r.body, "đủ 4 trang") {
		t.Error("the current version is not the new one")
	}
	r = reader.post("/documents/"+id+"/download", url.Values{"v": {"1"}})
	wantStatus(t, r, http.StatusOK)
	if r.body != first {
		t.Errorf("version 1 downloaded as %q", r.body)
	}
	r = reader.post("/documents/"+id+"/download", url.Values{})
	if r.body != second {
		t.Errorf("the current version downloaded as %q", r.body)
	}
	doc := e.current(t, id)
	if len(doc.CopyRegister) != 2 || doc.CopyRegister[0].TakenVersion != 1 || doc.CopyRegister[1].TakenVersion != 2 {
		t.Errorf("copy register: %+v", doc.CopyRegister)
	}

	n := e.events(t, id, "add_version")
	if n[audit.Allowed] < 1 || n[audit.Failed] != 1 || n[audit.Denied] < 2 {
		t.Errorf("audit events of add_version: %v", n)
	}
}

func size(n int) string { return humanSize(int64(n)) }
