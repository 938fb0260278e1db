// Package extract turns the content of an archived document into plain text
// for the search index: plain text, Markdown, HTML, PDF (through Debian's
// poppler-utils pdftotext), DOCX and ODT.
//
// Content comes from users and may be corrupt or hostile: a zip bomb, XML
// nested a million deep, a PDF that loops. Every extractor is bounded in the
// bytes it reads, the text it keeps, the entries and depth it walks and the
// time it takes, and reports what stopped it as an *Error with a Reason,
// never a panic. The format is chosen from the magic bytes first and the
// declared content type second, never from a file name.
package extract

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"
)

// Format is a content format the extractor reads.
type Format string

// The formats.
const (
	Plain    Format = "plain"
	Markdown Format = "markdown"
	HTML     Format = "html"
	PDF      Format = "pdf"
	DOCX     Format = "docx"
	ODT      Format = "odt"
)

// Reason says why content was not (or not wholly) turned into text. It is a
// stable code, stored in the index beside the document.
type Reason string

// The reasons.
const (
	// Unsupported: the content is in no format the extractor reads
	// (images, spreadsheets, unknown binaries).
	Unsupported Reason = "unsupported"
	// Mismatch: the declared content type and the bytes disagree, e.g. a
	// "PDF" that is not one.
	Mismatch Reason = "mismatch"
	// TooLarge: the content is larger than Limits.MaxInput.
	TooLarge Reason = "too_large"
	// Corrupt: the content could not be parsed.
	Corrupt Reason = "corrupt"
	// LimitExceeded: a bound on entries, expansion or nesting was hit (zip
	// bombs, deeply nested XML).
	LimitExceeded Reason = "limit"
	// Timeout: extraction took longer than Limits.Timeout, or pdftotext
	// used up its CPU time.
	Timeout Reason = "timeout"
	// ToolMissing: the external tool for the format (pdftotext) is not
	// installed; the document is indexed on its metadata only.
	ToolMissing Reason = "tool_missing"
	// Failed: the extractor failed for another reason (an I/O error, the
	// tool crashed or ran out of memory).
	Failed Reason = "failed"
	// Unavailable: the content could not be read from the store. Extract
	// never returns it; callers that could not open the content use it.
	Unavailable Reason = "unavailable"
)

// MessageVI returns the reason in Vietnamese, for the interface.
func (r Reason) MessageVI() string {
	switch r {
	case Unsupported:
		return "định dạng tệp không được hỗ trợ"
	case Mismatch:
		return "nội dung không khớp với loại tệp khai báo"
	case TooLarge:
		return "tệp quá lớn để trích xuất văn bản"
	case Corrupt:
		return "tệp bị hỏng, không đọc được"
	case LimitExceeded:
		return "tệp vượt giới hạn an toàn khi giải nén hoặc phân tích"
	case Timeout:
		return "trích xuất văn bản quá thời gian cho phép"
	case ToolMissing:
		return "máy chủ chưa cài công cụ đọc PDF (pdftotext)"
	case Failed:
		return "trích xuất văn bản thất bại"
	case Unavailable:
		return "không đọc được nội dung từ kho lưu trữ"
	}
	return string(r)
}

// MessageEN returns the reason in English.
func (r Reason) MessageEN() string {
	switch r {
	case Unsupported:
		return "file format not supported"
	case Mismatch:
		return "content does not match its declared type"
	case TooLarge:
		return "file too large for text extraction"
	case Corrupt:
		return "file is corrupt"
	case LimitExceeded:
		return "file exceeds a safety limit when unpacked or parsed"
	case Timeout:
		return "text extraction timed out"
	case ToolMissing:
		return "the PDF text tool (pdftotext) is not installed on the server"
	case Failed:
		return "text extraction failed"
	case Unavailable:
		return "the content could not be read from the store"
	}
	return string(r)
}

// Error is what Extract returns when it could not produce the text.
type Error struct {
	Format Format // the format detected, "" when none
	Reason Reason
	Err    error // the underlying cause, for logs; may be nil
}

// Error returns the format, the reason and the cause in English.
func (e *Error) Error() string {
	msg := "extract"
	if e.Format != "" {
		msg += " " + string(e.Format)
	}
	msg += ": " + e.Reason.MessageEN()
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Limits bound the work done on one document. The zero value of a field
// takes the default shown.
type Limits struct {
	// MaxInput is the largest content read, in bytes (64 MiB). DOCX and
	// ODT are read whole into memory for their zip directory, so this is
	// also their memory bound.
	MaxInput int64
	// MaxText is the most text kept, in bytes (8 MiB); the rest is
	// dropped and Text.Truncated set.
	MaxText int
	// MaxEntries is the most entries a DOCX or ODT zip may list (10,000).
	MaxEntries int
	// MaxUnpacked is the most bytes unpacked from a zip in all (128 MiB).
	MaxUnpacked int64
	// MaxDepth is the deepest XML nesting followed (256).
	MaxDepth int
	// Timeout bounds one extraction (30 s).
	Timeout time.Duration
	// PDFMemory is the address-space limit of the pdftotext process, in
	// bytes (1 GiB).
	PDFMemory int64
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxInput, 64<<20)
	def(&l.MaxUnpacked, 128<<20)
	def(&l.PDFMemory, 1<<30)
	if l.MaxText <= 0 {
		l.MaxText = 8 << 20
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 10000
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 256
	}
	if l.Timeout <= 0 {
		l.Timeout = 30 * time.Second
	}
	return l
}

// Config configures an Extractor.
type Config struct {
	Limits Limits
	// PDFToText is the path of poppler's pdftotext. Empty means look it
	// up in PATH when New runs; "-" disables PDF extraction (tests).
	PDFToText string
	// Logger receives the warning that pdftotext is missing, once per
	// Extractor. Nil discards it.
	Logger *slog.Logger
}

// Extractor extracts text. It is safe for concurrent use.
type Extractor struct {
	limits    Limits
	pdftotext string
	log       *slog.Logger
	warned    chan struct{} // closed once the missing-tool warning is out
}

// New returns an Extractor. A missing pdftotext is not an error: PDFs are
// then indexed on their metadata only, with a warning in the log.
func New(cfg Config) *Extractor {
	e := &Extractor{limits: cfg.Limits.withDefaults(), log: cfg.Logger, warned: make(chan struct{})}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	switch cfg.PDFToText {
	case "-":
	case "":
		if p, err := exec.LookPath("pdftotext"); err == nil {
			e.pdftotext = p
		}
	default:
		e.pdftotext = cfg.PDFToText
	}
	if e.pdftotext == "" {
		e.warnToolMissing()
	}
	return e
}

// PDFSupported reports whether PDFs are turned into text (pdftotext was
// found).
func (e *Extractor) PDFSupported() bool { return e.pdftotext != "" }

func (e *Extractor) warnToolMissing() {
	select {
	case <-e.warned:
	default:
		close(e.warned)
		e.log.Warn("pdftotext not found: PDFs are indexed on their metadata only; install poppler-utils and run a repair")
	}
}

// Text is extracted text.
type Text struct {
	Text      string
	Format    Format
	Truncated bool // the text was longer than Limits.MaxText
}

// Extract reads content declared as contentType and returns its text. Any
// failure is an *Error.
func (e *Extractor) Extract(ctx context.Context, contentType string, r io.Reader) (t Text, err error) {
	ctx, cancel := context.WithTimeout(ctx, e.limits.Timeout)
	defer cancel()
	defer func() {
		// The parsers below are the standard library's and x/net's, which
		// should not panic; a panic on hostile input must still cost only
		// this document's text, not the server.
		if p := recover(); p != nil {
			t, err = Text{}, &Error{Format: t.Format, Reason: Failed, Err: fmt.Errorf("panic: %v", p)}
		}
	}()

	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(512)
	format, err := detect(contentType, head)
	if err != nil {
		return Text{}, err
	}
	dec := decoder(contentType)
	lim := e.limits
	switch format {
	case PDF:
		return e.pdf(ctx, br)
	case DOCX, ODT:
		data, err := readAll(br, lim.MaxInput)
		if err != nil {
			return Text{}, &Error{Format: format, Reason: reasonOf(err), Err: err}
		}
		w := newTextWriter(lim.MaxText)
		if err := officeText(ctx, format, data, lim, w); err != nil {
			return Text{}, &Error{Format: format, Reason: reasonOf(err), Err: err}
		}
		return w.result(format), nil
	}
	var lr io.Reader = &limitedReader{r: br, n: lim.MaxInput}
	if dec != nil {
		lr = transform.NewReader(lr, dec)
	}
	w := newTextWriter(lim.MaxText)
	switch format {
	case HTML:
		err = htmlText(ctx, lr, w)
	case Markdown:
		err = markdownText(ctx, lr, w)
	default:
		err = plainText(ctx, lr, w)
	}
	if err != nil {
		return Text{}, &Error{Format: format, Reason: reasonOf(err), Err: err}
	}
	return w.result(format), nil
}

// Errors the extractors return internally; reasonOf maps them to Reasons.
var (
	errTooLarge = errors.New("content larger than the input limit")
	errLimit    = errors.New("safety limit exceeded")
	errCorrupt  = errors.New("malformed content")
)

func reasonOf(err error) Reason {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Reason
	case errors.Is(err, errTooLarge):
		return TooLarge
	case errors.Is(err, errLimit):
		return LimitExceeded
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Timeout
	case errors.Is(err, errCorrupt):
		return Corrupt
	}
	return Failed
}

// detect chooses the format: magic bytes decide for binary formats, and the
// declared type chooses among the text formats. A declared binary type with
// bytes that do not match is a Mismatch, not a guess.
func detect(contentType string, head []byte) (Format, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = ""
	}
	mt = strings.ToLower(mt)
	declared := map[string]Format{
		"application/pdf": PDF,
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": DOCX,
		"application/vnd.oasis.opendocument.text":                                 ODT,
		"text/html":             HTML,
		"application/xhtml+xml": HTML,
		"text/markdown":         Markdown,
		"text/x-markdown":       Markdown,
		"text/plain":            Plain,
	}[mt]

	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		if declared != "" && declared != PDF {
			return "", &Error{Format: PDF, Reason: Mismatch, Err: fmt.Errorf("declared %s", mt)}
		}
		return PDF, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		// Both are zip files; which one is decided by what is inside.
		// The declared type only has to agree that it is one of them.
		switch declared {
		case DOCX, ODT:
			return declared, nil
		case "":
			return zipFormat(head)
		}
		return "", &Error{Reason: Mismatch, Err: fmt.Errorf("a zip file declared %s", mt)}
	}
	switch declared {
	case PDF, DOCX, ODT:
		return "", &Error{Format: declared, Reason: Mismatch, Err: errors.New("no matching magic bytes")}
	case HTML, Markdown, Plain:
		// Text of a declared type is taken as it comes: invalid bytes of
		// a legacy encoding become U+FFFD. Only NUL bytes say binary,
		// unless a charset such as UTF-16 explains them.
		if !textCharset(contentType) && bytes.IndexByte(head, 0) >= 0 {
			return "", &Error{Format: declared, Reason: Mismatch, Err: errors.New("binary content declared as text")}
		}
		return declared, nil
	}
	if mt == "" || strings.HasPrefix(mt, "text/") || mt == "application/octet-stream" {
		if looksText(head) {
			if looksHTML(head) {
				return HTML, nil
			}
			return Plain, nil
		}
	}
	return "", &Error{Reason: Unsupported, Err: fmt.Errorf("content type %q", mt)}
}

// decoder returns the decoder of the charset a text content type names,
// or nil for UTF-8, ASCII, an unknown charset or none.
func decoder(contentType string) *encoding.Decoder {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil
	}
	cs := strings.ToLower(params["charset"])
	if cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" {
		return nil
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return nil
	}
	return enc.NewDecoder()
}

// textCharset reports whether a content type names a charset other than
// UTF-8 that the extractor decodes.
func textCharset(contentType string) bool { return decoder(contentType) != nil }

// zipFormat tells DOCX from ODT by the first entry of an undeclared zip:
// ODT requires "mimetype" first and stored; DOCX writers put
// "[Content_Types].xml" first in practice, but anything else is checked
// again when the directory is read.
func zipFormat(head []byte) (Format, error) {
	if len(head) >= 30 {
		nameLen := int(head[26]) | int(head[27])<<8
		if 30+nameLen <= len(head) {
			name := string(head[30 : 30+nameLen])
			switch {
			case name == "mimetype":
				return ODT, nil
			case name == "[Content_Types].xml", strings.HasPrefix(name, "word/"), strings.HasPrefix(name, "_rels/"), strings.HasPrefix(name, "docProps/"):
				return DOCX, nil
			}
		}
	}
	return "", &Error{Reason: Unsupported, Err: errors.New("a zip file that is neither DOCX nor ODT")}
}

// looksText reports whether head is plausibly text: valid UTF-8 (a rune cut
// at the end is allowed) and no NUL bytes.
func looksText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for i := 0; i < len(head); {
		r, size := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && size == 1 {
			if len(head)-i < utf8.UTFMax && !utf8.FullRune(head[i:]) {
				return true
			}
			return false
		}
		i += size
	}
	return true
}

func looksHTML(head []byte) bool {
	h := bytes.ToLower(bytes.TrimSpace(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))))
	return bytes.HasPrefix(h, []byte("<!doctype html")) || bytes.HasPrefix(h, []byte("<html"))
}

// readAll reads r whole, failing with errTooLarge past max bytes.
func readAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}

// limitedReader fails with errTooLarge after n bytes, where io.LimitReader
// would end quietly and let a truncated file pass as whole.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// textWriter collects extracted text up to a limit, with whitespace
// collapsed, and remembers whether it had to drop any.
type textWriter struct {
	b         strings.Builder
	max       int
	truncated bool
	space     bool // a separator is pending
}

func newTextWriter(max int) *textWriter { return &textWriter{max: max} }

// WriteString appends s, replacing invalid UTF-8.
func (w *textWriter) WriteString(s string) {
	if w.truncated {
		return
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if w.space && w.b.Len() > 0 {
		w.b.WriteByte('\n')
	}
	w.space = false
	if w.b.Len()+len(s) > w.max {
		// cut on a rune boundary
		n := w.max - w.b.Len()
		for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
			n--
		}
		w.b.WriteString(s[:max(n, 0)])
		w.truncated = true
		return
	}
	w.b.WriteString(s)
}

// Break separates what comes next from what came before (a paragraph, a
// cell, a line), so that words of two paragraphs never run together.
func (w *textWriter) Break() { w.space = true }

func (w *textWriter) full() bool { return w.truncated }

func (w *textWriter) result(f Format) Text {
	return Text{Text: w.b.String(), Format: f, Truncated: w.truncated}
}

// plainText copies text, dropping a UTF-8 byte-order mark.
func plainText(ctx context.Context, r io.Reader, w *textWriter) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	buf := make([]byte, 64<<10)
	var carry []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := br.Read(buf)
		chunk := append(carry, buf[:n]...)
		// A rune cut at the end of the chunk waits for the next round.
		cut := len(chunk)
		if err == nil {
			i := len(chunk) - 1
			for i >= 0 && i > len(chunk)-utf8.UTFMax && !utf8.RuneStart(chunk[i]) {
				i--
			}
			if i >= 0 && !utf8.FullRune(chunk[i:]) {
				cut = i
			}
		}
		w.WriteString(string(chunk[:cut]))
		carry = append([]byte(nil), chunk[cut:]...)
		if w.full() {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
