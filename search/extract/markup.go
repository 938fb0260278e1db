package extract

import (
	"bufio"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxToken bounds one HTML token (a tag with its attributes, or a run of
// text) held in memory at once.
const maxToken = 1 << 20

// htmlText keeps the text of an HTML document, without scripts and styles.
// It uses the tokenizer, not the parser: no tree is built, so nesting depth
// costs nothing and hostile markup cannot grow memory beyond one token.
func htmlText(ctx context.Context, r io.Reader, w *textWriter) error {
	z := html.NewTokenizer(r)
	z.SetMaxBuf(maxToken)
	skip := 0 // inside script, style or template
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			err := z.Err()
			if err == io.EOF {
				return nil
			}
			if errors.Is(err, html.ErrBufferExceeded) {
				return errLimit
			}
			return err
		case html.TextToken:
			if skip == 0 {
				w.WriteString(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch a {
			case atom.Script, atom.Style, atom.Template:
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
			if blockElement(a) {
				w.Break()
			}
		}
		if w.full() {
			return nil
		}
	}
}

// blockElement reports whether an element ends a run of words: text on
// either side of it belongs to different sentences or cells.
func blockElement(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.Br, atom.Li, atom.Ul, atom.Ol, atom.Tr, atom.Td, atom.Th,
		atom.Table, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Section,
		atom.Article, atom.Header, atom.Footer, atom.Blockquote, atom.Pre, atom.Hr,
		atom.Title, atom.Dd, atom.Dt, atom.Caption, atom.Figcaption, atom.Address:
		return true
	}
	return false
}

// Markdown syntax that carries no words: link targets, image sources and
// HTML tags. Emphasis marks, headings and list bullets are punctuation the
// analyzer skips anyway.
var (
	mdLinkTarget = regexp.MustCompile(`\]\([^)\s]*(\s+"[^"]*")?\)`)
	mdTag        = regexp.MustCompile(`</?[A-Za-z][^>\n]*>`)
)

// markdownText keeps the words of a Markdown document, line by line.
func markdownText(ctx context.Context, r io.Reader, w *textWriter) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxToken)
	for n := 0; sc.Scan(); n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line := sc.Text()
		line = mdLinkTarget.ReplaceAllString(line, "]")
		line = mdTag.ReplaceAllString(line, " ")
		if strings.TrimSpace(line) == "" {
			w.Break()
			continue
		}
		w.WriteString(line)
		w.WriteString("\n")
		if w.full() {
			return nil
		}
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return errLimit
	}
	return sc.Err()
}
