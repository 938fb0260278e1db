package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	index "github.com/blevesearch/bleve_index_api"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/search/extract"
)

// Errors of the index. The API maps ErrForbidden to 403, *QueryError to
// 400 and ErrNotReady to 503.
var (
	// ErrForbidden: the subject holds no role that may search.
	ErrForbidden = errors.New("search: not allowed")
	// ErrNotReady: the index has not been reconciled with the store since
	// it was opened (Repair or Rebuild has not completed). Until then an
	// entry left at a document's old level by a crash could show a title
	// to someone who may no longer read it, so searches are refused.
	ErrNotReady = errors.New("search: index not yet reconciled with the store")
	// ErrClosed: the index was closed.
	ErrClosed = errors.New("search: index closed")
)

var _ archive.Indexer = (*Index)(nil)

// levelCount is the number of secrecy levels, one index each.
const levelCount = int(access.TopSecret) + 1

// Config configures an Index.
type Config struct {
	// Dir holds the on-disk indexes, one folder per level
	// (level-<n>.bleve). Empty keeps every level in memory.
	Dir string
	// MemoryLevels are kept in memory only, never written to disk, and
	// are filled from the store by the first Repair after Open. Choose
	// the highest levels, whose titles should not rest on a disk.
	MemoryLevels []access.Level
	// Extract configures text extraction (limits, pdftotext).
	Extract extract.Config
	// Workers is how many documents Repair and Rebuild extract at once;
	// zero means GOMAXPROCS.
	Workers int
	// BatchSize is how many documents Repair and Rebuild write per Bleve
	// batch; zero means 1024 (larger batches mean fewer segments to
	// merge: 256 indexed 30% slower).
	BatchSize int
	// BatchText bounds the text, in bytes, of the documents in one such
	// batch; zero means 2 MiB. Bleve holds about 130 times a batch's
	// text while it analyses it, and Repair and Rebuild write one batch
	// per worker at once, so this, not BatchSize, bounds their memory
	// when documents are long: a batch of 1,024 documents of 1 MiB of
	// text each would need over 100 GiB. A document longer than the
	// bound is a batch of its own.
	BatchText int
	// Logger receives operational messages (never titles or query text);
	// nil discards them.
	Logger *slog.Logger
	// Clock is used for durations in reports; nil means time.Now.
	Clock func() time.Time
}

// Index is Khomat's search index: one Bleve index per secrecy level. It
// implements archive.Indexer, and answers searches through Search, which
// only ever looks at the levels the subject is cleared for and adds the
// compartment and named-recipient filters itself.
type Index struct {
	cfg    Config
	ext    *extract.Extractor
	facets *facetCache
	log    *slog.Logger
	now    func() time.Time

	// wmu serialises changes to entries, so that "which levels hold this
	// document, then delete and add" is one step.
	wmu sync.Mutex

	mu         sync.RWMutex // guards the fields below
	levels     [levelCount]*level
	sessions   map[*session]struct{} // running repairs and rebuilds
	quarantine map[archive.ID]struct{}
	ready      bool
	closed     bool
}

// level is the index of one secrecy level.
type level struct {
	level access.Level
	idx   bleve.Index
	path  string // "" for an in-memory index
}

// Open opens (or creates) the indexes under cfg.Dir. An index whose stored
// mapping version is not MappingVersion, or that cannot be opened, is
// deleted and created empty; in-memory levels start empty. Either way the
// next Repair fills them from the store, and until a Repair or Rebuild has
// completed, Search returns ErrNotReady.
func Open(cfg Config) (*Index, error) {
	x := &Index{
		cfg: cfg, log: cfg.Logger, now: cfg.Clock, facets: newFacetCache(),
		sessions:   map[*session]struct{}{},
		quarantine: map[archive.ID]struct{}{},
	}
	if x.log == nil {
		x.log = slog.New(slog.DiscardHandler)
	}
	if x.now == nil {
		x.now = time.Now
	}
	if x.cfg.Extract.Logger == nil {
		x.cfg.Extract.Logger = x.log
	}
	x.ext = extract.New(x.cfg.Extract)
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
	}
	for _, l := range access.Levels() {
		lv, err := x.openLevel(l)
		if err != nil {
			x.closeLevels(x.levels[:])
			return nil, err
		}
		x.levels[l] = lv
	}
	return x, nil
}

// inMemory reports whether level l is configured to live in memory.
func (x *Index) inMemory(l access.Level) bool {
	return x.cfg.Dir == "" || slices.Contains(x.cfg.MemoryLevels, l)
}

func (x *Index) openLevel(l access.Level) (*level, error) {
	if x.inMemory(l) {
		// A memory level never leaves files behind: remove what an earlier
		// configuration may have written.
		if x.cfg.Dir != "" {
			if err := os.RemoveAll(filepath.Join(x.cfg.Dir, levelName(l))); err != nil {
				return nil, fmt.Errorf("search: removing the on-disk index of in-memory level %v: %w", l, err)
			}
		}
		return newLevel(l, "")
	}
	path := filepath.Join(x.cfg.Dir, levelName(l))
	os.RemoveAll(path + ".rebuild") // debris of an interrupted Rebuild
	if _, err := os.Stat(path); err == nil {
		idx, err := bleve.Open(path)
		if err == nil {
			v, verr := idx.GetInternal([]byte(mappingVersionKey))
			if verr == nil && string(v) == strconv.Itoa(MappingVersion) {
				return &level{level: l, idx: idx, path: path}, nil
			}
			idx.Close()
			x.log.Warn("search index has a stale mapping version; rebuilding it", "level", l.String(), "found", string(v), "want", MappingVersion)
		} else {
			x.log.Warn("search index cannot be opened; rebuilding it", "level", l.String(), "err", err)
		}
		if err := os.RemoveAll(path); err != nil {
			return nil, fmt.Errorf("search: removing stale index of level %v: %w", l, err)
		}
	}
	return newLevel(l, path)
}

// newLevel creates an empty index at path ("" for memory) and stamps it
// with MappingVersion.
func newLevel(l access.Level, path string) (*level, error) {
	// Scorch, the current index format, in memory too: Bleve's own
	// in-memory index is the older upsidedown format, slower and
	// different to test.
	// Every batch waits until it is persisted ("unsafe_batch" would not:
	// scorch then loses the last batches even on a clean Close). In
	// memory there is nothing to wait for.
	idx, err := bleve.NewUsing(path, newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("search: creating the index of level %v: %w", l, err)
	}
	if err := idx.SetInternal([]byte(mappingVersionKey), []byte(strconv.Itoa(MappingVersion))); err != nil {
		idx.Close()
		return nil, fmt.Errorf("search: stamping the index of level %v: %w", l, err)
	}
	return &level{level: l, idx: idx, path: path}, nil
}

func (x *Index) closeLevels(ls []*level) error {
	var errs []error
	for _, lv := range ls {
		if lv != nil {
			errs = append(errs, lv.idx.Close())
		}
	}
	return errors.Join(errs...)
}

// Close closes the indexes. In-memory levels are gone with it.
func (x *Index) Close() error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return nil
	}
	x.closed = true
	return x.closeLevels(x.levels[:])
}

// Ready reports whether a Repair or Rebuild has completed since Open, so
// that Search answers.
func (x *Index) Ready() bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ready
}

// entry is a built index entry waiting to be written.
type entry struct {
	id    archive.ID
	level access.Level
	stamp stamp
	doc   *document.Document
}

// Index adds or replaces a document's entry (archive.Indexer). It extracts
// the text of the current version through open, puts the entry in the
// index of the document's level, and deletes it from every other level's
// index, so a reclassification moves it. Calls are idempotent, and a call
// carrying an older revision than the one already indexed changes nothing.
//
// Content that cannot be read or turned into text does not fail the call:
// the document is indexed on its metadata, with the reason recorded in its
// TextState. An error means the index could not be written; the entry is
// then hidden from every search until a later Index, Remove or Repair
// succeeds for it.
func (x *Index) Index(ctx context.Context, doc archive.Document, open func(context.Context) (io.ReadCloser, error)) error {
	if doc.ID.IsZero() || !doc.Level.Valid() {
		return fmt.Errorf("search: index %s: invalid document (level %v)", doc.ID, doc.Level)
	}
	body, state := x.text(ctx, doc, open)
	e := entry{id: doc.ID, level: doc.Level, stamp: stamp{doc.Version, doc.Revision}, doc: buildDocument(doc, body, state)}
	return x.write(ctx, e)
}

// text extracts the text of doc's content.
func (x *Index) text(ctx context.Context, doc archive.Document, open func(context.Context) (io.ReadCloser, error)) (string, TextState) {
	if doc.Size == 0 {
		return "", TextState{Indexed: true}
	}
	if open == nil {
		return "", TextState{Reason: extract.Unavailable}
	}
	rc, err := open(ctx)
	if err != nil {
		x.log.Warn("search: cannot open content; indexing metadata only", "doc_id", doc.ID.String(), "err", err)
		return "", TextState{Reason: extract.Unavailable}
	}
	defer rc.Close()
	t, err := x.ext.Extract(ctx, doc.ContentType, rc)
	if err != nil {
		var ee *extract.Error
		reason := extract.Failed
		if errors.As(err, &ee) {
			reason = ee.Reason
		}
		if ctx.Err() != nil {
			// The caller gave up, not the document: try again later.
			reason = extract.Unavailable
		}
		x.log.Info("search: content not indexed", "doc_id", doc.ID.String(), "reason", string(reason), "err", err)
		return "", TextState{Reason: reason}
	}
	return t.Text, TextState{Indexed: true, Truncated: t.Truncated}
}

// write puts e in the index of its level and deletes it from the others,
// in the live indexes and in any rebuild under way.
func (x *Index) write(ctx context.Context, e entry) error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	x.mu.RLock()
	closed, levels := x.closed, x.levels
	var targets []*[levelCount]*level
	for s := range x.sessions {
		s.touch(e.id, &e)
		if s.levels != nil {
			targets = append(targets, s.levels)
		}
	}
	x.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	err := writeOne(levels, e)
	for _, t := range targets {
		err = errors.Join(err, writeOne(*t, e))
	}
	x.settle(e.id, err)
	if err != nil {
		return fmt.Errorf("search: indexing %s: %w", e.id, err)
	}
	return ctx.Err()
}

// settle records the outcome of a write of id: a failure quarantines the
// document (hidden from every search), a success lifts the quarantine.
func (x *Index) settle(id archive.ID, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		x.quarantine[id] = struct{}{}
		x.log.Error("search: index write failed; document hidden until repaired", "doc_id", id.String(), "err", err)
		return
	}
	delete(x.quarantine, id)
}

// writeOne writes e into one set of level indexes. A newer revision
// already indexed wins.
func writeOne(levels [levelCount]*level, e entry) error {
	found := make([]bool, levelCount)
	for i, lv := range levels {
		st, ok, err := entryStamp(lv.idx, e.id)
		if err != nil {
			return err
		}
		if ok && st.newer(e.stamp) {
			return nil
		}
		found[i] = ok
	}
	for i, lv := range levels {
		if found[i] && access.Level(i) != e.level {
			if err := lv.idx.Delete(e.id.String()); err != nil {
				return err
			}
		}
	}
	b := levels[e.level].idx.NewBatch()
	if err := b.IndexAdvanced(e.doc); err != nil {
		return err
	}
	return levels[e.level].idx.Batch(b)
}

// entryStamp returns the stamp of id's entry in idx, if it has one.
func entryStamp(idx bleve.Index, id archive.ID) (stamp, bool, error) {
	d, err := idx.Document(id.String())
	if err != nil || d == nil {
		return stamp{}, false, err
	}
	var st stamp
	d.VisitFields(func(f index.Field) {
		if f.Name() == fieldStamp {
			st, _ = parseStamp(string(f.Value()))
		}
	})
	return st, true, nil
}

// Remove drops a document from every level's index (archive.Indexer).
func (x *Index) Remove(ctx context.Context, id archive.ID) error {
	x.wmu.Lock()
	defer x.wmu.Unlock()
	x.mu.RLock()
	closed, levels := x.closed, x.levels
	var targets []*[levelCount]*level
	for s := range x.sessions {
		s.touch(id, nil)
		if s.levels != nil {
			targets = append(targets, s.levels)
		}
	}
	x.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	err := removeOne(levels, id)
	for _, t := range targets {
		err = errors.Join(err, removeOne(*t, id))
	}
	x.settle(id, err)
	if err != nil {
		return fmt.Errorf("search: removing %s: %w", id, err)
	}
	return ctx.Err()
}

func removeOne(levels [levelCount]*level, id archive.ID) error {
	for _, lv := range levels {
		d, err := lv.idx.Document(id.String())
		if err != nil {
			return err
		}
		if d != nil {
			if err := lv.idx.Delete(id.String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// TextState says what became of a document's content when it was indexed.
type TextState struct {
	// Indexed is true when the words of the content are in the index.
	Indexed bool
	// Truncated is true when only the first part of a long text was
	// indexed (extract.Limits.MaxText).
	Truncated bool
	// Reason says why the content is not indexed when Indexed is false:
	// the document is then found by its metadata only.
	Reason extract.Reason
}

// MessageVI describes the state in Vietnamese for the interface; "" when
// the whole content is indexed.
func (s TextState) MessageVI() string {
	switch {
	case s.Indexed && s.Truncated:
		return "chỉ lập chỉ mục phần đầu của nội dung (nội dung quá dài)"
	case s.Indexed:
		return ""
	}
	return "chưa lập chỉ mục nội dung: " + s.Reason.MessageVI()
}

// MessageEN describes the state in English; "" when the whole content is
// indexed.
func (s TextState) MessageEN() string {
	switch {
	case s.Indexed && s.Truncated:
		return "only the first part of the content is indexed (too long)"
	case s.Indexed:
		return ""
	}
	return "content not indexed: " + s.Reason.MessageEN()
}

func (s TextState) encode() string {
	switch {
	case s.Indexed && s.Truncated:
		return "ok:truncated"
	case s.Indexed:
		return "ok"
	}
	return "none:" + string(s.Reason)
}

func decodeTextState(v string) TextState {
	switch v {
	case "ok":
		return TextState{Indexed: true}
	case "ok:truncated":
		return TextState{Indexed: true, Truncated: true}
	}
	r, _ := strings.CutPrefix(v, "none:")
	return TextState{Reason: extract.Reason(r)}
}

// retry reports whether a Repair should extract the text again: the
// content could not be read, or the tool that reads it is now installed.
func (s TextState) retry(pdfSupported bool) bool {
	if s.Indexed {
		return false
	}
	switch s.Reason {
	case extract.Unavailable:
		return true
	case extract.ToolMissing:
		return pdfSupported
	}
	return false
}

// workers returns the configured parallelism of bulk work.
func (x *Index) workers() int {
	if x.cfg.Workers > 0 {
		return x.cfg.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func (x *Index) batchText() int {
	if x.cfg.BatchText > 0 {
		return x.cfg.BatchText
	}
	return 2 << 20
}

func (x *Index) batchSize() int {
	if x.cfg.BatchSize > 0 {
		return x.cfg.BatchSize
	}
	return 1024
}
