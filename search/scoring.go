package search

import (
	"context"
	"math"
	"slices"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
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
// boost × √(occurrences), an exact-form or prefix clause a constant. No
// document count, no document frequency, no average length.
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

// phraseQuery matches terms at consecutive positions of one field.
type phraseQuery struct {
	field    string
	terms    []string
	boost    float64
	constant bool
}

// Searcher implements query.Query.
func (q *phraseQuery) Searcher(ctx context.Context, i index.IndexReader, _ mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	ps, err := searcher.NewPhraseSearcher(ctx, i, q.terms, 0, false, q.field, 1, opts)
	if err != nil {
		return nil, err
	}
	if opts.Score == "none" {
		return ps, nil
	}
	return &rescored{inner: ps, perMatch: len(q.terms), boost: q.boost, constant: q.constant}, nil
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
		// Only folded forms: the exact forms at the same positions would
		// match the same documents again.
		if _, folded := forms([]byte(e.Term)); folded == nil {
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
	return &rescored{inner: inner, boost: q.boost, constant: true}, nil
}

// rescored replaces the scores of a Bleve searcher with Khomat's.
type rescored struct {
	inner    search.Searcher
	perMatch int // terms per phrase occurrence in FieldTermLocations
	boost    float64
	constant bool
}

func (s *rescored) score(d *search.DocumentMatch) {
	if d == nil {
		return
	}
	if s.constant {
		d.Score = s.boost
	} else {
		n := 1
		if s.perMatch > 0 {
			n = max(1, len(d.FieldTermLocations)/s.perMatch)
		}
		d.Score = quantize(s.boost * math.Sqrt(float64(n)))
	}
	d.FieldTermLocations = d.FieldTermLocations[:0]
	d.Expl = nil
}

func (s *rescored) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	d, err := s.inner.Next(ctx)
	s.score(d)
	return d, err
}

func (s *rescored) Advance(ctx *search.SearchContext, id index.IndexInternalID) (*search.DocumentMatch, error) {
	d, err := s.inner.Advance(ctx, id)
	s.score(d)
	return d, err
}

func (s *rescored) Close() error               { return s.inner.Close() }
func (s *rescored) Weight() float64            { return 1 }
func (s *rescored) SetQueryNorm(float64)       {}
func (s *rescored) Count() uint64              { return s.inner.Count() }
func (s *rescored) Min() int                   { return s.inner.Min() }
func (s *rescored) Size() int                  { return 64 + s.inner.Size() }
func (s *rescored) DocumentMatchPoolSize() int { return s.inner.DocumentMatchPoolSize() }

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
