package web

import (
	"context"

	"khomat/api/internal/front"
	"khomat/archive/access"
	"khomat/archive/identity"
	"khomat/search"
)

// Identity serves Sessions and Users from the account directory
// (archive/identity), which authorizes and audits every change itself. It
// is the JSON API's adapter too.
type Identity = front.Identity

// NewIdentity returns the pages' view of the account directory.
func NewIdentity(s *identity.Service) Identity { return front.NewIdentity(s) }

// Index serves Searcher from the search package's per-level indexes.
type Index struct{ x *search.Index }

var _ Searcher = Index{}

// NewIndex returns the pages' view of the search indexes.
func NewIndex(x *search.Index) Index { return Index{x} }

// Search implements Searcher: the page's request in the search package's
// terms, and its fragments as text with the matched words between <mark>
// and </mark>.
func (i Index) Search(ctx context.Context, s access.Subject, r SearchRequest) (SearchResult, error) {
	sort := search.SortAuto
	switch r.Sort {
	case "relevance":
		sort = search.SortRelevance
	case "-date":
		sort = search.SortNewest
	case "date":
		sort = search.SortOldest
	}
	size := r.Size
	if size <= 0 {
		size = pageSize
	}
	res, err := i.x.Search(ctx, s, search.Request{
		Query: r.Query, Levels: r.Levels, Types: r.Types, Issuers: r.IssuingBodies, From: r.From, To: r.To,
		Sort: sort, Offset: (max(r.Page, 1) - 1) * size, Limit: size, Facets: true,
	})
	if err != nil {
		return SearchResult{}, front.SearchError(err)
	}
	out := SearchResult{Total: res.Total, Facets: map[string][]FacetCount{}}
	for _, h := range res.Hits {
		hit := SearchHit{ID: h.ID, Title: h.Title, Level: h.Level, Type: h.Type, NumberSymbol: h.NumberSymbol,
			IssuingBody: h.IssuingBody, IssuedAt: h.DateIssued, Score: h.Score,
			Highlights: front.Highlights(h.Fragments)}
		out.Hits = append(out.Hits, hit)
	}
	if f := res.Facets; f != nil {
		for key, counts := range map[string][]search.FacetCount{"level": f.Levels, "doc_type": f.Types, "issuing_body": f.Issuers} {
			for _, c := range counts {
				out.Facets[key] = append(out.Facets[key], FacetCount{Value: c.Value, Count: c.Count})
			}
		}
	}
	return out, nil
}
