package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"khomat/archive"
	"khomat/archive/access"
)

// Corpus is the truth the index is rebuilt and repaired from: every
// committed document and its content. archive.Corpus implements it. It is a
// system path: it makes no access decision, and its documents never reach
// a user except through Search's filters.
type Corpus interface {
	// Documents yields the current revision of every document. An error
	// wrapping archive.ErrIntegrity concerns one document and the
	// iteration goes on; any other error means the listing is incomplete.
	Documents(ctx context.Context) iter.Seq2[archive.Document, error]
	// Open returns the plaintext of doc's version; the caller closes it.
	Open(ctx context.Context, doc archive.Document) (io.ReadCloser, error)
}

// Report says what a Repair or Rebuild did.
type Report struct {
	// Documents is how many documents the corpus yielded.
	Documents int
	// Indexed is how many entries were written: missing, stale, at the
	// wrong level, or retried for their text.
	Indexed int
	// Removed is how many entries were deleted because their document is
	// no longer in the store.
	Removed int
	// NotIndexed is how many of the documents written are indexed on
	// their metadata only (see TextState).
	NotIndexed int
	// Errors is how many documents could not be read from the corpus or
	// written to the index.
	Errors int
	// Duration is how long it took.
	Duration time.Duration
}

// session is a running Repair or Rebuild. Live writes during it mark the
// documents they touch, and the session leaves those alone: what it read
// from the corpus may be older than what the live write carried. A live
// write to a document whose batch is being written at that moment is
// replayed after the batch, which may have overwritten it.
type session struct {
	mu       sync.Mutex
	touched  map[archive.ID]struct{}
	inflight map[archive.ID]int
	replay   map[archive.ID]*entry // nil: a removal
	failed   map[archive.ID]struct{}
	// levels, for a Rebuild, are the new indexes, which live writes must
	// update too; nil for a Repair, which writes to the live indexes.
	levels *[levelCount]*level
}

func newSession(levels *[levelCount]*level) *session {
	return &session{
		touched: map[archive.ID]struct{}{}, inflight: map[archive.ID]int{},
		replay: map[archive.ID]*entry{}, failed: map[archive.ID]struct{}{}, levels: levels,
	}
}

// touch records a live write of id: e, or a removal when e is nil.
func (s *session) touch(id archive.ID, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touched[id] = struct{}{}
	if s.inflight[id] > 0 {
		s.replay[id] = e
	}
}

func (s *session) isTouched(id archive.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.touched[id]
	return ok
}

func (x *Index) startSession(s *session) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return ErrClosed
	}
	x.sessions[s] = struct{}{}
	return nil
}

func (x *Index) endSession(s *session) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.sessions, s)
}

// present describes a document's entries found by a scan.
type present struct {
	mask  uint8 // bit l: an entry in level l's index
	stamp stamp // of the entry at the highest level found
	retry bool  // its text should be extracted again
}

// Repair reconciles the index with the corpus: it adds documents missing
// from the index, rewrites entries that are stale (an older revision), at
// the wrong level or quarantined, extracts again the text of documents
// whose content could not be read or whose tool is now installed, and
// deletes entries of documents no longer in the store. Run it at start
// (it fills in-memory levels) before serving searches: Search answers only
// once a Repair or Rebuild has completed.
//
// Errors on single documents are counted in the report; the returned error
// says the corpus could not be listed, in which case nothing is deleted and
// the index does not become ready.
func (x *Index) Repair(ctx context.Context, c Corpus) (Report, error) {
	start := x.now()
	s := newSession(nil)
	if err := x.startSession(s); err != nil {
		return Report{}, err
	}
	defer x.endSession(s)

	x.mu.RLock()
	levels := x.levels
	quarantined := make(map[archive.ID]struct{}, len(x.quarantine))
	for id := range x.quarantine {
		quarantined[id] = struct{}{}
	}
	x.mu.RUnlock()

	found := map[archive.ID]present{}
	for _, lv := range levels {
		err := scanLevel(ctx, lv.idx, func(id archive.ID, st stamp, ts TextState) {
			p := found[id]
			p.mask |= 1 << lv.level
			p.stamp = st
			p.retry = p.retry || ts.retry(x.ext.PDFSupported())
			found[id] = p
		})
		if err != nil {
			return Report{}, fmt.Errorf("search: repair: scanning level %v: %w", lv.level, err)
		}
	}

	var rep Report
	seen := map[archive.ID]struct{}{}
	need := func(doc archive.Document) (uint8, bool) {
		seen[doc.ID] = struct{}{}
		p := found[doc.ID]
		_, q := quarantined[doc.ID]
		fresh := p.mask == 1<<doc.Level && p.stamp == (stamp{doc.Version, doc.Revision}) && !p.retry && !q
		return p.mask, !fresh
	}
	complete, err := x.bulk(ctx, c, s, need, &rep)
	if err != nil {
		return rep, err
	}

	if complete {
		var orphans []archive.ID
		for id := range found {
			if _, ok := seen[id]; !ok {
				orphans = append(orphans, id)
			}
		}
		for _, id := range orphans {
			if s.isTouched(id) {
				continue // written live since the repair began
			}
			if err := x.Remove(ctx, id); err != nil {
				rep.Errors++
				continue
			}
			rep.Removed++
		}
	}
	rep.Duration = x.now().Sub(start)
	if !complete {
		return rep, errors.New("search: repair: the corpus listing is incomplete; nothing was removed and the index is not ready")
	}
	x.mu.Lock()
	x.ready = true
	x.mu.Unlock()
	x.log.Info("search: repair done", "documents", rep.Documents, "indexed", rep.Indexed, "removed", rep.Removed, "errors", rep.Errors, "duration", rep.Duration)
	return rep, nil
}

// Rebuild builds every level's index anew from the corpus (khomat
// reindex) and swaps it in when done. Searches go on against the old
// indexes meanwhile, and live writes reach both.
func (x *Index) Rebuild(ctx context.Context, c Corpus) (Report, error) {
	start := x.now()
	var next [levelCount]*level
	discard := func() {
		for _, lv := range next {
			if lv != nil {
				lv.idx.Close()
				if lv.path != "" {
					os.RemoveAll(lv.path)
				}
			}
		}
	}
	for _, l := range access.Levels() {
		path := ""
		if !x.inMemory(l) {
			path = x.levelPath(l) + ".rebuild"
			if err := os.RemoveAll(path); err != nil {
				discard()
				return Report{}, fmt.Errorf("search: rebuild: %w", err)
			}
		}
		lv, err := newLevel(l, path)
		if err != nil {
			discard()
			return Report{}, err
		}
		next[l] = lv
	}
	s := newSession(&next)
	if err := x.startSession(s); err != nil {
		discard()
		return Report{}, err
	}
	var rep Report
	complete, err := x.bulk(ctx, c, s, func(archive.Document) (uint8, bool) { return 0, true }, &rep)
	if err == nil && !complete {
		err = errors.New("search: rebuild: the corpus listing is incomplete; the old indexes are kept")
	}
	if err != nil {
		x.endSession(s)
		discard()
		return rep, err
	}
	if err := x.swap(s, &next); err != nil {
		return rep, err
	}
	rep.Duration = x.now().Sub(start)
	x.log.Info("search: rebuild done", "documents", rep.Documents, "errors", rep.Errors, "duration", rep.Duration)
	return rep, nil
}

func (x *Index) levelPath(l access.Level) string {
	return x.cfg.Dir + string(os.PathSeparator) + levelName(l)
}

// swap puts the rebuilt indexes in place of the live ones. On disk the new
// folder is renamed over the old one, which Bleve cannot do to an open
// index, so both are closed and the new one reopened; searches and writes
// wait meanwhile.
func (x *Index) swap(s *session, next *[levelCount]*level) error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.sessions, s)
	if x.closed {
		x.closeLevels(next[:])
		return ErrClosed
	}
	var errs []error
	for l, nl := range next {
		old := x.levels[l]
		if nl.path == "" {
			x.levels[l] = nl
			errs = append(errs, old.idx.Close())
			continue
		}
		final := old.path
		if final == "" {
			final = x.levelPath(access.Level(l))
		}
		errs = append(errs, old.idx.Close(), nl.idx.Close())
		err := func() error {
			if err := os.RemoveAll(final + ".old"); err != nil {
				return err
			}
			if old.path != "" {
				if err := os.Rename(final, final+".old"); err != nil {
					return err
				}
			}
			if err := os.Rename(nl.path, final); err != nil {
				return err
			}
			return os.RemoveAll(final + ".old")
		}()
		idx, oerr := bleve.Open(final)
		if err != nil || oerr != nil {
			// Leave an empty index in place: the next Repair fills it, and
			// searches are refused until then.
			x.ready = false
			lv, nerr := newLevel(access.Level(l), "")
			if nerr == nil {
				x.levels[l] = lv
			}
			errs = append(errs, fmt.Errorf("search: rebuild: swapping level %d: %w", l, errors.Join(err, oerr, nerr)))
			continue
		}
		x.levels[l] = &level{level: access.Level(l), idx: idx, path: final}
	}
	// The new indexes were built from the store: what was quarantined
	// before is rebuilt, except what failed in the rebuild itself or was
	// touched by a live write since.
	s.mu.Lock()
	for id := range x.quarantine {
		_, t := s.touched[id]
		_, f := s.failed[id]
		if !t && !f {
			delete(x.quarantine, id)
		}
	}
	for id := range s.failed {
		x.quarantine[id] = struct{}{}
	}
	s.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	x.ready = true
	return nil
}

// scanLevel calls fn for every entry of idx, in pages, sorted by id.
func scanLevel(ctx context.Context, idx bleve.Index, fn func(archive.ID, stamp, TextState)) error {
	const page = 10000
	var after []string
	for {
		req := bleve.NewSearchRequestOptions(query.NewMatchAllQuery(), page, 0, false)
		req.Fields = []string{fieldStamp, fieldText}
		req.SortBy([]string{fieldID})
		req.Score = "none"
		req.SearchAfter = after
		res, err := idx.SearchInContext(ctx, req)
		if err != nil {
			return err
		}
		for _, h := range res.Hits {
			id, err := archive.ParseID(h.ID)
			if err != nil {
				continue // not an entry of ours; a Rebuild drops it
			}
			st, _ := parseStamp(fieldString(h.Fields, fieldStamp))
			fn(id, st, decodeTextState(fieldString(h.Fields, fieldText)))
		}
		if len(res.Hits) < page {
			return nil
		}
		after = res.Hits[len(res.Hits)-1].Sort
	}
}

// bulk reads the corpus, extracts the documents need selects with
// Workers goroutines, and writes them in batches: to the live indexes for
// a Repair, to the new ones for a Rebuild. need returns the levels that
// already hold an entry of the document and whether it must be written.
// complete is false when the corpus listing failed part-way.
func (x *Index) bulk(ctx context.Context, c Corpus, s *session, need func(archive.Document) (uint8, bool), rep *Report) (complete bool, err error) {
	type job struct {
		doc  archive.Document
		mask uint8
	}
	ctx, cancel := context.WithCancel(ctx)
	jobs := make(chan job, x.workers()*2)
	// Extracted texts wait here for the batcher: a few per worker, not a
	// batch's worth, since each may be megabytes.
	out := make(chan built, x.workers()*2)
	defer func() {
		// Stop the reader and the workers and wait for them, so that
		// nothing touches rep or need's state after bulk returns.
		cancel()
		for range out {
		}
	}()

	complete = true
	var listErrs int
	go func() {
		defer close(jobs)
		for doc, err := range c.Documents(ctx) {
			if err != nil {
				listErrs++
				if !errors.Is(err, archive.ErrIntegrity) {
					complete = false
					x.log.Error("search: corpus listing failed", "err", err)
				} else {
					x.log.Warn("search: a document failed its integrity check; not indexed", "err", err)
				}
				continue
			}
			rep.Documents++
			mask, ok := need(doc)
			if !ok {
				continue
			}
			select {
			case jobs <- job{doc, mask}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range x.workers() {
		wg.Go(func() {
			for j := range jobs {
				open := func(ctx context.Context) (io.ReadCloser, error) { return c.Open(ctx, j.doc) }
				body, state := x.text(ctx, j.doc, open)
				e := entry{id: j.doc.ID, level: j.doc.Level, stamp: stamp{j.doc.Version, j.doc.Revision}, doc: buildDocument(j.doc, body, state)}
				select {
				case out <- built{e, j.mask, state, len(body)}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(out) }()

	// Batches are written by several goroutines at once: building a
	// segment is Bleve's costliest step and runs in the caller of Batch.
	batches := make(chan []built)
	var stats sync.Mutex
	var fwg sync.WaitGroup
	var flushErr error
	for range max(1, x.workers()) {
		fwg.Go(func() {
			for batch := range batches {
				if err := x.flush(s, batch, &stats, rep); err != nil {
					stats.Lock()
					flushErr = errors.Join(flushErr, err)
					stats.Unlock()
					cancel()
				}
			}
		})
	}
	bt := batcher{max: x.batchSize(), maxText: x.batchText()}
	for b := range out {
		if full := bt.add(b); full != nil {
			select {
			case batches <- full:
			case <-ctx.Done():
			}
		}
	}
	if last := bt.rest(); len(last) > 0 && ctx.Err() == nil {
		batches <- last
	}
	close(batches)
	fwg.Wait()
	if flushErr != nil {
		return false, flushErr
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	rep.Errors += listErrs
	return complete, nil
}

// built is an entry built by a bulk worker, with the levels that held the
// document before.
type built struct {
	e     entry
	mask  uint8
	state TextState
	text  int // bytes of extracted text
}

// batcher groups built entries into batches of at most max documents and,
// but for a single longer document, maxText bytes of text.
type batcher struct {
	max, maxText int
	batch        []built
	text         int
}

// add adds b and returns the previous batch if b did not fit in it.
func (bt *batcher) add(b built) []built {
	var full []built
	if len(bt.batch) > 0 && (len(bt.batch) >= bt.max || bt.text+b.text > bt.maxText) {
		full = bt.rest()
	}
	bt.batch = append(bt.batch, b)
	bt.text += b.text
	return full
}

// rest returns the batch under way, possibly empty, and starts a new one.
func (bt *batcher) rest() []built {
	b := bt.batch
	bt.batch, bt.text = nil, 0
	return b
}

// flush writes one batch of a bulk session: to the live indexes for a
// Repair, to the new ones for a Rebuild. The batch is written without the
// write lock, beside other batches; live writes that touched its documents
// meanwhile are replayed after it.
func (x *Index) flush(s *session, batch []built, stats *sync.Mutex, rep *Report) error {
	x.wmu.Lock()
	x.mu.RLock()
	closed, levels := x.closed, x.levels
	x.mu.RUnlock()
	if s.levels != nil {
		levels = *s.levels
	}
	if closed {
		x.wmu.Unlock()
		return ErrClosed
	}
	var bs [levelCount]*bleve.Batch
	get := func(l access.Level) *bleve.Batch {
		if bs[l] == nil {
			bs[l] = levels[l].idx.NewBatch()
		}
		return bs[l]
	}
	var written []archive.ID
	notIndexed, errs := 0, 0
	s.mu.Lock()
	for _, b := range batch {
		if _, ok := s.touched[b.e.id]; ok {
			continue // a live write carried something newer
		}
		if err := get(b.e.level).IndexAdvanced(b.e.doc); err != nil {
			errs++
			continue
		}
		for l := range access.Level(levelCount) {
			if l != b.e.level && b.mask&(1<<l) != 0 {
				get(l).Delete(b.e.id.String())
			}
		}
		written = append(written, b.e.id)
		s.inflight[b.e.id]++
		if !b.state.Indexed {
			notIndexed++
		}
	}
	s.mu.Unlock()
	x.wmu.Unlock()

	var berr error
	for l, b := range bs {
		if b != nil {
			berr = errors.Join(berr, levels[l].idx.Batch(b))
		}
	}

	x.wmu.Lock()
	s.mu.Lock()
	for _, id := range written {
		if s.inflight[id]--; s.inflight[id] == 0 {
			delete(s.inflight, id)
		}
		e, ok := s.replay[id]
		if !ok {
			continue
		}
		delete(s.replay, id)
		var err error
		if e == nil {
			err = removeOne(levels, id)
		} else {
			err = writeOne(levels, *e)
		}
		if err != nil {
			s.failed[id] = struct{}{}
		}
	}
	if berr != nil && s.levels != nil {
		for _, id := range written {
			s.failed[id] = struct{}{}
		}
	}
	s.mu.Unlock()
	x.wmu.Unlock()
	if s.levels == nil {
		for _, id := range written {
			x.settle(id, berr)
		}
	}

	stats.Lock()
	defer stats.Unlock()
	rep.Errors += errs
	if berr != nil {
		rep.Errors += len(written)
		x.log.Error("search: writing a batch failed", "documents", len(written), "err", berr)
	} else {
		rep.Indexed += len(written)
		rep.NotIndexed += notIndexed
	}
	return nil
}

// fieldString returns a stored field of a hit as a string ("" if absent).
func fieldString(fields map[string]any, name string) string {
	switch v := fields[name].(type) {
	case string:
		return v
	case []any:
		if len(v) > 0 {
			s, _ := v[0].(string)
			return s
		}
	}
	return ""
}
