package web

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestExtendProtection: the security officer finds the extension form on
// the document page, gets refused forms back with the messages beside the
// fields (Vietnamese, or English), and extends the period; an archivist is
// offered no form and refused; an ended period offers none and is refused
// with the reason.
func TestExtendProtection(t *testing.T) {
	e := newEnv(t)
	arch := e.client()
	arch.login("vanthu")
	fields := secretDoc("Kế hoạch bảo vệ bí mật nhà nước năm 2026")
	fields[5] = [2]string{"level", "confidential"} // issued 12/03/2025: ten years, to 12/03/2035
	id := arch.create(fields, "kế hoạch")
	old := secretDoc("Báo cáo năm 2010")
	old[2] = [2]string{"date_issued", "01/05/2010"}
	old[5] = [2]string{"level", "confidential"} // ended 01/05/2020
	ended := arch.create(old, "báo cáo cũ")
	action := `action="/documents/` + id + `/protection"`

	if r := arch.get("/documents/" + id); strings.Contains(r.body, action) {
		t.Error("the archivist is offered the extension form")
	}
	wantStatus(t, arch.post("/documents/"+id+"/protection", url.Values{"years": {"5"}, "decision_ref": {"QĐ 1"}}), http.StatusForbidden)

	off := e.client()
	off.login("thamquyen")
	r := off.get("/documents/" + id)
	if !strings.Contains(r.body, action) || !strings.Contains(r.body, "Thời hạn bảo vệ hiện kết thúc ngày 12/03/2035") {
		t.Fatalf("the officer is offered no extension form\n%s", r.body)
	}
	wantStatus(t, off.post("/documents/"+id+"/protection", url.Values{"years": {"5"}, "decision_ref": {"QĐ 1"}, "csrf": {"forged"}}), http.StatusForbidden)

	r = off.post("/documents/"+id+"/protection", url.Values{"years": {"5"}, "reason": {"Còn giá trị bảo vệ"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "bắt buộc phải nhập") || !strings.Contains(r.body, `value="5"`) || !strings.Contains(r.body, "Còn giá trị bảo vệ</textarea>") {
		t.Error("a refused form lost its message or what was typed")
	}
	r = off.post("/documents/"+id+"/protection", url.Values{"years": {"11"}, "decision_ref": {"QĐ 1"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(html.UnescapeString(r.body), "không được quá 10: mỗi lần gia hạn không quá thời hạn bảo vệ của độ Mật") {
		t.Error("no message for an extension longer than the level's period")
	}
	off.get("/documents/" + id + "?lang=en")
	r = off.post("/documents/"+id+"/protection", url.Values{"years": {"năm"}, "decision_ref": {"QĐ 1"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "must be a number") {
		t.Error("no English message for years that are not a number")
	}
	r = off.get("/documents/" + id + "/protection")
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/documents/"+id+"#extend" {
		t.Errorf("the form's address went to %q", loc)
	}
	off.get("/documents/" + id + "?lang=vi")

	r = off.post("/documents/"+id+"/protection", url.Values{"years": {"5"}, "decision_ref": {"21/QĐ-VPTU ngày 20/11/2026"}, "reason": {"Còn giá trị bảo vệ"}})
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "/documents/"+id+"?ok=extended" {
		t.Fatalf("redirected to %q", loc)
	}
	r = off.get("/documents/" + id + "?ok=extended")
	for _, want := range []string{"Đã gia hạn thời hạn bảo vệ.", "đến hết ngày 12/03/2040", "gia hạn: hết hạn 12/03/2035 → 12/03/2040", "21/QĐ-VPTU ngày 20/11/2026"} {
		if !strings.Contains(html.UnescapeString(r.body), want) {
			t.Errorf("the document page after the extension lacks %q", want)
		}
	}

	r = off.get("/documents/" + ended)
	if strings.Contains(r.body, `action="/documents/`+ended+`/protection"`) {
		t.Error("an ended period offers the extension form")
	}
	r = off.post("/documents/"+ended+"/protection", url.Values{"years": {"5"}, "decision_ref": {"QĐ 1"}})
	wantStatus(t, r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.body, "đã hết hạn ngày 01/05/2020") {
		t.Errorf("no reason given for an ended period\n%s", r.body)
	}
}
