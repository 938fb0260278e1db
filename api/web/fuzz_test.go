package web

import (
	"regexp"
	"testing"
)

// FuzzUntrustedText feeds the parsers of what browsers and the search send
// — highlighted fragments, typed dates, field paths — with arbitrary text:
// a fragment never yields a tag other than <mark>, a date is either a real
// date or an error, nothing panics.
func FuzzUntrustedText(f *testing.F) {
	for _, s := range []string{
		"a <mark>b</mark> c", "<script>alert(1)</script>", "<mark><img src=x onerror=1></mark>", "&lt;&amp;<mark>",
		"12/03/2025", "31/02/2025", "2025-03-12", "1/1/0001", "keywords[2]", "classification_history[3].decision_ref",
	} {
		f.Add(s)
	}
	tag := regexp.MustCompile(`<[^>]*>`)
	f.Fuzz(func(t *testing.T, s string) {
		out := string(highlight(s))
		for _, m := range tag.FindAllString(out, -1) {
			if m != "<mark>" && m != "</mark>" {
				t.Fatalf("highlight(%q) yields the tag %q", s, m)
			}
		}
		if d, err := parseDateVI(s); err == nil && !d.IsZero() && !d.Valid() {
			t.Fatalf("parseDateVI(%q) = %v, not a date", s, d)
		}
		_ = formField(s)
	})
}
