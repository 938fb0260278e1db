package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func extractWith(t *testing.T, e *Extractor, contentType string, data []byte) (Text, *Error) {
	t.Helper()
	got, err := e.Extract(context.Background(), contentType, bytes.NewReader(data))
	if err == nil {
		return got, nil
	}
	var ee *Error
	if !errors.As(err, &ee) {
		t.Fatalf("error %v is not an *Error", err)
	}
	return got, ee
}

// noise returns n bytes that do not compress.
func noise(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return string(b)
}

func noPDF() *Extractor { return New(Config{PDFToText: "-"}) }

// zipFile builds a zip from name/content pairs, in order.
func zipFile(t testing.TB, entries ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for i := 0; i < len(entries); i += 2 {
		method := zip.Deflate
		if entries[i] == "mimetype" {
			method = zip.Store
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: entries[i], Method: method})
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(entries[i+1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const docxBody = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:r><w:t>Nghị quyết về công tác </w:t></w:r><w:r><w:t>cán b</w:t></w:r><w:r><w:t>ộ</w:t></w:r></w:p>
<w:p><w:r><w:t>Đoạn</w:t><w:tab/><w:t>hai</w:t></w:r><w:r><w:delText>đã xóa</w:delText></w:r></w:p>
</w:body></w:document>`

func docx(t testing.TB, body string) []byte {
	return zipFile(t,
		"[Content_Types].xml", `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"word/document.xml", body,
		"word/header1.xml", `<w:hdr xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:p><w:r><w:t>TUYỆT MẬT</w:t></w:r></w:p></w:hdr>`,
	)
}

const odtContent = `<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">
<office:automatic-styles><style>không lấy</style></office:automatic-styles>
<office:body><office:text>
<text:h>Báo cáo</text:h><text:p>Tình hình<text:s/>tổ chức <text:span>cơ sở</text:span></text:p><text:p>đảng</text:p>
</office:text></office:body></office:document-content>`

func odt(t testing.TB, mimetype, content string) []byte {
	return zipFile(t, "mimetype", mimetype, "content.xml", content, "styles.xml", "<x/>")
}

func TestFormats(t *testing.T) {
	t.Parallel()
	e := noPDF()
	for _, tc := range []struct {
		name, contentType string
		data              []byte
		format            Format
		want              string
	}{
		{"plain", "text/plain; charset=utf-8", []byte("\xef\xbb\xbfVăn bản\nthường"), Plain, "Văn bản\nthường"},
		{"plain invalid utf-8", "text/plain", []byte("a\xffb"), Plain, "a\uFFFDb"},
		{"windows-1258", "text/plain; charset=windows-1258", []byte("Vi\xea\xf2t Nam"), Plain, "Vi\u00ea\u0323t Nam"},
		{"utf-16", "text/plain; charset=utf-16le", []byte("V\x00i\x00\xc7\x1e\x74\x00"), Plain, "Việt"},
		{"undeclared text", "", []byte("chỉ là chữ"), Plain, "chỉ là chữ"},
		{"octet-stream text", "application/octet-stream", []byte("chỉ là chữ"), Plain, "chỉ là chữ"},
		{"markdown", "text/markdown", []byte("# Tiêu đề\n\nXem [tài liệu](http://example.invalid/x \"t\") và <b>đậm</b>\n"), Markdown, "# Tiêu đề\n\nXem [tài liệu] và  đậm \n"},
		{"html", "text/html; charset=utf-8", []byte(`<html><head><title>Tựa</title><style>p{}</style><script>var x="bí mật";</script></head><body><p>Một &amp; hai</p><div>ba</div></body></html>`), HTML, "Tựa\nMột & hai\nba"},
		{"sniffed html", "", []byte("<!DOCTYPE html><p>xin chào</p>"), HTML, "xin chào"},
		{"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx(t, docxBody), DOCX, "Nghị quyết về công tác cán bộ\nĐoạn hai\nTUYỆT MẬT"},
		{"undeclared docx", "", docx(t, docxBody), DOCX, "Nghị quyết về công tác cán bộ\nĐoạn hai\nTUYỆT MẬT"},
		{"odt", "application/vnd.oasis.opendocument.text", odt(t, odtMIME, odtContent), ODT, "Báo cáo\nTình hình tổ chức cơ sở\nđảng"},
		{"undeclared odt", "", odt(t, odtMIME, odtContent), ODT, "Báo cáo\nTình hình tổ chức cơ sở\nđảng"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extractWith(t, e, tc.contentType, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if got.Format != tc.format || strings.TrimSpace(got.Text) != strings.TrimSpace(tc.want) || got.Truncated {
				t.Errorf("got %s %q (truncated %v), want %s %q", got.Format, got.Text, got.Truncated, tc.format, tc.want)
			}
		})
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	small := New(Config{PDFToText: "-", Limits: Limits{MaxInput: 1 << 10, MaxUnpacked: 1 << 20, MaxEntries: 10, MaxDepth: 64}})

	// A zip bomb: 32 MiB of zeros that deflate to a few dozen KiB.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	f, _ := zw.Create("word/document.xml")
	f.Write([]byte(`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:p><w:t>`))
	as := bytes.Repeat([]byte("a"), 1<<20)
	for range 32 {
		f.Write(as)
	}
	f.Write([]byte(`</w:t></w:p></w:document>`))
	zw.Close()
	bigLimits := New(Config{PDFToText: "-", Limits: Limits{MaxUnpacked: 1 << 20}})

	var many []string
	for i := range 20 {
		many = append(many, fmt.Sprintf("word/f%d.xml", i), "<x/>")
	}
	many = append(many, "word/document.xml", docxBody)
	deep := `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">` +
		strings.Repeat("<w:p>", 100) + strings.Repeat("</w:p>", 100) + `</w:document>`

	for _, tc := range []struct {
		name, contentType string
		data              []byte
		e                 *Extractor
		reason            Reason
	}{
		{"image", "image/png", []byte("\x89PNG\r\n\x1a\n...."), small, Unsupported},
		{"binary", "application/octet-stream", []byte{0, 1, 2, 3}, small, Unsupported},
		{"pdf declared as text", "text/plain", []byte("%PDF-1.4\n"), small, Mismatch},
		{"text declared as pdf", "application/pdf", []byte("not a pdf"), small, Mismatch},
		{"binary declared as html", "text/html", []byte("\x00\x01<html>"), small, Mismatch},
		{"zip declared as html", "text/html", zipFile(t, "a", "b"), small, Mismatch},
		{"zip of something else", "", zipFile(t, "a.txt", "b"), small, Unsupported},
		{"docx without a body", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", zipFile(t, "word/x.xml", "<x/>"), small, Mismatch},
		{"spreadsheet", "application/vnd.oasis.opendocument.text", odt(t, "application/vnd.oasis.opendocument.spreadsheet", odtContent), small, Unsupported},
		{"corrupt zip", "application/vnd.oasis.opendocument.text", []byte("PK\x03\x04 garbage that is no zip"), small, Corrupt},
		{"corrupt xml", "", docx(t, "<w:document><w:p></w:document>"), small, Corrupt},
		{"too large", "text/plain", bytes.Repeat([]byte("a"), 2<<10), small, TooLarge},
		{"too large docx", "", zipFile(t, "word/document.xml", docxBody, "word/media/image1.png", noise(4<<10)), small, TooLarge},
		{"zip bomb", "", bomb.Bytes(), bigLimits, LimitExceeded},
		{"many entries", "", zipFile(t, many...), New(Config{PDFToText: "-", Limits: Limits{MaxEntries: 10}}), LimitExceeded},
		{"deep xml", "", docx(t, deep), New(Config{PDFToText: "-", Limits: Limits{MaxDepth: 64}}), LimitExceeded},
		{"pdf without the tool", "application/pdf", []byte("%PDF-1.4\n"), small, ToolMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := extractWith(t, tc.e, tc.contentType, tc.data)
			if err == nil || err.Reason != tc.reason {
				t.Fatalf("got %v, want %s", err, tc.reason)
			}
			if err.Reason.MessageVI() == string(err.Reason) || err.Reason.MessageEN() == string(err.Reason) {
				t.Errorf("no message for %s", err.Reason)
			}
		})
	}
}

func TestTruncated(t *testing.T) {
	t.Parallel()
	e := New(Config{PDFToText: "-", Limits: Limits{MaxText: 10}})
	got, err := extractWith(t, e, "text/plain", []byte("ấấấấấấấấ"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Truncated || len(got.Text) > 10 || got.Text != "ấấấ" {
		t.Errorf("got %q truncated %v", got.Text, got.Truncated)
	}
	got, err = extractWith(t, e, "", docx(t, docxBody))
	if err != nil || !got.Truncated || len(got.Text) > 10 {
		t.Errorf("docx: %q %v %v", got.Text, got.Truncated, err)
	}
}

// minimalPDF returns a one-page PDF showing text in Helvetica.
func minimalPDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 18 Tf 20 100 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func needPDFToText(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext missing on CI: scripts/setup.sh installs poppler-utils")
		}
		t.Skip("pdftotext not installed (poppler-utils; scripts/setup.sh installs it)")
	}
	return p
}

func TestPDF(t *testing.T) {
	t.Parallel()
	needPDFToText(t)
	e := New(Config{})
	if !e.PDFSupported() {
		t.Fatal("pdftotext found in PATH but not by New")
	}
	got, err := extractWith(t, e, "application/pdf", minimalPDF("Khomat kho luu tru"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != PDF || !strings.Contains(got.Text, "Khomat kho luu tru") {
		t.Errorf("got %s %q", got.Format, got.Text)
	}
	// Undeclared, the magic bytes decide.
	if got, err := extractWith(t, e, "", minimalPDF("abc")); err != nil || !strings.Contains(got.Text, "abc") {
		t.Errorf("undeclared: %q %v", got.Text, err)
	}
	if _, err := extractWith(t, e, "application/pdf", []byte("%PDF-1.4\nthis is not a pdf at all")); err == nil || err.Reason != Corrupt {
		t.Errorf("corrupt pdf: %v", err)
	}
	small := New(Config{Limits: Limits{MaxInput: 100}})
	if _, err := extractWith(t, small, "application/pdf", minimalPDF("x")); err == nil || err.Reason != TooLarge {
		t.Errorf("large pdf: %v", err)
	}
	short := New(Config{Limits: Limits{MaxText: 5}})
	if got, err := extractWith(t, short, "application/pdf", minimalPDF("Khomat kho luu tru")); err != nil || !got.Truncated || len(got.Text) > 5 {
		t.Errorf("truncated pdf: %q %v", got.Text, err)
	}
}

// TestPDFToolBounds runs stand-ins for pdftotext that never finish, to
// check that the time bounds hold.
func TestPDFToolBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, script := range map[string]string{
		"sleeps": "#!/bin/sh\nexec sleep 60\n",
		"spins":  "#!/bin/sh\nwhile :; do :; done\n",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			e := New(Config{PDFToText: path, Limits: Limits{Timeout: time.Second}})
			start := time.Now()
			_, err := extractWith(t, e, "application/pdf", minimalPDF("x"))
			if err == nil || err.Reason != Timeout {
				t.Fatalf("got %v, want a timeout", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// FuzzExtract: no input makes an extractor panic, hang or return anything
// but text or an *Error.
func FuzzExtract(f *testing.F) {
	f.Add("text/html", []byte("<p>a<script>b</script></p>"))
	f.Add("", docx(f, docxBody))
	f.Add("", odt(f, odtMIME, odtContent))
	f.Add("text/markdown", []byte("[a](b) <i>c</i>"))
	f.Add("text/plain", []byte("\xef\xbb\xbfa\xff"))
	e := New(Config{PDFToText: "-", Limits: Limits{MaxInput: 1 << 20, MaxUnpacked: 4 << 20, Timeout: 5 * time.Second}})
	f.Fuzz(func(t *testing.T, contentType string, data []byte) {
		got, err := e.Extract(context.Background(), contentType, bytes.NewReader(data))
		if err != nil {
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if len(got.Text) > 8<<20 {
			t.Fatalf("%d bytes of text", len(got.Text))
		}
	})
}
