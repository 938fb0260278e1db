package front

import (
	"errors"
	"fmt"
	"html"
	"strings"

	"khomat/search"
)

// SearchError translates an error of the search indexes into the front
// ends': a query that does not parse is ErrInvalidQuery, a subject who may
// not search ErrForbidden, indexes not reconciled or closed ErrUnavailable.
func SearchError(err error) error {
	var qe *search.QueryError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &qe):
		return fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	case errors.Is(err, search.ErrForbidden):
		return fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, search.ErrNotReady), errors.Is(err, search.ErrClosed):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// Mark writes a highlighted fragment as HTML-escaped text with its matched
// spans between <mark> and </mark>. Spans out of order or out of the text
// are skipped.
func Mark(f search.Fragment) string {
	var b strings.Builder
	at := 0
	for _, m := range f.Marks {
		if m.Start < at || m.End > len(f.Text) || m.Start > m.End {
			continue
		}
		b.WriteString(html.EscapeString(f.Text[at:m.Start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(f.Text[m.Start:m.End]))
		b.WriteString("</mark>")
		at = m.End
	}
	b.WriteString(html.EscapeString(f.Text[at:]))
	return b.String()
}

// Highlights gathers a hit's highlighted fragments by field, each written
// by Mark; nil when there are none.
func Highlights(frags []search.Fragment) map[string][]string {
	var out map[string][]string
	for _, f := range frags {
		if out == nil {
			out = map[string][]string{}
		}
		out[f.Field] = append(out[f.Field], Mark(f))
	}
	return out
}
