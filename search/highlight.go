package search

import (
	"strings"
)

// highlighter marks the words of a stored field that a query matched. It
// works on the stored text of the hit itself, never on anything else, so a
// fragment can only ever show what the subject may read.
type highlighter struct {
	words    map[string]struct{} // folded words
	prefixes []string            // folded prefixes
}

// add records the words of a positive clause.
func (h *highlighter) add(ts []term, prefix bool) {
	for _, t := range ts {
		if prefix {
			h.prefixes = append(h.prefixes, t.folded)
			continue
		}
		if h.words == nil {
			h.words = map[string]struct{}{}
		}
		h.words[t.folded] = struct{}{}
	}
}

func (h highlighter) matches(folded string) bool {
	if _, ok := h.words[folded]; ok {
		return true
	}
	for _, p := range h.prefixes {
		if strings.HasPrefix(folded, p) {
			return true
		}
	}
	return false
}

// Fragment sizes of a long field (bytes, cut at word boundaries).
const (
	fragmentBefore = 60
	fragmentLength = 240
)

// fragment marks the matching words of text. ok is false when nothing
// matched. With window set, a long text is cut to a window around the first
// match, with "…" where it was cut.
func (h highlighter) fragment(field, text string, window bool) (Fragment, bool) {
	if text == "" || (len(h.words) == 0 && len(h.prefixes) == 0) {
		return Fragment{}, false
	}
	b := []byte(text)
	var marks []Span
	var words []Span
	eachWord(b, func(start, end int) {
		words = append(words, Span{start, end})
		exact, folded := forms(b[start:end])
		if folded == nil {
			folded = exact
		}
		if h.matches(string(folded)) {
			marks = append(marks, Span{start, end})
		}
	})
	if len(marks) == 0 {
		return Fragment{}, false
	}
	if !window || len(text) <= fragmentLength {
		return Fragment{Field: field, Text: text, Marks: marks}, true
	}
	// Start at the first word beginning at most fragmentBefore bytes
	// before the first match; end at the last word ending within
	// fragmentLength bytes of the start.
	ws := marks[0].Start
	for _, w := range words {
		if w.Start >= marks[0].Start-fragmentBefore {
			ws = w.Start
			break
		}
	}
	we := ws
	for _, w := range words {
		if w.Start >= ws && w.End <= ws+fragmentLength {
			we = w.End
		}
	}
	we = max(we, marks[0].End)
	const ellipsis = "…"
	var out strings.Builder
	shift := -ws
	if ws > 0 {
		out.WriteString(ellipsis)
		shift += len(ellipsis)
	}
	out.WriteString(text[ws:we])
	if we < len(text) {
		out.WriteString(ellipsis)
	}
	var kept []Span
	for _, m := range marks {
		if m.Start >= ws && m.End <= we {
			kept = append(kept, Span{m.Start + shift, m.End + shift})
		}
	}
	return Fragment{Field: field, Text: out.String(), Marks: kept}, true
}
