package api

import (
	"context"
	"fmt"

	"khomat/api/internal/front"
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
	if err != nil {
		return SearchResult{}, front.SearchError(err)
	}
	out := SearchResult{Total: res.Total, Hits: make([]SearchHit, 0, len(res.Hits)), Facets: map[string][]FacetCount{}}
	for _, h := range res.Hits {
		hit := SearchHit{ID: h.ID, Title: h.Title, Level: h.Level, Type: h.Type, IssuedAt: h.DateIssued, Score: h.Score,
			Highlights: front.Highlights(h.Fragments)}
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
