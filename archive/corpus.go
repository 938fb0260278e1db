package archive

import (
	"context"
	"errors"
	"io"
	"iter"
)

// Corpus gives the search indexer what it needs to rebuild and repair its
// indexes from the store, which is the truth: every committed document's
// current metadata, and its current content. It is a system path, used by
// the node itself and not on behalf of a user, so it makes no access
// decision and records no audit event; it is never exposed through the API.
type Corpus struct{ s *Service }

// Corpus returns the service's Corpus.
func (s *Service) Corpus() Corpus { return Corpus{s} }

// Documents yields the current revision of every committed document, in ID
// order. Debris of interrupted creates is skipped; a document that fails
// its integrity check is yielded as an error and the iteration goes on.
func (c Corpus) Documents(ctx context.Context) iter.Seq2[Document, error] {
	return func(yield func(Document, error) bool) {
		for id, err := range c.s.ids(ctx) {
			if err != nil {
				yield(Document{}, err)
				return
			}
			st, err := c.s.load(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if !yield(st.docOrZero(), err) {
				return
			}
		}
	}
}

// Open returns the plaintext of doc's version; the caller closes it. A full
// read verifies the version's SHA-256.
func (c Corpus) Open(ctx context.Context, doc Document) (io.ReadCloser, error) {
	st, err := c.s.load(ctx, doc.ID)
	if err != nil {
		return nil, err
	}
	if doc.Version != st.doc.Version {
		if doc, err = c.s.versionDoc(ctx, st, doc.Version); err != nil {
			return nil, err
		}
	}
	return c.s.openContent(ctx, st.gen, st.doc.Level, doc, nil)
}

func (st *state) docOrZero() Document {
	if st == nil {
		return Document{}
	}
	return st.doc
}
