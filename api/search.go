package api

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"

	"khomat/archive/access"
	"khomat/search"
)

// Search serves Searcher from the per-level search indexes.
type Search struct{ x *search.Index }

var _ Searcher = Search{}

// NewSearch returns the API's view of the search indexes.
func NewSearch(x *search.Index) Search { return Search{x} }

// IndexCheck is the readiness check of the search indexes: they must have
// been reconciled with the store since they were opened.
func IndexCheck(x *search.Index) Check {
	return Check{Name: "index", Check: func(context.Context) error {
		if !x.Ready() {
			return search.ErrNotReady
		}
		return nil
	}}
}

// Search implements Searcher. Highlights are the title and summary with
// the matching words in <mark>, the rest HTML-escaped.
func (s Search) Search(ctx context.Context, subject access.Subject, r SearchRequest) (SearchResult, error) {
	sort, err := search.ParseSort(r.Sort)
	if err != nil {
		return SearchResult{}, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	}
	res, err := s.x.Search(ctx, subject, search.Request{
		Query: r.Query, Levels: r.Levels, Types: r.Types, From: r.From, To: r.To,
		Sort: sort, Offset: (r.Page - 1) * r.Size, Limit: r.Size, Facets: true,
	})
	var qe *search.QueryError
	switch {
	case errors.As(err, &qe):
		return SearchResult{}, fmt.Errorf("%w: %w", ErrInvalidQuery, err)
	case errors.Is(err, search.ErrForbidden):
		return SearchResult{}, fmt.Errorf("%w: %w", ErrForbidden, err)
	case errors.Is(err, search.ErrNotReady), errors.Is(err, search.ErrClosed):
		return SearchResult{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case err != nil:
		return SearchResult{}, err
	}
	out := SearchResult{Total: res.Total, Hits: make([]SearchHit, 0, len(res.Hits)), Facets: map[string][]FacetCount{}}
	for _, h := range res.Hits {
		hit := SearchHit{ID: h.ID, Title: h.Title, Level: h.Level, Type: h.Type, IssuedAt: h.DateIssued, Score: h.Score}
		for _, f := range h.Fragments {
			if hit.Highlights == nil {
				hit.Highlights = map[string][]string{}
			}
			hit.Highlights[f.Field] = append(hit.Highlights[f.Field], markFragment(f))
		}
		out.Hits = append(out.Hits, hit)
	}
	if f := res.Facets; f != nil {
		for name, counts := range map[string][]search.FacetCount{"level": f.Levels, "doc_type": f.Types, "issuer": f.Issuers, "year": f.Years} {
			list := make([]FacetCount, len(counts))
			for i, c := range counts {
				list[i] = FacetCount{Value: c.Value, Count: c.Count}
			}
			out.Facets[name] = list
		}
	}
	return out, nil
}

// markFragment escapes a fragment and wraps its matches in <mark>.
func markFragment(f search.Fragment) string {
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
