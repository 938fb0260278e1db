package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"sync"
)

// The indexer learns of each committed change from the service, after the
// commit: the store is the truth, and a change is never refused because the
// index could not take it. What the indexer fails to take is remembered and
// retried by RetryIndex, so that a new document becomes findable, and a
// destroyed one disappears from the results, without waiting for the
// repair pass of the next start. A crash forgets the set; that repair pass
// covers it.

// behindSet is the set of documents whose index entry may not match the
// store.
type behindSet struct {
	mu  sync.Mutex
	ids map[ID]struct{}
}

func (b *behindSet) add(id ID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ids == nil {
		b.ids = map[ID]struct{}{}
	}
	b.ids[id] = struct{}{}
}

// take empties the set and returns what it held, in ID order.
func (b *behindSet) take() []ID {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := slices.SortedFunc(maps.Keys(b.ids), func(x, y ID) int { return bytes.Compare(x[:], y[:]) })
	b.ids = nil
	return ids
}

func (b *behindSet) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ids)
}

// indexDoc tells the indexer of a committed change. It runs to the end even
// when the caller's request is cancelled (the client went away after the
// commit); a failure is logged and the document retried by RetryIndex.
func (s *Service) indexDoc(ctx context.Context, doc Document, gen uint32) {
	if s.index == nil {
		return
	}
	if err := s.index.Index(context.WithoutCancel(ctx), doc, s.opener(gen, doc)); err != nil {
		s.behind.add(doc.ID)
		s.log.Warn("indexing failed; retried in the background", "doc_id", doc.ID.String(), "err", err)
	}
}

// unindexDoc drops a destroyed document from the index, or remembers it for
// RetryIndex.
func (s *Service) unindexDoc(ctx context.Context, id ID) {
	if s.index == nil {
		return
	}
	if err := s.index.Remove(context.WithoutCancel(ctx), id); err != nil {
		s.behind.add(id)
		s.log.Warn("removing a destroyed document from the index failed; retried in the background", "doc_id", id.String(), "err", err)
	}
}

// RetryIndex brings the index entries of the documents whose last change
// the indexer failed to take in line with the store: each is indexed from
// its current committed revision, or removed if it was destroyed. It
// returns how many it brought in line and how many still fail (kept for
// the next call). The server calls it periodically; it is a system path,
// with no access decision and no audit event, like Corpus.
func (s *Service) RetryIndex(ctx context.Context) (done, failed int, err error) {
	if s.index == nil {
		return 0, 0, nil
	}
	ids := s.behind.take()
	for i, id := range ids {
		if ctx.Err() != nil {
			for _, rest := range ids[i:] {
				s.behind.add(rest)
			}
			return done, s.behind.len(), ctx.Err()
		}
		var ierr error
		st, lerr := s.load(ctx, id)
		switch {
		case errors.Is(lerr, ErrNotFound):
			ierr = s.index.Remove(ctx, id)
		case lerr != nil:
			ierr = lerr
		default:
			ierr = s.index.Index(ctx, st.doc, s.opener(st.gen, st.doc))
		}
		if ierr != nil {
			s.behind.add(id)
			err = errors.Join(err, ierr)
			continue
		}
		done++
	}
	return done, s.behind.len(), err
}

// opener opens doc's current version under envelope generation gen, for
// the indexer's text extraction.
func (s *Service) opener(gen uint32, doc Document) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) {
		c, err := s.openContent(ctx, gen, doc.Level, doc, nil)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
