package search

import (
	"context"
	"math"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	index "github.com/blevesearch/bleve_index_api"

	"khomat/archive/access"
)

// Scoring that hidden documents cannot move.
//
// Bleve's TF-IDF weighs a term by how many documents of the index hold it.
// Per-level indexes keep higher levels out of those counts, but documents
// of the same level that the subject may not read (other compartments,
// named recipients) would still shift the weights, and with them the order
// a subject sees. So Khomat scores from the document alone: a term scores
// boost × √tf × norm (the field-length norm of that document), a phrase
// the sum of its word pairs' scores, an exact-form or prefix clause a
// constant. No document count, no document frequency, no average length.
//
// Bleve adds the scores of a conjunction's parts in the order of their
// posting-list sizes, which hidden documents do change; floating-point
// addition is not associative, so every leaf score is rounded to a multiple
// of 2⁻²⁰, and sums of such numbers are exact in any order. Ties are broken
// by date and then id, never by Bleve's internal document order.

const scoreQuantum = 1 << 20

func quantize(x float64) float64 { return math.Round(x*scoreQuantum) / scoreQuantum }

// termQuery matches one term of one field.
type termQuery struct {
	field, term string
	boost       float64
	constant    bool // score boost, whatever the frequency
}

// Searcher implements query.Query.
func (q *termQuery) Searcher(ctx context.Context, i index.IndexReader, _ mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	if opts.Score == "none" {
		return searcher.NewTermSearcher(ctx, i, q.term, q.field, 1, opts)
	}
	r, err := i.TermFieldReader(ctx, []byte(q.term), q.field, !q.constant, !q.constant, false)
	if err != nil {
		return nil, err
	}
	return &termSearcher{reader: r, boost: q.boost, constant: q.constant}, nil
}

// termSearcher is Bleve's term searcher with Khomat's scoring.
type termSearcher struct {
	reader   index.TermFieldReader
	tfd      index.TermFieldDoc
	boost    float64
	constant bool
}

func (s *termSearcher) match(ctx *search.SearchContext, tfd *index.TermFieldDoc) *search.DocumentMatch {
	d := ctx.DocumentMatchPool.Get()
	d.IndexInternalID = index.NewIndexInternalIDFrom(d.IndexInternalID, tfd.ID)
	if s.constant {
		d.Score = s.boost
	} else {
		d.Score = quantize(s.boost * math.Sqrt(float64(tfd.Freq)) * tfd.Norm)
	}
	return d
}

func (s *termSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	tfd, err := s.reader.Next(s.tfd.Reset())
	if err != nil || tfd == nil {
		return nil, err
	}
	return s.match(ctx, tfd), nil
}

func (s *termSearcher) Advance(ctx *search.SearchContext, id index.IndexInternalID) (*search.DocumentMatch, error) {
	tfd, err := s.reader.Advance(id, s.tfd.Reset())
	if err != nil || tfd == nil {
		return nil, err
	}
	return s.match(ctx, tfd), nil
}

func (s *termSearcher) Close() error { return s.reader.Close() }

// Weight and SetQueryNorm: the query norm of a parent is ignored, as it
// is a function of the query only and would change nothing but scale.
func (s *termSearcher) Weight() float64      { return 1 }
func (s *termSearcher) SetQueryNorm(float64) {}

// Count is the posting-list size, which conjunctions use to choose the
// order they advance in (speed only; never the score).
func (s *termSearcher) Count() uint64              { return s.reader.Count() }
func (s *termSearcher) Min() int                   { return 0 }
func (s *termSearcher) Size() int                  { return 64 + s.reader.Size() }
func (s *termSearcher) DocumentMatchPoolSize() int { return 1 }

// Optimize lets scorch intersect postings for conjunctions, as it does for
// its own term searchers.
func (s *termSearcher) Optimize(kind string, octx index.OptimizableContext) (index.OptimizableContext, error) {
	if o, ok := s.reader.(index.Optimizable); ok {
		return o.Optimize(kind, octx)
	}
	return nil, nil
}

// pairsQuery matches a phrase of folded words on field: every adjacent
// pair of its words (see viAnalyzer), each scored as a term.
func pairsQuery(field string, words []string, boost float64) query.Query {
	if len(words) == 1 {
		return &termQuery{field: field, term: words[0], boost: boost}
	}
	qs := make([]query.Query, 0, len(words)-1)
	for i := 1; i < len(words); i++ {
		qs = append(qs, &termQuery{field: field, term: pairTerm(words[i-1], words[i]), boost: boost})
	}
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewConjunctionQuery(qs)
}

// prefixQuery matches the folded words of a field that start with prefix.
type prefixQuery struct {
	field, prefix string
	boost         float64
}

// Searcher implements query.Query. It expands the prefix over the field's
// dictionary, which holds the words of hidden documents too; so every
// match scores the same constant, the expansion is never cut short (a cut
// would depend on hidden words), and only its time depends on them.
func (q *prefixQuery) Searcher(ctx context.Context, i index.IndexReader, _ mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	dict, err := i.FieldDictPrefix(q.field, []byte(q.prefix))
	if err != nil {
		return nil, err
	}
	var terms []string
	for {
		e, err := dict.Next()
		if err != nil {
			dict.Close()
			return nil, err
		}
		if e == nil {
			break
		}
		// Only folded words: exact forms would match the same documents
		// again, and word pairs are not words.
		if _, folded := forms([]byte(e.Term)); folded == nil && !strings.HasPrefix(e.Term, pairPrefix) {
			terms = append(terms, e.Term)
		}
	}
	if err := dict.Close(); err != nil {
		return nil, err
	}
	if len(terms) == 0 {
		return searcher.NewMatchNoneSearcher(i)
	}
	inner, err := searcher.NewMultiTermSearcher(ctx, i, terms, q.field, 1, search.SearcherOptions{Score: "none"}, false)
	if err != nil {
		return nil, err
	}
	if opts.Score == "none" {
		return inner, nil
	}
	return &constScored{inner: inner, boost: q.boost}, nil
}

// constScored gives every match of a Bleve searcher the same score.
type constScored struct {
	inner search.Searcher
	boost float64
}

func (s *constScored) score(d *search.DocumentMatch) {
	if d != nil {
		d.Score = s.boost
		d.Expl = nil
	}
}

func (s *constScored) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	d, err := s.inner.Next(ctx)
	s.score(d)
	return d, err
}

func (s *constScored) Advance(ctx *search.SearchContext, id index.IndexInternalID) (*search.DocumentMatch, error) {
	d, err := s.inner.Advance(ctx, id)
	s.score(d)
	return d, err
}

func (s *constScored) Close() error               { return s.inner.Close() }
func (s *constScored) Weight() float64            { return 1 }
func (s *constScored) SetQueryNorm(float64)       {}
func (s *constScored) Count() uint64              { return s.inner.Count() }
func (s *constScored) Min() int                   { return s.inner.Min() }
func (s *constScored) Size() int                  { return 64 + s.inner.Size() }
func (s *constScored) DocumentMatchPoolSize() int { return s.inner.DocumentMatchPoolSize() }

// aclQuery matches the entries subject may not see although they are in an
// index at or below its clearance: a compartment it lacks, a named-recipient
// list without it, a level above its clearance (which an entry in the right
// index never has; defence in depth), or a quarantined document. Search
// puts it in a must-not clause that user input never reaches.
type aclQuery struct {
	subject    access.Subject
	quarantine []string
}

// Searcher implements query.Query. The compartments to exclude are read
// from the index's dictionary: every label present that the subject lacks.
func (q *aclQuery) Searcher(ctx context.Context, i index.IndexReader, _ mapping.IndexMapping, _ search.SearcherOptions) (search.Searcher, error) {
	opts := search.SearcherOptions{Score: "none"}
	var ss []search.Searcher
	fail := func(err error) (search.Searcher, error) {
		for _, s := range ss {
			s.Close()
		}
		return nil, err
	}
	add := func(s search.Searcher, err error) error {
		if err != nil {
			return err
		}
		ss = append(ss, s)
		return nil
	}

	dict, err := i.FieldDictPrefix(fieldACL, []byte(aclCompartment))
	if err != nil {
		return fail(err)
	}
	var lacked []string
	for {
		e, err := dict.Next()
		if err != nil {
			dict.Close()
			return fail(err)
		}
		if e == nil {
			break
		}
		if !slices.Contains(q.subject.Compartments, e.Term[len(aclCompartment):]) {
			lacked = append(lacked, e.Term)
		}
	}
	if err := dict.Close(); err != nil {
		return fail(err)
	}
	for _, t := range lacked {
		if err := add(searcher.NewTermSearcher(ctx, i, t, fieldACL, 1, opts)); err != nil {
			return fail(err)
		}
	}

	named, err := searcher.NewTermSearcher(ctx, i, aclNamed, fieldACL, 1, opts)
	if err != nil {
		return fail(err)
	}
	me, err := searcher.NewTermSearcher(ctx, i, aclRecipient+q.subject.ID, fieldACL, 1, opts)
	if err != nil {
		named.Close()
		return fail(err)
	}
	if err := add(searcher.NewBooleanSearcher(ctx, i, named, nil, me, opts)); err != nil {
		named.Close()
		me.Close()
		return fail(err)
	}

	for _, l := range access.Levels() {
		if l > q.subject.Clearance {
			if err := add(searcher.NewTermSearcher(ctx, i, l.String(), fieldLevel, 1, opts)); err != nil {
				return fail(err)
			}
		}
	}
	if len(q.quarantine) > 0 {
		if err := add(searcher.NewDocIDSearcher(ctx, i, q.quarantine, 1, opts)); err != nil {
			return fail(err)
		}
	}
	ds, err := searcher.NewDisjunctionSearcher(ctx, i, ss, 0, opts)
	if err != nil {
		return fail(err)
	}
	return ds, nil
}
