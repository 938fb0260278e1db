package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/sumdb/tlog"

	"khomat/api"
	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/audit"
	"khomat/archive/identity"
	"khomat/archive/store/storetest"
)

// TestOpenAPIMatchesRoutes holds the OpenAPI document and the router to
// the same set of routes, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	param := regexp.MustCompile(`\{([a-z_]+)\}`)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		gin := param.ReplaceAllString(path, ":$1")
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+gin] = true
		}
	}
	routed := map[string]bool{}
	for _, r := range e.api.Routes() {
		routed[r.Method+" "+r.Path] = true
	}
	for r := range routed {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for r := range documented {
		if !routed[r] {
			t.Errorf("openapi.yaml documents %s, which is not routed", r)
		}
	}
	resp := e.do(request{method: "GET", path: "/api/v1/openapi.yaml"})
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, api.OpenAPI) {
		t.Errorf("GET /api/v1/openapi.yaml: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// TestHeadersAndProblems checks the security headers, request ids and the
// problem format in both languages.
func TestHeadersAndProblems(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.user("reader", access.Secret, access.Reader)

	resp := e.do(request{method: "GET", path: "/api/v1/documents/" + strings.Repeat("ab", 16), token: tok})
	defer resp.Body.Close()
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
		"Content-Type":           "application/problem+json; charset=utf-8",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("Content-Security-Policy: %q", resp.Header.Get("Content-Security-Policy"))
	}
	var p api.Problem
	json.NewDecoder(resp.Body).Decode(&p)
	if p.Status != 404 || p.Code != api.CodeNotFound || p.Type != "urn:khomat:problem:not_found" || p.Detail != "Không tìm thấy tài nguyên được yêu cầu." {
		t.Errorf("problem: %+v", p)
	}
	if rid := resp.Header.Get("X-Request-ID"); rid == "" || p.RequestID != rid {
		t.Errorf("request id: header %q, problem %q", rid, p.RequestID)
	}

	// English on request; a client's plain request id is kept, a hostile
	// one replaced.
	var en api.Problem
	r2 := e.do(request{method: "GET", path: "/api/v1/me", header: map[string]string{"Accept-Language": "en-GB,en;q=0.9", "X-Request-ID": "client-req-0001"}})
	json.NewDecoder(r2.Body).Decode(&en)
	r2.Body.Close()
	if r2.StatusCode != 401 || en.Code != api.CodeUnauthenticated || en.Title != "Not signed in" || en.RequestID != "client-req-0001" {
		t.Errorf("english 401: %d %+v", r2.StatusCode, en)
	}
	if r2.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	r3 := e.do(request{method: "GET", path: "/api/v1/me", header: map[string]string{"X-Request-ID": "bad id\twith tab"}})
	r3.Body.Close()
	if got := r3.Header.Get("X-Request-ID"); got == "bad id\twith tab" || len(got) != 24 {
		t.Errorf("hostile request id kept or malformed: %q", got)
	}

	// Unknown paths and methods are problems too.
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/api/v1/nothing", 404, api.CodeNotFound},
		{"DELETE", "/api/v1/me", 405, api.CodeMethodNotAllowed},
	} {
		var p api.Problem
		if got := e.call(request{method: c.method, path: c.path, token: tok}, &p); got != c.status || p.Code != c.code {
			t.Errorf("%s %s: %d %+v", c.method, c.path, got, p)
		}
	}
}

// panicky is a Documents whose Get panics, to show the recovery.
type panicky struct{ api.Documents }

func (panicky) Get(context.Context, archive.Actor, archive.ID) (archive.Document, error) {
	panic("internal secret: stack of a failure")
}

func TestPanicIsAProblem(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, err := api.New(api.Config{Documents: panicky{e.svc}, Sessions: e.ids, Audit: e.audit, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	tok := e.user("reader", access.Secret, access.Reader)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/documents/"+strings.Repeat("cd", 16), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var p api.Problem
	json.Unmarshal(body, &p)
	if resp.StatusCode != 500 || p.Code != api.CodeInternal || strings.Contains(string(body), "secret") || strings.Contains(string(body), "goroutine") {
		t.Errorf("panic: %d %s", resp.StatusCode, body)
	}
}

// TestNotFoundIsTheSame checks that a document the caller may not read
// answers exactly as a missing one, and that the attempt is audited as
// denied.
func TestNotFoundIsTheSame(t *testing.T) {
	e := newEnv(t, envOptions{})
	arch := e.user("archivist", access.TopSecret, access.Archivist)
	low := e.user("low", access.Confidential, access.Reader)
	doc := e.upload(arch, meta("Tuyệt mật: kế hoạch", access.TopSecret), []byte("tuyệt mật"))
	missing := strings.Repeat("0f", 16)

	get := func(id, suffix string) (int, []byte, http.Header) {
		resp := e.do(request{method: "GET", path: "/api/v1/documents/" + id + suffix, token: low, header: map[string]string{"X-Request-ID": "same-request-id"}})
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	for _, suffix := range []string{"", "/content", "/revisions"} {
		s1, b1, h1 := get(doc.ID.String(), suffix)
		s2, b2, h2 := get(missing, suffix)
		if s1 != 404 || s2 != 404 || !bytes.Equal(b1, b2) {
			t.Errorf("%s: unreadable %d %s; missing %d %s", suffix, s1, b1, s2, b2)
		}
		for _, h := range []string{"Content-Type", "Content-Length", "Content-Disposition", "ETag"} {
			if h1.Get(h) != h2.Get(h) {
				t.Errorf("%s: header %s differs: %q vs %q", suffix, h, h1.Get(h), h2.Get(h))
			}
		}
		if bytes.Contains(b1, []byte("Tuyệt")) {
			t.Errorf("the title leaked: %s", b1)
		}
	}
	var denied int
	for _, en := range e.events() {
		if en.Object == doc.ID.String() && en.Actor == e.userID(low) && en.Outcome == audit.Denied {
			denied++
		}
	}
	if denied != 3 {
		t.Errorf("%d denied events for the unreadable document, want 3", denied)
	}
}

// TestContentRanges reads ranges across chunk boundaries, on the folder
// store and on MinIO.
func TestContentRanges(t *testing.T) { contentRanges(t, false) }

func TestContentRangesS3(t *testing.T) { contentRanges(t, true) }

func contentRanges(t *testing.T, s3 bool) {
	e := newEnv(t, envOptions{s3: s3})
	arch := e.user("archivist", access.Secret, access.Archivist)
	rd := e.user("reader", access.Secret, access.Reader)
	data := storetest.Data(7, 200_000)
	doc := e.upload(arch, meta("Báo cáo", access.Confidential), data)
	path := "/api/v1/documents/" + doc.ID.String() + "/content"
	for _, c := range []struct {
		rng          string
		status       int
		from, to     int // expected body data[from:to]
		contentRange string
	}{
		{"", 200, 0, 200_000, ""},
		{"bytes=0-99", 206, 0, 100, "bytes 0-99/200000"},
		{"bytes=65530-65545", 206, 65530, 65546, "bytes 65530-65545/200000"},
		{"bytes=199990-", 206, 199990, 200_000, "bytes 199990-199999/200000"},
		{"bytes=199990-300000", 206, 199990, 200_000, "bytes 199990-199999/200000"},
		{"bytes=-500", 206, 199500, 200_000, "bytes 199500-199999/200000"},
		{"bytes=0-1,5-9", 200, 0, 200_000, ""}, // several ranges: the whole
		{"bytes=200000-", 416, 0, 0, "bytes */200000"},
		{"bytes=9-3", 200, 0, 200_000, ""}, // unparseable: ignored
	} {
		t.Run(c.rng, func(t *testing.T) {
			h := map[string]string{}
			if c.rng != "" {
				h["Range"] = c.rng
			}
			resp := e.do(request{method: "GET", path: path, token: rd, header: h})
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if got := resp.Header.Get("Content-Range"); got != c.contentRange {
				t.Errorf("Content-Range %q, want %q", got, c.contentRange)
			}
			if c.status == 416 {
				return
			}
			if !bytes.Equal(body, data[c.from:c.to]) {
				t.Errorf("body: %d bytes, want data[%d:%d]", len(body), c.from, c.to)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/pdf" {
				t.Errorf("Content-Type %q", got)
			}
			want := `inline; filename=` + doc.ID.String() + ".pdf"
			if got := resp.Header.Get("Content-Disposition"); got != want {
				t.Errorf("Content-Disposition %q, want %q", got, want)
			}
		})
	}
	resp := e.do(request{method: "GET", path: path + "?download=1", token: rd})
	resp.Body.Close()
	if got := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(got, "attachment;") {
		t.Errorf("download disposition %q", got)
	}
}

// TestBadInput sends what clients get wrong or attackers try; each gets a
// clear 4xx problem and nothing is stored, on the folder store and on MinIO.
func TestBadInput(t *testing.T) { badInput(t, false) }

func TestBadInputS3(t *testing.T) { badInput(t, true) }

func badInput(t *testing.T, s3 bool) {
	e := newEnv(t, envOptions{maxUpload: 64 << 10, s3: s3})
	expired := e.user("late", access.TopSecret, access.Archivist)
	e.clock.advance(13 * time.Hour) // past every session's lifetime
	arch := e.user("archivist", access.TopSecret, access.Archivist)
	good, _ := json.Marshal(meta("Nghị quyết", access.Secret))
	pdf := []byte("%PDF-1.7 tài liệu")
	upload := func(parts ...part) (io.Reader, string) { return multipartBody(parts...) }
	metaPart := func(b []byte) part { return part{name: "metadata", contentType: "application/json", data: b} }
	filePart := func(name string, b []byte) part {
		return part{name: "file", filename: name, contentType: "application/pdf", data: b}
	}
	withLevel := func(level any) []byte {
		m := meta("Nghị quyết", access.Secret)
		m["level"] = level
		b, _ := json.Marshal(m)
		return b
	}
	without := func(field string) []byte {
		m := meta("Nghị quyết", access.Secret)
		delete(m, field)
		b, _ := json.Marshal(m)
		return b
	}
	badUTF8 := bytes.Replace(good, []byte("Nghị quyết"), []byte("Ngh\xff quy\xc3"), 1)

	type tc struct {
		name   string
		req    func() request
		status int
		code   string
	}
	post := func(body io.Reader, ct string) request {
		return request{method: "POST", path: "/api/v1/documents", token: arch, body: body, contentType: ct}
	}
	cases := []tc{
		{"not multipart", func() request { return post(strings.NewReader("{}"), "application/json") }, 415, api.CodeUnsupportedMedia},
		{"malformed multipart", func() request {
			return post(strings.NewReader("--xyz\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"+string(good)+"\r\n--xyz\r\nContent-Disp"), "multipart/form-data; boundary=xyz")
		}, 400, api.CodeInvalidMultipart},
		{"file cut off", func() request {
			b, ct := upload(metaPart(good), filePart("a.pdf", pdf))
			raw, _ := io.ReadAll(b)
			return post(bytes.NewReader(raw[:len(raw)-20]), ct)
		}, 400, api.CodeInvalidMultipart},
		{"no boundary", func() request { return post(strings.NewReader("x"), "multipart/form-data") }, 400, api.CodeInvalidMultipart},
		{"missing metadata", func() request { b, ct := upload(filePart("a.pdf", pdf)); return post(b, ct) }, 400, api.CodeMissingMetadata},
		{"metadata only", func() request { b, ct := upload(metaPart(good)); return post(b, ct) }, 400, api.CodeMissingFile},
		{"part after the file", func() request {
			b, ct := upload(metaPart(good), filePart("a.pdf", pdf), metaPart(good))
			return post(b, ct)
		}, 400, api.CodeInvalidMultipart},
		{"oversized upload", func() request {
			b, ct := upload(metaPart(good), filePart("big.pdf", make([]byte, 64<<10+1)))
			return post(b, ct)
		}, 413, api.CodeTooLarge},
		{"metadata not json", func() request {
			b, ct := upload(metaPart([]byte("{title")), filePart("a.pdf", pdf))
			return post(b, ct)
		}, 400, api.CodeInvalidJSON},
		{"unknown metadata field", func() request {
			b, ct := upload(metaPart([]byte(`{"title":"a","level":"secret","doc_type":"resolution","colour":"red"}`)), filePart("a.pdf", pdf))
			return post(b, ct)
		}, 400, api.CodeInvalidJSON},
		{"missing level", func() request {
			b, ct := upload(metaPart(without("level")), filePart("a.pdf", pdf))
			return post(b, ct)
		}, 422, api.CodeInvalidMetadata},
		{"missing title", func() request {
			b, ct := upload(metaPart(without("title")), filePart("a.pdf", pdf))
			return post(b, ct)
		}, 422, api.CodeInvalidMetadata},
		{"missing doc_type", func() request {
			b, ct := upload(metaPart(without("doc_type")), filePart("a.pdf", pdf))
			return post(b, ct)
		}, 422, api.CodeInvalidMetadata},
		{"invalid level", func() request {
			b, ct := upload(metaPart(withLevel("siêu mật")), filePart("a.pdf", pdf))
			return post(b, ct)
		}, 422, api.CodeInvalidMetadata},
		{"level as a number", func() request { b, ct := upload(metaPart(withLevel(7)), filePart("a.pdf", pdf)); return post(b, ct) }, 422, api.CodeInvalidMetadata},
		{"invalid metadata", func() request {
			m := meta("Nghị quyết", access.Secret)
			m["date_issued"] = "2999-01-01"
			b, _ := json.Marshal(m)
			body, ct := upload(metaPart(b), filePart("a.pdf", pdf))
			return post(body, ct)
		}, 422, api.CodeInvalidMetadata},
		{"invalid utf-8 in metadata", func() request { b, ct := upload(metaPart(badUTF8), filePart("a.pdf", pdf)); return post(b, ct) }, 400, api.CodeInvalidUTF8},
		{"path traversal file name", func() request { b, ct := upload(metaPart(good), filePart("../../etc/passwd", pdf)); return post(b, ct) }, 400, api.CodeInvalidFilename},
		{"windows path file name", func() request { b, ct := upload(metaPart(good), filePart(`..\..\boot.ini`, pdf)); return post(b, ct) }, 400, api.CodeInvalidFilename},
		{"control character file name", func() request { b, ct := upload(metaPart(good), filePart("a\x01.pdf", pdf)); return post(b, ct) }, 400, api.CodeInvalidFilename},
		{"malformed file content type", func() request {
			b, ct := upload(metaPart(good), part{name: "file", filename: "a.pdf", contentType: "application/", data: pdf})
			return post(b, ct)
		}, 400, api.CodeUnsupportedMedia},
		{"expired token", func() request {
			b, ct := upload(metaPart(good), filePart("a.pdf", pdf))
			r := post(b, ct)
			r.token = expired
			return r
		}, 401, api.CodeUnauthenticated},
		{"forged token", func() request {
			b, ct := upload(metaPart(good), filePart("a.pdf", pdf))
			r := post(b, ct)
			r.token = strings.Repeat("a", 48)
			return r
		}, 401, api.CodeUnauthenticated},
		{"malformed authorization", func() request {
			b, ct := upload(metaPart(good), filePart("a.pdf", pdf))
			r := post(b, ct)
			r.header = map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}
			r.token = ""
			return r
		}, 401, api.CodeUnauthenticated},
		{"cookie session from another origin", func() request {
			b, ct := upload(metaPart(good), filePart("a.pdf", pdf))
			r := post(b, ct)
			r.token = ""
			r.header = map[string]string{"Cookie": api.SessionCookie + "=" + arch, "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
			return r
		}, 403, api.CodeForbidden},
		{"invalid utf-8 in a patch", func() request {
			return request{method: "PATCH", path: "/api/v1/documents/" + strings.Repeat("ab", 16), token: arch,
				body: bytes.NewReader([]byte("{\"title\":\"a\xffb\"}")), contentType: "application/json"}
		}, 400, api.CodeInvalidUTF8},
		{"json body too large", func() request {
			return request{method: "POST", path: "/api/v1/auth/login", body: bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20)), contentType: "application/json"}
		}, 413, api.CodeTooLarge},
		{"bad search parameter", func() request {
			return request{method: "GET", path: "/api/v1/search?size=100000", token: e.user("reader2", access.Secret, access.Reader)}
		}, 400, api.CodeInvalidQuery},
		{"unknown level in a reclassification", func() request {
			return request{method: "POST", path: "/api/v1/documents/" + strings.Repeat("ab", 16) + "/classification", token: arch,
				body: strings.NewReader(`{"level":"very secret"}`), contentType: "application/json"}
		}, 422, api.CodeInvalidMetadata},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p api.Problem
			resp := e.do(c.req())
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			json.Unmarshal(body, &p)
			if resp.StatusCode != c.status || p.Code != c.code {
				t.Errorf("got %d %s, want %d %s: %s", resp.StatusCode, p.Code, c.status, c.code, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
				t.Errorf("Content-Type %q", ct)
			}
			if p.Detail == "" || p.Title == "" {
				t.Errorf("problem without title or detail: %s", body)
			}
			if n := e.docObjects(); n != 0 {
				t.Errorf("%d objects stored after a refused upload", n)
			}
		})
	}
	// And a good upload still works after all that.
	b, ct := upload(metaPart(good), filePart("báo cáo.pdf", pdf))
	var doc archive.Document
	if st := e.call(post(b, ct), &doc); st != 201 || doc.Level != access.Secret {
		t.Fatalf("good upload: %d %+v", st, doc)
	}
}

// TestAuditFailsClosed: when the audit log cannot record, nothing happens
// and the client gets 503.
func TestAuditFailsClosed(t *testing.T) {
	e := newEnv(t, envOptions{})
	arch := e.user("archivist", access.Secret, access.Archivist)
	doc := e.upload(arch, meta("Công văn", access.Confidential), []byte("x"))
	objects := e.docObjects()
	if err := e.audit.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, ct := uploadBody(meta("Công văn 2", access.Confidential), []byte("y"))
	for _, r := range []request{
		{method: "GET", path: "/api/v1/documents/" + doc.ID.String(), token: arch},
		{method: "POST", path: "/api/v1/documents", token: arch, body: b, contentType: ct},
	} {
		var p api.Problem
		if st := e.call(r, &p); st != 503 || p.Code != api.CodeAuditUnavailable {
			t.Errorf("%s %s: %d %+v", r.method, r.path, st, p)
		}
	}
	if n := e.docObjects(); n != objects {
		t.Errorf("objects %d → %d with the audit log down", objects, n)
	}
}

// TestHealthAndMetrics checks the probes and that /metrics counts requests
// by route template, never by a path with an id.
func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	if st := e.call(request{method: "GET", path: "/healthz"}, nil); st != 200 {
		t.Errorf("healthz %d", st)
	}
	if st := e.call(request{method: "GET", path: "/readyz"}, nil); st != 200 {
		t.Errorf("readyz %d", st)
	}
	arch := e.user("archivist", access.Secret, access.Archivist)
	doc := e.upload(arch, meta("Công văn", access.Confidential), []byte("x"))
	e.call(request{method: "GET", path: "/api/v1/documents/" + doc.ID.String(), token: arch}, nil)
	e.call(request{method: "GET", path: "/api/v1/documents/" + strings.Repeat("00", 16), token: arch}, nil)
	resp := e.do(request{method: "GET", path: "/metrics"})
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	text := string(b)
	for _, want := range []string{
		`khomat_http_requests_total{code="200",method="GET",route="/api/v1/documents/:id"} 1`,
		`khomat_http_requests_total{code="404",method="GET",route="/api/v1/documents/:id"} 1`,
		`khomat_uploads_total{outcome="ok"} 1`,
		`khomat_denials_total{route="/api/v1/documents/:id"} 1`,
		`khomat_http_request_duration_seconds_bucket`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, doc.ID.String()) {
		t.Error("a document id is in the metrics")
	}
}

// TestUpdateAndVersions edits metadata with a merge patch and adds a
// version.
func TestUpdateAndVersions(t *testing.T) {
	e := newEnv(t, envOptions{})
	arch := e.user("archivist", access.Secret, access.Archivist)
	doc := e.upload(arch, meta("Kế hoạch", access.Confidential), []byte("v1"))
	path := "/api/v1/documents/" + doc.ID.String()
	var got archive.Document
	st := e.call(request{method: "PATCH", path: path, token: arch, contentType: "application/merge-patch+json",
		body: strings.NewReader(`{"summary":"Tóm tắt","keywords":["bảo mật"],"revision":1}`)}, &got)
	if st != 200 || got.Revision != 2 || got.Summary != "Tóm tắt" || got.Title != "Kế hoạch" {
		t.Fatalf("patch: %d %+v", st, got)
	}
	var p api.Problem
	if st := e.call(request{method: "PATCH", path: path, token: arch, contentType: "application/json",
		body: strings.NewReader(`{"summary":"x"}`), header: map[string]string{"If-Match": `"r1"`}}, &p); st != 409 || p.Code != api.CodeConflict {
		t.Errorf("stale If-Match: %d %+v", st, p)
	}
	if st := e.call(request{method: "PATCH", path: path, token: arch, contentType: "application/json",
		body: strings.NewReader(`{"level":"secret"}`)}, &p); st != 400 {
		t.Errorf("level through PATCH: %d %+v", st, p)
	}
	b, ct := multipartBody(part{name: "file", filename: "v2.txt", contentType: "text/plain; charset=utf-8", data: []byte("phiên bản 2")})
	if st := e.call(request{method: "POST", path: path + "/versions", token: arch, body: b, contentType: ct}, &got); st != 201 || got.Version != 2 {
		t.Fatalf("new version: %d %+v", st, got)
	}
	for ver, want := range map[string]string{"1": "v1", "2": "phiên bản 2", "": "phiên bản 2"} {
		resp := e.do(request{method: "GET", path: path + "/content?version=" + ver, token: arch})
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("version %q: %q", ver, body)
		}
	}
	var revs struct{ Revisions []archive.Document }
	if st := e.call(request{method: "GET", path: path + "/revisions", token: arch}, &revs); st != 200 || len(revs.Revisions) != 3 {
		t.Errorf("revisions: %d %d", st, len(revs.Revisions))
	}
	if !slices.ContainsFunc(e.events(), func(en audit.Entry) bool { return en.Action == "add_version" && en.Object == doc.ID.String() }) {
		t.Error("no add_version event")
	}
}

// TestReadyzNamesFailures: a failing check gives 503 and its name, never
// its error text.
func TestReadyzNamesFailures(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, err := api.New(api.Config{Documents: e.svc, Sessions: e.ids, Audit: e.audit, Registry: prometheus.NewRegistry(), Ready: []api.Check{
		api.StoreCheck(e.store, identity.SystemKeyObject),
		{Name: "index", Check: func(context.Context) error { return errors.New("secret path /var/lib/x unreadable") }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(string(b), `"index":"fail"`) || !strings.Contains(string(b), `"store":"ok"`) || strings.Contains(string(b), "secret") {
		t.Errorf("readyz: %d %s", resp.StatusCode, b)
	}
}

// TestStoreCheck: the store is ready when the system key's metadata can be
// read, and not when the object is gone (a wiped bucket or folder).
func TestStoreCheck(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if err := api.StoreCheck(e.store, identity.SystemKeyObject).Check(ctx); err != nil {
		t.Errorf("with the system key: %v", err)
	}
	if err := api.StoreCheck(e.store, "users/no-such-key").Check(ctx); err == nil {
		t.Error("an absent object passed the store check")
	}
}

// TestDeclaredLengthTooLarge: an upload that announces more than the limit
// is refused before a byte of it is read.
func TestDeclaredLengthTooLarge(t *testing.T) {
	e := newEnv(t, envOptions{maxUpload: 1 << 20})
	arch := e.user("archivist", access.Secret, access.Archivist)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 999999999999\r\n\r\n--xyz\r\n", arch)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("status %d", resp.StatusCode)
	}
	if n := e.docObjects(); n != 0 {
		t.Errorf("%d objects stored", n)
	}
}

// TestStalledAndAbandonedUploads: an upload that stops sending is cut off
// after the idle limit, one whose client goes away is dropped; neither
// leaves anything stored.
func TestStalledAndAbandonedUploads(t *testing.T) {
	e := newEnv(t, envOptions{uploadIdle: 300 * time.Millisecond})
	arch := e.user("archivist", access.Secret, access.Archivist)
	body, ct := uploadBody(meta("Báo cáo", access.Confidential), storetest.Data(3, 300_000))
	raw, _ := io.ReadAll(body)
	half := raw[:len(raw)/2]
	send := func() net.Conn {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", arch, ct, len(raw))
		conn.Write(half)
		return conn
	}

	conn := send() // and then nothing
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled upload: %v", err)
	}
	if resp.StatusCode != 400 {
		t.Errorf("stalled upload: %d", resp.StatusCode)
	}
	conn.Close()
	if n := e.docObjects(); n != 0 {
		t.Errorf("%d objects after a stalled upload", n)
	}

	conn = send()
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for e.docObjects() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := e.docObjects(); n != 0 {
		t.Errorf("%d objects after an abandoned upload", n)
	}
	failed := 0
	for _, en := range e.events() {
		if en.Action == "create" && en.Outcome == audit.Failed {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d failed creates audited, want 2", failed)
	}
}

// TestSearchNeverLeaks: a search finds, counts and facets only what the
// caller may read; the Tối mật document is found typed without
// diacritics by those cleared for it; the audit log has the query's hash,
// never its text.
func TestSearchNeverLeaks(t *testing.T) {
	e := newEnv(t, envOptions{})
	arch := e.user("archivist", access.TopSecret, access.Archivist)
	secret := e.upload(arch, meta("Nghị quyết về định dạng văn bản mật", access.Secret), []byte("%PDF-1.7"))
	conf := e.upload(arch, meta("Kế hoạch định dạng hồ sơ", access.Confidential), []byte("x"))
	low := e.user("canbo.mat", access.Confidential, access.Reader)
	high := e.user("canbo.toimat", access.Secret, access.Reader)

	type result struct {
		Total int
		Hits  []struct {
			ID         string
			Title      string
			Level      string
			Highlights map[string][]string
		}
		Facets map[string][]struct {
			Value string
			Count int
		}
	}
	find := func(tok, q string) (int, result, []byte) {
		resp := e.do(request{method: "GET", path: "/api/v1/search?q=" + url.QueryEscape(q), token: tok})
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var r result
		json.Unmarshal(b, &r)
		return resp.StatusCode, r, b
	}
	st, r, body := find(low, "dinh dang")
	if st != 200 || r.Total != 1 || len(r.Hits) != 1 || r.Hits[0].ID != conf.ID.String() {
		t.Errorf("Mật cadre: %d %s", st, body)
	}
	if bytes.Contains(body, []byte(secret.ID.String())) || bytes.Contains(body, []byte("văn bản mật")) || bytes.Contains(body, []byte(`"secret"`)) {
		t.Errorf("the Tối mật document leaked into a Mật search: %s", body)
	}
	st, r, body = find(high, "dinh dang")
	if st != 200 || r.Total != 2 {
		t.Fatalf("Tối mật cadre: %d %s", st, body)
	}
	ids := []string{r.Hits[0].ID, r.Hits[1].ID}
	if !slices.Contains(ids, secret.ID.String()) {
		t.Errorf("the Tối mật cadre does not find it: %s", body)
	}
	if hl := r.Hits[0].Highlights["title"]; len(hl) == 0 || !strings.Contains(hl[0], "<mark>") {
		t.Errorf("no highlights: %s", body)
	}
	if st, _, body := find(high, `"unterminated`); st != 400 {
		t.Logf("an unterminated phrase: %d %s", st, body)
	}
	var hashes int
	for _, en := range e.events() {
		if en.Action == audit.ActionSearch {
			if en.QueryHash == "" || strings.Contains(en.QueryHash, "dinh") {
				t.Errorf("search event without a proper hash: %+v", en)
			}
			hashes++
		}
	}
	if hashes < 2 {
		t.Errorf("%d search events", hashes)
	}
	var p api.Problem
	if st := e.call(request{method: "GET", path: "/api/v1/search?q=" + url.QueryEscape("title:"), token: high}, &p); st != 400 && st != 200 {
		t.Errorf("a field filter without a value: %d %+v", st, p)
	}
}

// pagesStub stands for the web interface: one page at the root.
type pagesStub struct{}

func (pagesStub) Register(r gin.IRouter) {
	r.GET("/", func(c *gin.Context) { c.String(200, "trang chủ") })
}

// TestPagesBesideTheAPI: the web interface's routes live beside the API's
// and go through the same middleware.
func TestPagesBesideTheAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, err := api.New(api.Config{Documents: e.svc, Sessions: e.ids, Audit: e.audit, Pages: pagesStub{}, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	for path, want := range map[string]int{"/": 200, "/api/v1/me": 401, "/healthz": 200, "/nothing": 404} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestAuditorProves: the auditor filters events, exports them with the
// covering checkpoint in a trailer, and checks an inclusion proof with
// nothing but the verifier key.
func TestAuditorProves(t *testing.T) {
	e := newEnv(t, envOptions{})
	arch := e.user("archivist", access.Secret, access.Archivist)
	aud := e.user("auditor", access.Unclassified, access.Auditor)
	doc := e.upload(arch, meta("Công văn", access.Confidential), []byte("x"))

	var page struct {
		Events []audit.Entry
	}
	if st := e.call(request{method: "GET", path: "/api/v1/audit/events?object=" + doc.ID.String() + "&action=create&outcome=allowed", token: aud}, &page); st != 200 || len(page.Events) != 1 {
		t.Fatalf("events: %d %+v", st, page)
	}
	created := page.Events[0]
	if created.Actor != e.userID(arch) || created.Level != access.Confidential {
		t.Errorf("create event: %+v", created)
	}
	// Who the actor is, from the directory (the log holds the id only).
	var dir struct{ Accounts []api.DirectoryEntry }
	if st := e.call(request{method: "GET", path: "/api/v1/audit/directory?id=" + created.Actor + "&id=" + doc.ID.String(), token: aud}, &dir); st != 200 ||
		len(dir.Accounts) != 1 || dir.Accounts[0].Username != "archivist" || dir.Accounts[0].DisplayName != "Cán bộ archivist" {
		t.Errorf("directory: %d %+v", st, dir)
	}
	if st := e.call(request{method: "GET", path: "/api/v1/audit/directory?id=Archivist", token: aud}, &dir); st != 200 ||
		len(dir.Accounts) != 1 || dir.Accounts[0].ID != created.Actor {
		t.Errorf("directory by username: %d %+v", st, dir)
	}
	if st := e.call(request{method: "GET", path: "/api/v1/audit/directory", token: aud}, &dir); st != 200 || len(dir.Accounts) != 3 {
		t.Errorf("whole directory: %d %+v", st, dir)
	}
	var p api.Problem
	if st := e.call(request{method: "GET", path: "/api/v1/audit/events?outcome=maybe", token: aud}, &p); st != 400 || p.Code != api.CodeInvalidQuery {
		t.Errorf("bad outcome: %d %+v", st, p)
	}

	resp := e.do(request{method: "GET", path: "/api/v1/audit/export?format=jsonl&object=" + doc.ID.String(), token: aud})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(doc.ID.String())) {
		t.Fatalf("export: %d %s", resp.StatusCode, body)
	}
	note, err := base64.StdEncoding.DecodeString(resp.Trailer.Get("Khomat-Checkpoint"))
	if err != nil || len(note) == 0 {
		t.Fatalf("export trailer: %q %v", resp.Trailer.Get("Khomat-Checkpoint"), err)
	}
	v, err := audit.NewVerifier(e.audit.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.OpenCheckpoint(note, v); err != nil {
		t.Errorf("the export's checkpoint does not verify: %v", err)
	}

	var proof struct {
		Entry      audit.Entry
		Proof      []string
		Checkpoint struct{ Note string }
	}
	if st := e.call(request{method: "GET", path: fmt.Sprintf("/api/v1/audit/proof/%d", created.Seq), token: aud}, &proof); st != 200 {
		t.Fatalf("proof: %d", st)
	}
	cp, err := audit.OpenCheckpoint([]byte(proof.Checkpoint.Note), v)
	if err != nil {
		t.Fatal(err)
	}
	rp := make(tlog.RecordProof, len(proof.Proof))
	for i, h := range proof.Proof {
		b, _ := hex.DecodeString(h)
		copy(rp[i][:], b)
	}
	if err := audit.CheckInclusion(cp, proof.Entry, rp); err != nil {
		t.Errorf("inclusion proof: %v", err)
	}
	if st := e.call(request{method: "GET", path: "/api/v1/audit/proof/999999", token: aud}, &p); st != 404 {
		t.Errorf("proof of a future event: %d", st)
	}
	// Reading the log is itself in the log.
	reads := 0
	for _, en := range e.events() {
		if en.Actor == e.userID(aud) && (en.Action == audit.ActionAuditRead || en.Action == audit.ActionAuditExport || en.Action == audit.ActionAuditProve) {
			reads++
		}
	}
	if reads < 4 {
		t.Errorf("%d audit reads recorded", reads)
	}
}

// TestSessions: login sets the token and a strict cookie, the cookie
// works for reading and, from the same origin, for changing; logout ends
// the session; repeated failures are throttled with Retry-After.
func TestSessions(t *testing.T) {
	e := newEnv(t, envOptions{throttle: 2})
	e.account("canbo", access.Secret, access.Reader)
	login := func(pw string) (*http.Response, api.Session) {
		resp := e.do(request{method: "POST", path: "/api/v1/auth/login", body: jsonBody(map[string]string{"username": "canbo", "password": pw}), contentType: "application/json"})
		defer resp.Body.Close()
		var s api.Session
		json.NewDecoder(resp.Body).Decode(&s)
		return resp, s
	}
	resp, sess := login(password("canbo"))
	if resp.StatusCode != 200 || sess.Token == "" || sess.User.Username != "canbo" || sess.ExpiresAt.IsZero() {
		t.Fatalf("login: %d %+v", resp.StatusCode, sess)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			ck = c
		}
	}
	if ck == nil || ck.Value != sess.Token || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
		t.Errorf("session cookie: %+v", ck)
	}
	cookie := map[string]string{"Cookie": api.SessionCookie + "=" + sess.Token}
	var me api.User
	if st := e.call(request{method: "GET", path: "/api/v1/me", header: cookie}, &me); st != 200 || me.Username != "canbo" {
		t.Errorf("me by cookie: %d %+v", st, me)
	}
	same := map[string]string{"Cookie": api.SessionCookie + "=" + sess.Token, "Origin": e.srv.URL}
	if st := e.call(request{method: "POST", path: "/api/v1/auth/logout", header: same}, nil); st != 204 {
		t.Errorf("logout from the same origin: %d", st)
	}
	if st := e.call(request{method: "GET", path: "/api/v1/me", token: sess.Token}, nil); st != 401 {
		t.Errorf("the session outlived its logout: %d", st)
	}

	var p api.Problem
	for i := range 3 { // two free failures, and the one that starts the lockout
		r, _ := login("sai mật khẩu")
		r.Body.Close()
		if r.StatusCode != 401 {
			t.Errorf("failure %d: %d", i, r.StatusCode)
		}
	}
	resp = e.do(request{method: "POST", path: "/api/v1/auth/login", body: jsonBody(map[string]string{"username": "canbo", "password": "sai mật khẩu"}), contentType: "application/json"})
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 429 || p.Code != api.CodeThrottled || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after repeated failures: %d %+v Retry-After %q", resp.StatusCode, p, resp.Header.Get("Retry-After"))
	}
	if st := e.call(request{method: "POST", path: "/api/v1/auth/login", body: jsonBody(map[string]string{"username": "canbo", "password": password("canbo")}), contentType: "application/json"}, &p); st != 429 {
		t.Errorf("the right password during a lockout: %d", st)
	}
}

// slowSearch counts the searches running at once.
type slowSearch struct {
	running, peak atomic.Int32
}

func (s *slowSearch) Search(context.Context, access.Subject, api.SearchRequest) (api.SearchResult, error) {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return api.SearchResult{}, nil
}

// TestMaxSearches: no more searches run at once than the bound; the
// others wait and are answered.
func TestMaxSearches(t *testing.T) {
	e := newEnv(t, envOptions{})
	ss := &slowSearch{}
	a, err := api.New(api.Config{Documents: e.svc, Sessions: e.ids, Audit: e.audit, Search: ss, MaxSearches: 2, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	tok := e.user("reader", access.Secret, access.Reader)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/search?q=x", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("search: %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	if p := ss.peak.Load(); p != 2 {
		t.Errorf("%d searches ran at once, want 2", p)
	}
}

// TestCopiesAndDestruction: a Tuyệt mật download needs an approved copy
// request, one per copy; destruction needs a second person and leaves the
// document not found.
func TestCopiesAndDestruction(t *testing.T) {
	e := newEnv(t, envOptions{})
	arch := e.user("archivist", access.TopSecret, access.Archivist)
	rd := e.user("reader", access.TopSecret, access.Reader)
	so := e.user("officer", access.TopSecret, access.SecurityOfficer)
	doc := e.upload(arch, meta("Tuyệt mật", access.TopSecret), []byte("nội dung tuyệt mật"))
	path := "/api/v1/documents/" + doc.ID.String()
	download := func() int { return e.call(request{method: "GET", path: path + "/content?download=1", token: rd}, nil) }

	if st := download(); st != 403 {
		t.Errorf("download without an approved copy: %d", st)
	}
	if st := e.call(request{method: "GET", path: path + "/content", token: rd}, nil); st != 200 {
		t.Errorf("viewing needs no copy: %d", st)
	}
	var cr archive.CopyRequest
	if st := e.call(request{method: "POST", path: path + "/copies", token: rd, body: strings.NewReader(`{"reason":"phục vụ họp"}`), contentType: "application/json"}, &cr); st != 201 || cr.ID == "" {
		t.Fatalf("copy request: %d %+v", st, cr)
	}
	if st := e.call(request{method: "POST", path: path + "/copies/" + cr.ID + "/approve", token: rd}, nil); st != 403 {
		t.Errorf("approving one's own request: %d", st)
	}
	if st := e.call(request{method: "POST", path: path + "/copies/" + cr.ID + "/approve", token: so}, nil); st != 200 {
		t.Errorf("approval by the security officer: %d", st)
	}
	if st := download(); st != 200 {
		t.Errorf("download with the approval: %d", st)
	}
	if st := download(); st != 403 {
		t.Errorf("a second download on one approval: %d", st)
	}

	if st := e.call(request{method: "POST", path: path + "/destruction", token: arch, body: strings.NewReader(`{"reason":"hết giá trị","decision_ref":"QĐ 14/QĐ-VPTU"}`), contentType: "application/json"}, nil); st != 200 {
		t.Fatalf("destruction request: %d", st)
	}
	if st := e.call(request{method: "POST", path: path + "/destruction/approve", token: arch}, nil); st != 403 {
		t.Errorf("approval by the requester's role: %d", st)
	}
	if st := e.call(request{method: "POST", path: path + "/destruction/approve", token: so}, nil); st != 204 {
		t.Fatalf("approval: %d", st)
	}
	for _, tok := range []string{arch, rd, so} {
		if st := e.call(request{method: "GET", path: path, token: tok}, nil); st != 404 {
			t.Errorf("a destroyed document: %d", st)
		}
	}
}
