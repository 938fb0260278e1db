package api_test

import (
	"strings"
	"testing"

	"khomat/api"
	"khomat/archive"
	"khomat/archive/access"
)

// TestExtendProtection: the security officer extends a period over the API;
// bad input and an ended period are 422 problems naming the field, in
// Vietnamese or English; an archivist is refused.
func TestExtendProtection(t *testing.T) { extendProtection(t, false) }

func TestExtendProtectionS3(t *testing.T) { extendProtection(t, true) }

func extendProtection(t *testing.T, s3 bool) {
	e := newEnv(t, envOptions{s3: s3})
	arch := e.user("archivist", access.TopSecret, access.Archivist)
	so := e.user("officer", access.TopSecret, access.SecurityOfficer)
	doc := e.upload(arch, meta("Nghị quyết gia hạn", access.Secret), []byte("tối mật"))
	old := meta("Công văn cũ", access.Confidential)
	old["date_issued"] = "2010-05-01" // ten years: ended in 2020
	ended := e.upload(arch, old, []byte("mật, đã hết hạn"))
	post := func(tok string, id archive.ID, body, lang string) (int, api.Problem, archive.Document) {
		var raw struct {
			api.Problem
			archive.Document
		}
		st := e.call(request{method: "POST", path: "/api/v1/documents/" + id.String() + "/protection", token: tok,
			body: strings.NewReader(body), contentType: "application/json", header: map[string]string{"Accept-Language": lang}}, &raw)
		return st, raw.Problem, raw.Document
	}

	for _, tc := range []struct {
		name, body, lang string
		field, code      string
		detail           string
	}{
		{"no decision", `{"years":5}`, "vi", "decision_ref", "required", "bắt buộc phải nhập"},
		{"no years", `{"decision_ref":"QĐ 1"}`, "en", "years", "out_of_range", "must be between 1 and 100"},
		{"more than the level's period", `{"years":21,"decision_ref":"QĐ 1"}`, "en", "years", "out_of_range", "must be at most 20: one extension adds at most the period of Secret"},
	} {
		st, p, _ := post(so, doc.ID, tc.body, tc.lang)
		if st != 422 || p.Code != api.CodeInvalidMetadata || len(p.Errors) != 1 || p.Errors[0].Field != tc.field || p.Errors[0].Code != tc.code || p.Errors[0].Detail != tc.detail {
			t.Errorf("%s: %d %+v", tc.name, st, p)
		}
	}
	if st, p, _ := post(so, doc.ID, `{"years":"five"}`, "en"); st != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "years" {
		t.Errorf("years as text: %d %+v", st, p)
	}
	if st, p, _ := post(so, doc.ID, `{"years":5,"decision_ref":"QĐ 1","level":"secret"}`, "en"); st != 400 || p.Code != api.CodeInvalidJSON {
		t.Errorf("an unknown member: %d %+v", st, p)
	}
	if st, p, _ := post(arch, doc.ID, `{"years":5,"decision_ref":"QĐ 1"}`, "vi"); st != 403 || p.Code != api.CodeForbidden || p.Detail != "Bạn không có quyền thực hiện thao tác này." {
		t.Errorf("an archivist: %d %+v", st, p)
	}
	st, p, _ := post(so, ended.ID, `{"years":5,"decision_ref":"QĐ 1"}`, "vi")
	if st != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "protection" || p.Errors[0].Code != archive.CodeExpired ||
		p.Errors[0].Detail != "đã hết hạn ngày 01/05/2020; chỉ gia hạn được trước khi hết thời hạn bảo vệ" {
		t.Errorf("an ended period: %d %+v", st, p)
	}

	st, _, got := post(so, doc.ID, `{"years":10,"reason":"còn giá trị","decision_ref":"QĐ 21/QĐ-VPTU"}`, "vi")
	if st != 200 || got.Protection.Years != 30 || len(got.History) != 1 ||
		got.History[0].NewEnd != (archive.Date{Year: 2055, Month: 3, Day: 14}) || got.History[0].OldEnd != (archive.Date{Year: 2045, Month: 3, Day: 14}) {
		t.Fatalf("extension: %d %+v %+v", st, got.Protection, got.History)
	}
	// In the log: the archivist's denial; the extension of 21 years,
	// allowed by the policy and then failed on the level's limit; the
	// extension.
	outcomes := map[string]int{}
	for _, en := range e.events() {
		if en.Action == "extend_protection" && en.Object == doc.ID.String() {
			outcomes[string(en.Outcome)]++
		}
	}
	if outcomes["allowed"] != 2 || outcomes["failed"] != 1 || outcomes["denied"] != 1 {
		t.Errorf("extensions in the audit log: %v", outcomes)
	}
}
