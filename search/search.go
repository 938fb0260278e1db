package search

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"khomat/archive"
	"khomat/archive/access"
)

// Sort is the order of search results.
type Sort uint8

// The sort orders.
const (
	// SortAuto ranks by relevance when the query has words, and shows the
	// newest first otherwise.
	SortAuto Sort = iota
	// SortRelevance ranks by relevance: exact forms above folded ones,
	// title matches above body matches; ties newest first.
	SortRelevance
	// SortNewest orders by date issued, newest first.
	SortNewest
	// SortOldest orders by date issued, oldest first.
	SortOldest
)

// ParseSort reads a sort order from its API name: "", "auto", "relevance",
// "newest" (or "date"), "oldest".
func ParseSort(s string) (Sort, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return SortAuto, nil
	case "relevance":
		return SortRelevance, nil
	case "newest", "date":
		return SortNewest, nil
	case "oldest":
		return SortOldest, nil
	}
	return 0, &QueryError{Pos: -1, Message: fmt.Sprintf("unknown sort %q", truncate(s)), MessageVI: fmt.Sprintf("không có cách sắp xếp %q", truncate(s))}
}

// Limits of a request.
const (
	// DefaultLimit is the page size when Request.Limit is 0.
	DefaultLimit = 20
	// MaxLimit is the largest page.
	MaxLimit = 100
	// MaxWindow bounds Offset+Limit: deep pages cost the server more
	// than a cadre gains from them.
	MaxWindow = 10000
	// maxIssuerFacets is how many issuers the facet lists.
	maxIssuerFacets = 20
	// tieMargin is how many matches past the page a relevance search
	// fetches to settle ties itself.
	tieMargin = 32
)

// Request is a search. The filters combine with each other and with the
// query's own: all must hold; several values of one filter mean any of
// them.
type Request struct {
	// Query is the text typed, in Khomat's syntax (see ParseQuery).
	Query string
	// Levels keeps only documents at these levels. It narrows what the
	// subject may read and can never widen it.
	Levels []access.Level
	// Types keeps only documents of these types.
	Types []archive.DocType
	// Issuers keeps only documents of these issuing bodies, as written
	// (the values of the issuer facet).
	Issuers []string
	// From and To keep documents issued in this range, inclusive; a zero
	// Date is no bound.
	From, To archive.Date
	// Sort is the order of the results.
	Sort Sort
	// Offset and Limit select the page; Limit 0 means DefaultLimit.
	Offset, Limit int
	// Facets asks for the counts by level, type, issuer and year.
	Facets bool
}

// Result is one page of results.
type Result struct {
	// Total is how many documents match, on all pages.
	Total int
	// Hits are this page's documents.
	Hits []Hit
	// Facets are the counts over all matching documents, when asked for.
	Facets *Facets
}

// Hit is a document in a result list: the fields a list shows, and nothing
// the subject may not read.
type Hit struct {
	ID           archive.ID
	Title        string
	Level        access.Level
	Type         archive.DocType
	IssuingBody  string
	NumberSymbol string
	DateIssued   archive.Date
	Urgency      access.Urgency
	// Score is the relevance score (0 when sorted by date).
	Score float64
	// Text says whether the content's words are in the index.
	Text TextState
	// Fragments are the title and summary with the words that matched
	// marked; only fields with a match are listed.
	Fragments []Fragment
}

// Fragment is a piece of a stored field with the matching words marked.
// The text is plain; whoever renders it escapes it and wraps the spans.
type Fragment struct {
	Field string // "title" or "summary"
	Text  string
	// Marks are the byte ranges of Text that matched, in order, not
	// overlapping.
	Marks []Span
}

// Span is a byte range [Start, End).
type Span struct{ Start, End int }

// Facets are the counts of matching documents by value.
type Facets struct {
	Levels  []FacetCount // by level code ("secret")
	Types   []FacetCount // by document type code ("resolution")
	Issuers []FacetCount // by issuing body as written; the most frequent
	Years   []FacetCount // by year issued ("2024")
}

// FacetCount is how many matching documents have a value.
type FacetCount struct {
	Value string
	Count int
}

// Search runs req for subject over the indexes of the levels at or below
// the subject's clearance, with the subject's compartment and
// named-recipient filters added to whatever the request asks. Every hit,
// count, facet and fragment comes from documents access.Decide lets the
// subject view; the rest do not exist for them.
func (x *Index) Search(ctx context.Context, subject access.Subject, req Request) (*Result, error) {
	if d := access.Decide(subject, access.List, access.Resource{}); !d.Allow {
		return nil, fmt.Errorf("%w (%s)", ErrForbidden, d.Reason)
	}
	q, err := ParseQuery(req.Query)
	if err != nil {
		return nil, err
	}
	limit := req.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return nil, &QueryError{Pos: -1, Message: fmt.Sprintf("limit must be 1 to %d", MaxLimit), MessageVI: fmt.Sprintf("số kết quả mỗi trang phải từ 1 đến %d", MaxLimit)}
	}
	if req.Offset < 0 || req.Offset+limit > MaxWindow {
		return nil, &QueryError{Pos: -1, Message: fmt.Sprintf("results past the first %d cannot be paged to; narrow the search", MaxWindow), MessageVI: fmt.Sprintf("chỉ xem được %d kết quả đầu; hãy thu hẹp tìm kiếm", MaxWindow)}
	}
	if req.Sort > SortOldest {
		return nil, &QueryError{Pos: -1, Message: "unknown sort", MessageVI: "không có cách sắp xếp này"}
	}
	sort := req.Sort
	if sort == SortAuto {
		sort = SortNewest
		if q.hasText() {
			sort = SortRelevance
		}
	}
	scored := sort == SortRelevance

	x.mu.RLock()
	defer x.mu.RUnlock()
	switch {
	case x.closed:
		return nil, ErrClosed
	case !x.ready:
		return nil, ErrNotReady
	}
	quarantine := make([]string, 0, len(x.quarantine))
	for id := range x.quarantine {
		quarantine = append(quarantine, id.String())
	}
	slices.Sort(quarantine)
	// The alias is built for this query from the levels the subject is
	// cleared for; the others are never searched, so neither their
	// entries nor their term statistics can reach the result.
	var idxs []bleve.Index
	for l := access.Unclassified; l <= subject.Clearance; l++ {
		idxs = append(idxs, x.levels[l].idx)
	}
	alias := bleve.NewIndexAlias(idxs...)

	user, marks := buildQuery(q, req, scored)
	// The access filter is a must-not beside the user's query, not inside
	// it: nothing the user types can reach or cancel it.
	full := query.NewBooleanQuery([]query.Query{user}, nil, []query.Query{&aclQuery{subject: subject, quarantine: quarantine}})

	run := func(sr *bleve.SearchRequest) (*bleve.SearchResult, error) {
		res, err := alias.SearchInContext(ctx, sr)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if len(res.Status.Errors) > 0 {
			var errs []error
			for _, e := range res.Status.Errors {
				errs = append(errs, e)
			}
			return nil, fmt.Errorf("search: %w", errors.Join(errs...))
		}
		return res, nil
	}
	// Facets are counted as the matches go by (facets.go), not from
	// Bleve's doc values.
	var counter *facetCounter
	counted := query.Query(full)
	if req.Facets {
		counter = x.facets.newCounter()
		counted = &countedQuery{inner: full, counter: counter}
	}
	request := func(q query.Query, size, from int, order ...string) *bleve.SearchRequest {
		sr := bleve.NewSearchRequestOptions(q, size, from, false)
		sr.Fields = []string{fieldTitle, fieldSummary, fieldLevel, fieldType, fieldIssuer, fieldNumber, fieldDate, fieldUrgency, fieldText, fieldACL}
		sr.SortByCustom(sortOrder(order))
		if !scored {
			sr.Score = "none"
		}
		return sr
	}
	var res *bleve.SearchResult
	hits := []*bsearch.DocumentMatch(nil)
	switch sort {
	case SortRelevance:
		// By score alone Bleve reads no per-document value while it
		// collects, which is most of the cost of a query with many
		// matches. Fetch a margin past the page, and break ties here.
		k := req.Offset + limit
		if res, err = run(request(counted, k+tieMargin, 0, "-_score")); err != nil {
			return nil, err
		}
		hits = res.Hits
		if len(hits) == k+tieMargin && hits[k-1].Score == hits[len(hits)-1].Score {
			// A tie runs past the margin: let Bleve sort with the
			// tie-breaker, which costs a doc value per match.
			res2, err := run(request(full, limit, req.Offset, "-_score", "-"+fieldOrder))
			if err != nil {
				return nil, err
			}
			hits = res2.Hits
		} else {
			slices.SortStableFunc(hits, func(a, b *bsearch.DocumentMatch) int {
				if c := cmp.Compare(b.Score, a.Score); c != 0 {
					return c
				}
				return cmp.Compare(hitOrder(b), hitOrder(a))
			})
			hits = hits[min(req.Offset, len(hits)):min(k, len(hits))]
		}
	case SortNewest:
		if res, err = run(request(counted, limit, req.Offset, "-"+fieldOrder)); err != nil {
			return nil, err
		}
		hits = res.Hits
	case SortOldest:
		if res, err = run(request(counted, limit, req.Offset, fieldOrder)); err != nil {
			return nil, err
		}
		hits = res.Hits
	}

	out := &Result{Total: int(res.Total), Hits: make([]Hit, 0, len(res.Hits))}
	for _, h := range hits {
		hit, res, err := makeHit(h, marks)
		if err != nil {
			return nil, err
		}
		// Defence in depth: the filters above decide what matches, and
		// access.Decide must agree on every hit shown. A disagreement is a
		// bug; refuse the whole answer rather than show it.
		if d := access.Decide(subject, access.ViewMetadata, res); !d.Allow {
			x.log.Error("search: a hit failed the access check; answer refused", "doc_id", hit.ID.String(), "user", subject.ID, "reason", string(d.Reason))
			return nil, fmt.Errorf("search: internal error: result failed the access check")
		}
		if !scored {
			hit.Score = 0
		}
		out.Hits = append(out.Hits, hit)
	}
	if counter != nil {
		counts, err := counter.result()
		if err != nil {
			return nil, err
		}
		out.Facets = makeFacets(counts)
	}
	return out, nil
}

// sortOrder turns sort keys ("-_score", "order", "-order") into Bleve's
// sort order; the order field sorts as text (see orderTerm).
func sortOrder(keys []string) bsearch.SortOrder {
	var out bsearch.SortOrder
	for _, k := range keys {
		desc := strings.HasPrefix(k, "-")
		switch k = strings.TrimPrefix(k, "-"); k {
		case "_score":
			out = append(out, &bsearch.SortScore{Desc: desc})
		default:
			out = append(out, &bsearch.SortField{Field: k, Desc: desc, Type: bsearch.SortFieldAsString})
		}
	}
	return out
}

// makeHit reads a hit's stored fields, and the access facts stored beside
// them for the final check.
func makeHit(h *bsearch.DocumentMatch, marks highlighter) (Hit, access.Resource, error) {
	id, err := archive.ParseID(h.ID)
	if err != nil {
		return Hit{}, access.Resource{}, fmt.Errorf("search: an entry with a malformed id: %w", err)
	}
	f := h.Fields
	level, err := access.ParseLevel(fieldString(f, fieldLevel))
	if err != nil {
		return Hit{}, access.Resource{}, fmt.Errorf("search: entry %s: %w", id, err)
	}
	urgency, _ := access.ParseUrgency(fieldString(f, fieldUrgency))
	date, _ := f[fieldDate].(float64)
	hit := Hit{
		ID:           id,
		Title:        fieldString(f, fieldTitle),
		Level:        level,
		Type:         archive.DocType(fieldString(f, fieldType)),
		IssuingBody:  fieldString(f, fieldIssuer),
		NumberSymbol: fieldString(f, fieldNumber),
		DateIssued:   numberDate(date),
		Urgency:      urgency,
		Score:        h.Score,
		Text:         decodeTextState(fieldString(f, fieldText)),
	}
	res := access.Resource{Level: level}
	for _, v := range fieldStrings(f, fieldACL) {
		switch {
		case strings.HasPrefix(v, aclCompartment):
			res.Compartments = append(res.Compartments, v[len(aclCompartment):])
		case strings.HasPrefix(v, aclRecipient):
			res.NamedRecipients = append(res.NamedRecipients, v[len(aclRecipient):])
		}
	}
	if fieldStrings(f, fieldACL) != nil && slices.Contains(fieldStrings(f, fieldACL), aclNamed) && len(res.NamedRecipients) == 0 {
		// marked for named recipients but none listed: nobody may open it
		res.NamedRecipients = []string{""}
	}
	if fr, ok := marks.fragment(fieldTitle, hit.Title, false); ok {
		hit.Fragments = append(hit.Fragments, fr)
	}
	if fr, ok := marks.fragment(fieldSummary, fieldString(f, fieldSummary), true); ok {
		hit.Fragments = append(hit.Fragments, fr)
	}
	return hit, res, nil
}

// fieldStrings returns a stored multi-valued field.
func fieldStrings(fields map[string]any, name string) []string {
	switch v := fields[name].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// hitOrder is the tie-breaker of a hit: the same key as the order field,
// from its stored date and id.
func hitOrder(h *bsearch.DocumentMatch) float64 {
	id, _ := archive.ParseID(h.ID)
	date, _ := h.Fields[fieldDate].(float64)
	return orderKey(numberDate(date), id)
}

// makeFacets splits the facet field's counts into Khomat's facets, each
// sorted by count then value, so that the order never depends on how the
// counts were merged.
func makeFacets(counts map[string]int) *Facets {
	f := &Facets{Levels: []FacetCount{}, Types: []FacetCount{}, Issuers: []FacetCount{}, Years: []FacetCount{}}
	for term, n := range counts {
		if n <= 0 {
			continue
		}
		for _, p := range []struct {
			prefix string
			list   *[]FacetCount
		}{{facetLevel, &f.Levels}, {facetType, &f.Types}, {facetIssuer, &f.Issuers}, {facetYear, &f.Years}} {
			if v, ok := strings.CutPrefix(term, p.prefix); ok {
				*p.list = append(*p.list, FacetCount{Value: v, Count: n})
				break
			}
		}
	}
	byCount := func(a, b FacetCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	}
	for _, l := range []*[]FacetCount{&f.Levels, &f.Types, &f.Issuers} {
		slices.SortFunc(*l, byCount)
	}
	if len(f.Issuers) > maxIssuerFacets {
		f.Issuers = f.Issuers[:maxIssuerFacets]
	}
	// Years read best in order, newest first.
	slices.SortFunc(f.Years, func(a, b FacetCount) int { return strings.Compare(b.Value, a.Value) })
	return f
}

// Boosts of the optional clauses that order the results.
const (
	// boostExact is the constant an exact form (as typed, with its marks)
	// adds per word or phrase: more than the folded scores of a whole
	// query usually reach, so exact forms come first.
	boostExact = 8
	// boostTitle weighs a match in the title.
	boostTitle = 2
	// boostAdjacent weighs two words typed one after the other that also
	// stand side by side in the document: "duong loi" ranks "đường lối"
	// above a text with "đường" in one place and "lối" in another.
	boostAdjacent = 3
)

// buildQuery turns a parsed query and the request's filters into a Bleve
// query. marks collects the words to highlight.
func buildQuery(q Query, req Request, scored bool) (query.Query, highlighter) {
	var must, should, mustNot, filters []query.Query
	var marks highlighter

	foldedTerms := func(ts []term) []string {
		out := make([]string, len(ts))
		for i, t := range ts {
			out[i] = t.folded
		}
		return out
	}
	// text returns the required query for a word or phrase clause on
	// field, and adds its ranking clauses.
	text := func(c clause, field string) query.Query {
		ts := c.terms
		if len(ts) == 1 {
			t := ts[0]
			if scored {
				if t.exact != t.folded {
					should = append(should, &termQuery{field: field, term: t.exact, boost: boostExact, constant: true})
				}
				if field == fieldContent {
					should = append(should, &termQuery{field: fieldTitle, term: t.folded, boost: boostTitle})
				}
			}
			return &termQuery{field: field, term: t.folded, boost: 1}
		}
		folded := foldedTerms(ts)
		if scored {
			for _, t := range ts {
				if t.exact != t.folded {
					should = append(should, &termQuery{field: field, term: t.exact, boost: boostExact, constant: true})
				}
			}
			if field == fieldContent {
				should = append(should, pairsQuery(fieldTitle, folded, boostTitle))
			}
		}
		return pairsQuery(field, folded, 1)
	}
	phrase := func(field string, ts []term) query.Query {
		return pairsQuery(field, foldedTerms(ts), 1)
	}

	// Filters: values of one field are alternatives.
	groups := map[filterField][]query.Query{}
	var order []filterField
	var prevWord *clause // the previous clause, when a positive word of the content
	for i, c := range q.clauses {
		field := fieldContent
		if c.field == ffTitle {
			field = fieldTitle
		}
		adjacent := prevWord
		prevWord = nil
		switch c.kind {
		case kindWord, kindPhrase:
			if c.not {
				mustNot = append(mustNot, phrase(field, c.terms))
				continue
			}
			must = append(must, text(c, field))
			marks.add(c.terms, false)
			if c.kind == kindWord && field == fieldContent {
				if adjacent != nil && scored {
					a := adjacent.terms[len(adjacent.terms)-1].folded
					should = append(should, &termQuery{field: fieldContent, term: pairTerm(a, c.terms[0].folded), boost: boostAdjacent})
				}
				prevWord = &q.clauses[i]
			}
		case kindPrefix:
			pq := &prefixQuery{field: field, prefix: c.terms[0].folded, boost: 1}
			if c.not {
				mustNot = append(mustNot, pq)
				continue
			}
			must = append(must, pq)
			marks.add(c.terms, true)
		case kindFilter:
			fq := filterQuery(c)
			if c.not {
				mustNot = append(mustNot, fq)
				continue
			}
			if _, ok := groups[c.field]; !ok {
				order = append(order, c.field)
			}
			groups[c.field] = append(groups[c.field], fq)
		}
	}
	for _, f := range order {
		filters = append(filters, anyOf(groups[f]))
	}

	// The request's own filters.
	if len(req.Levels) > 0 {
		var qs []query.Query
		for _, l := range req.Levels {
			qs = append(qs, keywordQuery(fieldLevel, l.String()))
		}
		filters = append(filters, anyOf(qs))
	}
	if len(req.Types) > 0 {
		var qs []query.Query
		for _, t := range req.Types {
			qs = append(qs, keywordQuery(fieldType, string(t)))
		}
		filters = append(filters, anyOf(qs))
	}
	if len(req.Issuers) > 0 {
		var qs []query.Query
		for _, s := range req.Issuers {
			qs = append(qs, keywordQuery(fieldIssuer, s))
		}
		filters = append(filters, anyOf(qs))
	}
	if !req.From.IsZero() || !req.To.IsZero() {
		filters = append(filters, dateRange(req.From, req.To))
	}

	bq := query.NewBooleanQuery(must, should, mustNot)
	if len(must) == 0 && len(should) == 0 {
		// Filters or exclusions only: every document, then narrowed.
		bq.AddMust(query.NewMatchAllQuery())
	}
	if len(filters) > 0 {
		bq.AddFilter(query.NewConjunctionQuery(filters))
	}
	return bq, marks
}

// filterQuery is the query of one filter clause.
func filterQuery(c clause) query.Query {
	switch c.field {
	case ffLevel:
		return keywordQuery(fieldLevel, c.level.String())
	case ffType:
		return keywordQuery(fieldType, string(c.docType))
	case ffUrgency:
		return keywordQuery(fieldUrgency, c.urgency.String())
	case ffYear:
		return dateRange(archive.Date{Year: c.year, Month: 1, Day: 1}, archive.Date{Year: c.year, Month: 12, Day: 31})
	case ffFrom:
		return dateRange(c.date, archive.Date{})
	case ffTo:
		return dateRange(archive.Date{}, c.date)
	case ffIssuer:
		return foldedPhrase(fieldIssuerText, c.terms)
	case ffNumber:
		return foldedPhrase(fieldNumberText, c.terms)
	case ffKeyword:
		return foldedPhrase(fieldKeywords, c.terms)
	}
	return query.NewMatchNoneQuery()
}

func keywordQuery(field, value string) query.Query {
	q := query.NewTermQuery(value)
	q.SetField(field)
	return q
}

func foldedPhrase(field string, ts []term) query.Query {
	words := make([]string, len(ts))
	for i, t := range ts {
		words[i] = t.folded
	}
	return pairsQuery(field, words, 1)
}

// dateRange matches dates issued in [from, to]; a zero bound is open.
// Documents without a date (0) never match a bounded range.
func dateRange(from, to archive.Date) query.Query {
	lo, hi := 1.0, 99991231.0
	if !from.IsZero() {
		lo = dateNumber(from)
	}
	if !to.IsZero() {
		hi = dateNumber(to)
	}
	t := true
	q := query.NewNumericRangeInclusiveQuery(&lo, &hi, &t, &t)
	q.SetField(fieldDate)
	return q
}

func anyOf(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}

// truncate shortens untrusted input quoted in an error.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
