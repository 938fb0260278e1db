package search

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"iter"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/search/extract"
)

// memCorpus is a Corpus held in memory: documents and their content.
type memCorpus struct {
	mu      sync.Mutex
	docs    map[archive.ID]archive.Document
	content map[archive.ID][]byte
	// failList makes Documents fail part-way with a listing error.
	failList error
}

func newMemCorpus() *memCorpus {
	return &memCorpus{docs: map[archive.ID]archive.Document{}, content: map[archive.ID][]byte{}}
}

func (c *memCorpus) put(doc archive.Document, content []byte) archive.Document {
	c.mu.Lock()
	defer c.mu.Unlock()
	doc.Size = int64(len(content))
	doc.SHA256 = sha256.Sum256(content)
	if doc.ContentType == "" {
		doc.ContentType = "text/plain; charset=utf-8"
	}
	c.docs[doc.ID] = doc
	c.content[doc.ID] = content
	return doc
}

func (c *memCorpus) remove(id archive.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.docs, id)
	delete(c.content, id)
}

func (c *memCorpus) Documents(ctx context.Context) iter.Seq2[archive.Document, error] {
	return func(yield func(archive.Document, error) bool) {
		c.mu.Lock()
		docs := make([]archive.Document, 0, len(c.docs))
		for _, d := range c.docs {
			docs = append(docs, d)
		}
		fail := c.failList
		c.mu.Unlock()
		slices.SortFunc(docs, func(a, b archive.Document) int { return bytes.Compare(a.ID[:], b.ID[:]) })
		for i, d := range docs {
			if fail != nil && i == len(docs)/2 {
				// An integrity failure concerns one document and the
				// listing goes on; any other failure ends it.
				if !yield(archive.Document{}, fail) || !errors.Is(fail, archive.ErrIntegrity) {
					return
				}
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

func (c *memCorpus) Open(_ context.Context, doc archive.Document) (io.ReadCloser, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.content[doc.ID]
	if !ok {
		return nil, archive.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// opener returns the open function the archive passes to Index.
func (c *memCorpus) opener(doc archive.Document) func(context.Context) (io.ReadCloser, error) {
	return func(ctx context.Context) (io.ReadCloser, error) { return c.Open(ctx, doc) }
}

// extractOff configures extraction without pdftotext, whatever the
// machine has.
var extractOff = extract.Config{PDFToText: "-"}

// openIndex opens an index for a test and makes it ready with a repair
// over corpus (nil for none).
func openIndex(t testing.TB, cfg Config, corpus Corpus) *Index {
	t.Helper()
	if cfg.Extract.PDFToText == "" {
		cfg.Extract.PDFToText = "-"
	}
	x, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if corpus == nil {
		corpus = newMemCorpus()
	}
	if _, err := x.Repair(context.Background(), corpus); err != nil {
		t.Fatal(err)
	}
	return x
}

// idFrom makes a deterministic document ID.
func idFrom(r *rand.Rand) archive.ID {
	var id archive.ID
	for i := range id {
		id[i] = byte(r.IntN(256))
	}
	return id
}

func testDoc(id archive.ID, level access.Level, title string) archive.Document {
	return archive.Document{
		ID: id, Version: 1, Revision: 1,
		CreatedBy: "archivist", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Metadata: archive.Metadata{
			IssuingBody: "Văn phòng Trung ương Đảng", NumberSymbol: "15-NQ/TW",
			DateIssued: archive.Date{Year: 2024, Month: 5, Day: 17},
			Type:       archive.TypeResolution, Title: title, Level: level,
		},
	}
}

func reader(id string, clearance access.Level, compartments ...string) access.Subject {
	return access.Subject{ID: id, Roles: []access.Role{access.Reader}, Clearance: clearance, Compartments: compartments}
}

func ids(r *Result) []string {
	out := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		out[i] = h.ID.String()
	}
	return out
}
