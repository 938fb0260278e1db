package search

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Facet counts without doc values.
//
// Bleve's terms facet reads and decompresses the doc values of every
// matching document and counts their terms in a map of strings: at 100,000
// documents that was a third of a word query's time. Khomat counts instead
// from a compact array per index segment, built once from the postings of
// the facet field and kept while the segment lives: each document's four
// facet values as small numbers. The query is wrapped in a searcher that
// counts every match it hands to Bleve's collector, so the counts are those
// of exactly the documents counted in the total, and hidden documents,
// which never match, add nothing.

// facetCache holds the facet arrays of the segments searched recently,
// and the numbers given to facet values.
type facetCache struct {
	mu    sync.Mutex
	codes map[string]uint32 // facet value → number, from 1
	terms []string          // number → facet value; terms[0] is unused
	segs  map[segment.Segment]*segFacets
	gen   uint64 // facet searches so far, for pruning
}

// segFacets are the facet values of the documents of one segment: four
// numbers per document (0: none), in the order level, type, issuer, year.
type segFacets struct {
	vals []uint32
	used uint64 // gen of the last search that used it
}

// facetKeep is how many facet searches a segment's array survives unused:
// a segment merged away is then forgotten.
const facetKeep = 32

func newFacetCache() *facetCache {
	return &facetCache{codes: map[string]uint32{}, terms: []string{""}, segs: map[segment.Segment]*segFacets{}}
}

// facetSlot is the position of a facet value's kind among a document's
// four numbers, or -1 for an unknown value.
func facetSlot(term string) int {
	if len(term) < 2 {
		return -1
	}
	switch term[:2] {
	case facetLevel:
		return 0
	case facetType:
		return 1
	case facetIssuer:
		return 2
	case facetYear:
		return 3
	}
	return -1
}

// arrays returns the facet arrays of the segments of snapshot, building
// those it lacks.
func (c *facetCache) arrays(snapshot *scorch.IndexSnapshot, gen uint64) ([]*segFacets, error) {
	segs := snapshot.Segments()
	out := make([]*segFacets, len(segs))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, ss := range segs {
		seg := ss.Segment()
		f := c.segs[seg]
		if f == nil {
			var err error
			if f, err = c.build(seg); err != nil {
				return nil, err
			}
			c.segs[seg] = f
		}
		f.used = max(f.used, gen)
		out[i] = f
	}
	for seg, f := range c.segs {
		if f.used < gen && gen-f.used > facetKeep {
			delete(c.segs, seg)
		}
	}
	return out, nil
}

// build reads the facet field's postings of seg into an array. Called
// with c.mu held.
func (c *facetCache) build(seg segment.Segment) (*segFacets, error) {
	f := &segFacets{vals: make([]uint32, 4*seg.Count())}
	dict, err := seg.Dictionary(fieldFacet)
	if err != nil {
		return nil, err
	}
	it := dict.AutomatonIterator(nil, nil, nil)
	if it == nil {
		return f, nil
	}
	var pl segment.PostingsList
	var pi segment.PostingsIterator
	for {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			return f, nil
		}
		slot := facetSlot(e.Term)
		if slot < 0 {
			continue
		}
		code, ok := c.codes[e.Term]
		if !ok {
			code = uint32(len(c.terms))
			c.codes[e.Term] = code
			c.terms = append(c.terms, e.Term)
		}
		if pl, err = dict.PostingsList([]byte(e.Term), nil, pl); err != nil {
			return nil, err
		}
		pi = pl.Iterator(false, false, false, pi)
		for {
			p, err := pi.Next()
			if err != nil {
				return nil, err
			}
			if p == nil {
				break
			}
			if n := p.Number(); n < seg.Count() {
				f.vals[4*n+uint64(slot)] = code
			}
		}
	}
}

// facetCounter gathers the counts of one search over all its indexes.
type facetCounter struct {
	cache *facetCache
	gen   uint64

	mu     sync.Mutex
	counts map[string]int
	err    error
}

func (c *facetCache) newCounter() *facetCounter {
	c.mu.Lock()
	c.gen++
	gen := c.gen
	c.mu.Unlock()
	return &facetCounter{cache: c, gen: gen, counts: map[string]int{}}
}

// result returns the counts by facet value, or the error met while
// counting.
func (fc *facetCounter) result() (map[string]int, error) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.counts, fc.err
}

// countedQuery wraps a query so that every document it matches is counted
// by facet value.
type countedQuery struct {
	inner   query.Query
	counter *facetCounter
}

// Searcher implements query.Query.
func (q *countedQuery) Searcher(ctx context.Context, i index.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	snap, ok := i.(*scorch.IndexSnapshot)
	if !ok {
		return nil, fmt.Errorf("search: facets need a scorch index, not %T", i)
	}
	arrays, err := q.counter.cache.arrays(snap, q.counter.gen)
	if err != nil {
		return nil, fmt.Errorf("search: facets: %w", err)
	}
	inner, err := q.inner.Searcher(ctx, i, m, opts)
	if err != nil {
		return nil, err
	}
	offsets := make([]uint64, len(arrays))
	var running uint64
	for k, ss := range snap.Segments() {
		offsets[k] = running
		running += ss.Segment().Count()
	}
	q.counter.cache.mu.Lock()
	n := len(q.counter.cache.terms)
	q.counter.cache.mu.Unlock()
	return &countingSearcher{Searcher: inner, counter: q.counter, arrays: arrays, offsets: offsets, counts: make([]int, n)}, nil
}

// countingSearcher counts the facet values of the matches of the searcher
// it wraps, and adds them to its counter when closed.
type countingSearcher struct {
	search.Searcher
	counter *facetCounter
	arrays  []*segFacets
	offsets []uint64
	counts  []int // by facet value number
	last    int   // the segment of the previous match
	err     error
}

func (s *countingSearcher) count(d *search.DocumentMatch) {
	if d == nil || s.err != nil {
		return
	}
	n := d.IndexInternalID.Value()
	k := s.last
	if k >= len(s.offsets) || n < s.offsets[k] || (k+1 < len(s.offsets) && n >= s.offsets[k+1]) {
		k = sort.Search(len(s.offsets), func(x int) bool { return s.offsets[x] > n }) - 1
		s.last = k
	}
	if k < 0 {
		s.err = fmt.Errorf("search: facets: document number %d outside the snapshot", n)
		return
	}
	local := n - s.offsets[k]
	vals := s.arrays[k].vals
	if 4*local+3 >= uint64(len(vals)) {
		s.err = fmt.Errorf("search: facets: document number %d outside its segment", n)
		return
	}
	for _, v := range vals[4*local : 4*local+4] {
		if v != 0 && int(v) < len(s.counts) {
			s.counts[v]++
		}
	}
}

func (s *countingSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	d, err := s.Searcher.Next(ctx)
	s.count(d)
	return d, err
}

func (s *countingSearcher) Advance(ctx *search.SearchContext, id index.IndexInternalID) (*search.DocumentMatch, error) {
	d, err := s.Searcher.Advance(ctx, id)
	s.count(d)
	return d, err
}

func (s *countingSearcher) Close() error {
	err := s.Searcher.Close()
	c := s.counter
	c.cache.mu.Lock()
	terms := c.cache.terms
	c.cache.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.err != nil && c.err == nil {
		c.err = s.err
	}
	for v, n := range s.counts {
		if n > 0 {
			c.counts[terms[v]] += n
		}
	}
	s.counts = nil
	return err
}
