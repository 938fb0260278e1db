package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// XML namespaces of the elements whose text is kept.
const (
	nsWord   = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
	nsODText = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
	nsOffice = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"

	odtMIME = "application/vnd.oasis.opendocument.text"
)

// officeText extracts the text of a DOCX or ODT file held in data.
func officeText(ctx context.Context, format Format, data []byte, lim Limits, w *textWriter) error {
	// The zip directory is read whole by archive/zip; count its entries
	// from the end record first, so a directory of millions of tiny
	// entries is refused before it is allocated.
	if n, ok := zipEntryCount(data); ok && n > uint64(lim.MaxEntries) {
		return fmt.Errorf("%d zip entries: %w", n, errLimit)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if len(zr.File) > lim.MaxEntries {
		return fmt.Errorf("%d zip entries: %w", len(zr.File), errLimit)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	budget := &unpackBudget{left: lim.MaxUnpacked}

	switch format {
	case DOCX:
		main := files["word/document.xml"]
		if main == nil {
			return &Error{Format: DOCX, Reason: Mismatch, Err: errors.New("no word/document.xml")}
		}
		// The body first, then headers, footers and notes, which carry
		// words a reader may search for (a "MẬT" header, a footnote).
		parts := []*zip.File{main}
		var extra []string
		for name := range files {
			dir, base := path.Split(name)
			if dir == "word/" && (strings.HasPrefix(base, "header") || strings.HasPrefix(base, "footer") ||
				base == "footnotes.xml" || base == "endnotes.xml") && strings.HasSuffix(base, ".xml") {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		for _, name := range extra {
			parts = append(parts, files[name])
		}
		for _, f := range parts {
			if err := xmlText(ctx, f, budget, lim.MaxDepth, w, docxRules); err != nil {
				return err
			}
			if w.full() {
				return nil
			}
		}
		return nil

	case ODT:
		mt := files["mimetype"]
		if mt == nil {
			return &Error{Format: ODT, Reason: Mismatch, Err: errors.New("no mimetype entry")}
		}
		var b bytes.Buffer
		if err := unpack(mt, budget, &b, 256); err != nil {
			return err
		}
		if strings.TrimSpace(b.String()) != odtMIME {
			return &Error{Format: ODT, Reason: Unsupported, Err: fmt.Errorf("opendocument of type %q", truncate(b.String()))}
		}
		content := files["content.xml"]
		if content == nil {
			return fmt.Errorf("no content.xml: %w", errCorrupt)
		}
		return xmlText(ctx, content, budget, lim.MaxDepth, w, odtRules)
	}
	return &Error{Format: format, Reason: Unsupported}
}

// zipEntryCount reads the number of entries from the end-of-central-directory
// record (or its zip64 form). ok is false when the record is not found; the
// zip reader then reports the damage.
func zipEntryCount(data []byte) (n uint64, ok bool) {
	const eocdLen = 22
	start := max(0, len(data)-eocdLen-0xffff)
	i := bytes.LastIndex(data[start:], []byte("PK\x05\x06"))
	if i < 0 || start+i+eocdLen > len(data) {
		return 0, false
	}
	rec := data[start+i:]
	n = uint64(binary.LittleEndian.Uint16(rec[10:12]))
	if n != 0xffff {
		return n, true
	}
	// zip64: the locator sits just before the record and points at the
	// zip64 end record.
	loc := start + i - 20
	if loc < 0 || string(data[loc:loc+4]) != "PK\x06\x07" {
		return 0, false
	}
	off := binary.LittleEndian.Uint64(data[loc+8 : loc+16])
	if len(data) < 56 || off > uint64(len(data)-56) || string(data[off:off+4]) != "PK\x06\x06" {
		return 0, false
	}
	return binary.LittleEndian.Uint64(data[off+32 : off+40]), true
}

// unpackBudget is how many bytes may still be unpacked from one zip.
type unpackBudget struct{ left int64 }

// unpack copies at most limit bytes of f into w, counting against b. The
// sizes in the zip headers are not trusted: the decompressed stream itself
// is counted.
func unpack(f *zip.File, b *unpackBudget, w io.Writer, limit int64) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w: %v", f.Name, errCorrupt, err)
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, min(limit, b.left)+1))
	b.left -= n
	if err != nil {
		return fmt.Errorf("%s: %w: %v", f.Name, errCorrupt, err)
	}
	if b.left < 0 || n > limit {
		return fmt.Errorf("%s: %w: unpacks to more than allowed", f.Name, errLimit)
	}
	return nil
}

// budgetReader reads a zip entry, failing with errLimit once the unpack
// budget is spent.
type budgetReader struct {
	r io.Reader
	b *unpackBudget
}

func (r budgetReader) Read(p []byte) (int, error) {
	if r.b.left <= 0 {
		return 0, fmt.Errorf("%w: unpacks to more than allowed", errLimit)
	}
	if int64(len(p)) > r.b.left {
		p = p[:r.b.left]
	}
	n, err := r.r.Read(p)
	r.b.left -= int64(n)
	return n, err
}

// xmlRules say which elements of a format carry text and which separate it.
type xmlRules struct {
	// text reports whether character data directly inside name is text.
	text func(name xml.Name, inBody bool) bool
	// body reports whether name opens the part of the file that holds the
	// document's text (everything, when nil).
	body func(name xml.Name) bool
	// space and brk report elements that stand for a space or a break.
	space func(name xml.Name) bool
	brk   func(name xml.Name) bool
}

var docxRules = xmlRules{
	text: func(n xml.Name, _ bool) bool { return n.Space == nsWord && n.Local == "t" },
	space: func(n xml.Name) bool {
		return n.Space == nsWord && (n.Local == "tab" || n.Local == "noBreakHyphen")
	},
	brk: func(n xml.Name) bool {
		return n.Space == nsWord && (n.Local == "p" || n.Local == "br" || n.Local == "cr" || n.Local == "tc")
	},
}

var odtRules = xmlRules{
	text: func(_ xml.Name, inBody bool) bool { return inBody },
	body: func(n xml.Name) bool { return n.Space == nsOffice && n.Local == "text" },
	space: func(n xml.Name) bool {
		return n.Space == nsODText && (n.Local == "s" || n.Local == "tab")
	},
	brk: func(n xml.Name) bool {
		return n.Space == nsODText && (n.Local == "p" || n.Local == "h" || n.Local == "line-break")
	},
}

// xmlText streams one XML part of a zip and writes its text to w. Elements
// nested deeper than maxDepth end the extraction with errLimit; the decoder
// expands no entities but the five predefined ones.
func xmlText(ctx context.Context, f *zip.File, budget *unpackBudget, maxDepth int, w *textWriter, rules xmlRules) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%s: %w: %v", f.Name, errCorrupt, err)
	}
	defer rc.Close()
	d := xml.NewDecoder(budgetReader{rc, budget})
	d.Strict = true
	var stack []xml.Name
	bodyDepth := -1 // depth at which the body element opened; -1 outside
	if rules.body == nil {
		bodyDepth = 0
	}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, errLimit) {
				return err
			}
			return fmt.Errorf("%s: %w: %v", f.Name, errCorrupt, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name)
			if len(stack) > maxDepth {
				return fmt.Errorf("%s: XML nested deeper than %d: %w", f.Name, maxDepth, errLimit)
			}
			if bodyDepth < 0 && rules.body(t.Name) {
				bodyDepth = len(stack)
			}
			if rules.space(t.Name) {
				w.WriteString(" ")
			}
		case xml.EndElement:
			if bodyDepth == len(stack) && rules.body != nil {
				bodyDepth = -1
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if rules.brk(t.Name) {
				w.Break()
			}
		case xml.CharData:
			if len(stack) > 0 && rules.text(stack[len(stack)-1], bodyDepth >= 0) {
				w.WriteString(string(t))
			}
		}
		if w.full() {
			return nil
		}
	}
}

// truncate shortens untrusted text quoted in an error.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
