package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"khomat/api"
	"khomat/archive/access"
)

// FuzzUpload sends arbitrary bytes as a multipart upload. Whatever they
// are, the answer is 201 or a 4xx problem, never a server error, and
// nothing is stored unless the answer is 201.
func FuzzUpload(f *testing.F) {
	e := newEnv(f, envOptions{maxUpload: 64 << 10})
	arch := e.user("archivist", access.Secret, access.Archivist)
	good, ct := uploadBody(meta("Nghị quyết", access.Confidential), []byte("%PDF-1.7 nội dung"))
	raw, _ := io.ReadAll(good)
	_, boundary, _ := strings.Cut(ct, "boundary=")
	f.Add(raw)
	f.Add(raw[:len(raw)/2])
	f.Add(bytes.Replace(raw, []byte(`"confidential"`), []byte(`"top_secret"`), 1))
	f.Add(bytes.Replace(raw, []byte(`name="metadata"`), []byte(`name="file"`), 1))
	f.Add(bytes.Replace(raw, []byte(`scan.pdf`), []byte(`../x`), 1))
	f.Add([]byte("--" + boundary + "--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := e.with(t)
		before := e.docObjects()
		resp := e.do(request{method: "POST", path: "/api/v1/documents", token: arch, body: bytes.NewReader(body), contentType: ct})
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusCreated {
			return
		}
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		var p api.Problem
		if err := json.Unmarshal(b, &p); err != nil || p.Code == "" || p.Detail == "" {
			t.Fatalf("not a problem: %s", b)
		}
		if after := e.docObjects(); after != before {
			t.Fatalf("%d objects stored by a refused upload (%s)", after-before, p.Code)
		}
	})
}

// FuzzRange sends arbitrary Range headers: the answer is 200, 206 with a
// Content-Range inside the content and the bytes it names, or 416.
func FuzzRange(f *testing.F) {
	e := newEnv(f, envOptions{})
	arch := e.user("archivist", access.Secret, access.Archivist)
	data := bytes.Repeat([]byte("0123456789"), 7000)
	doc := e.upload(arch, meta("Báo cáo", access.Confidential), data)
	for _, s := range []string{"bytes=0-0", "bytes=-1", "bytes=69999-", "bytes=70000-", "bytes=5-2", "bytes=1-2,3-4", "bytes=--1", "items=0-1", "bytes=9223372036854775807-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rng string) {
		if strings.ContainsFunc(rng, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }) {
			t.Skip("not a header value a client can send")
		}
		e := e.with(t)
		resp := e.do(request{method: "GET", path: "/api/v1/documents/" + doc.ID.String() + "/content", token: arch, header: map[string]string{"Range": rng}})
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case 200:
			if !bytes.Equal(b, data) {
				t.Fatalf("200 with %d bytes", len(b))
			}
		case 206:
			var first, last, size int
			if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &size); err != nil || size != len(data) || first > last || last >= size {
				t.Fatalf("Content-Range %q", resp.Header.Get("Content-Range"))
			}
			if !bytes.Equal(b, data[first:last+1]) {
				t.Fatalf("206 body does not match %q", resp.Header.Get("Content-Range"))
			}
		case 416:
		default:
			t.Fatalf("status %d for Range %q", resp.StatusCode, rng)
		}
	})
}

// with returns the environment reporting to t: a fuzz target must not use
// the testing.F it was set up with.
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}
