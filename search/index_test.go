package search

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/search/extract"
)

func mustIndex(t *testing.T, x *Index, c *memCorpus, d archive.Document) {
	t.Helper()
	if err := x.Index(context.Background(), d, c.opener(d)); err != nil {
		t.Fatal(err)
	}
}

func find(t *testing.T, x *Index, s access.Subject, q string) *Result {
	t.Helper()
	res, err := x.Search(context.Background(), s, Request{Query: q, Limit: MaxLimit})
	if err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	return res
}

// TestReclassifyMoves: a change of level moves the entry between level
// indexes, and an old revision arriving late changes nothing.
func TestReclassifyMoves(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(11, 1))
	c := newMemCorpus()
	x := openIndex(t, Config{}, nil)
	mat := reader("u", access.Confidential)
	top := reader("v", access.TopSecret)

	d := c.put(testDoc(idFrom(r), access.Confidential, "Kế hoạch diễn tập"), []byte("nội dung"))
	mustIndex(t, x, c, d)
	if got := find(t, x, mat, "dien tap"); got.Total != 1 {
		t.Fatalf("before: %d hits", got.Total)
	}

	raised := d
	raised.Revision, raised.Level = 2, access.TopSecret
	raised.Title = "Kế hoạch diễn tập (nâng độ mật)"
	raised = c.put(raised, []byte("nội dung"))
	mustIndex(t, x, c, raised)
	if got := find(t, x, mat, "dien tap"); got.Total != 0 {
		t.Fatalf("after raising, the Mật reader still sees %v", got.Hits)
	}
	got := find(t, x, top, "dien tap")
	if got.Total != 1 || got.Hits[0].Level != access.TopSecret || got.Hits[0].Title != raised.Title {
		t.Fatalf("after raising: %+v", got.Hits)
	}

	// The first revision, indexed again late (a retry racing the change),
	// must not move it back.
	mustIndex(t, x, c, d)
	if got := find(t, x, mat, "dien tap"); got.Total != 0 {
		t.Fatalf("a stale revision moved the document back: %v", got.Hits)
	}
	// Indexing the current revision again is harmless.
	mustIndex(t, x, c, raised)
	if got := find(t, x, top, "dien tap"); got.Total != 1 {
		t.Fatalf("re-indexing: %d hits", got.Total)
	}

	if err := x.Remove(context.Background(), d.ID); err != nil {
		t.Fatal(err)
	}
	if got := find(t, x, top, ""); got.Total != 0 {
		t.Fatalf("after Remove: %v", got.Hits)
	}
	if err := x.Remove(context.Background(), d.ID); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestNotReadyAndClosed(t *testing.T) {
	t.Parallel()
	x, err := Open(Config{Extract: extractOff})
	if err != nil {
		t.Fatal(err)
	}
	s := reader("u", access.TopSecret)
	if _, err := x.Search(context.Background(), s, Request{}); !errors.Is(err, ErrNotReady) {
		t.Fatalf("before repair: %v", err)
	}
	if x.Ready() {
		t.Fatal("ready before repair")
	}
	if _, err := x.Repair(context.Background(), newMemCorpus()); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(context.Background(), s, Request{}); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(context.Background(), s, Request{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	d := testDoc(archive.ID{1}, access.Unclassified, "x")
	if err := x.Index(context.Background(), d, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Index after close: %v", err)
	}
	if err := x.Remove(context.Background(), d.ID); !errors.Is(err, ErrClosed) {
		t.Fatalf("Remove after close: %v", err)
	}
	if err := x.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestQuarantine: an entry whose write failed is hidden from every search
// until a later write succeeds.
func TestQuarantine(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(12, 1))
	c := newMemCorpus()
	x := openIndex(t, Config{}, nil)
	d := c.put(testDoc(idFrom(r), access.Unclassified, "Thông báo kết luận"), nil)
	mustIndex(t, x, c, d)
	s := reader("u", access.TopSecret)
	x.settle(d.ID, errors.New("simulated failure"))
	if got := find(t, x, s, "thong bao"); got.Total != 0 {
		t.Fatalf("a quarantined entry is shown: %v", got.Hits)
	}
	mustIndex(t, x, c, d)
	if got := find(t, x, s, "thong bao"); got.Total != 1 {
		t.Fatalf("after a successful write: %d hits", got.Total)
	}
}

func TestInvalidDocument(t *testing.T) {
	t.Parallel()
	x := openIndex(t, Config{}, nil)
	for _, d := range []archive.Document{
		testDoc(archive.ID{}, access.Unclassified, "no id"),
		testDoc(archive.ID{1}, 7, "bad level"),
	} {
		if err := x.Index(context.Background(), d, nil); err == nil {
			t.Errorf("Index(%+v) succeeded", d.Metadata)
		}
	}
}

// TestMemoryLevels: configured levels never touch the disk and are filled
// by the repair at start; the others persist.
func TestMemoryLevels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(13, 1))
	c := newMemCorpus()
	var docs []archive.Document
	for _, l := range access.Levels() {
		d := c.put(testDoc(idFrom(r), l, "Báo cáo tình hình "+l.String()), []byte("báo cáo"))
		docs = append(docs, d)
	}
	cfg := Config{Dir: dir, MemoryLevels: []access.Level{access.TopSecret}}
	x := openIndex(t, cfg, c)
	s := reader("u", access.TopSecret)
	if got := find(t, x, s, "bao cao"); got.Total != 4 {
		t.Fatalf("after the first repair: %d hits", got.Total)
	}
	if _, err := os.Stat(filepath.Join(dir, levelName(access.TopSecret))); !os.IsNotExist(err) {
		t.Fatalf("the in-memory level has files on disk: %v", err)
	}
	for _, l := range []access.Level{access.Unclassified, access.Confidential, access.Secret} {
		if _, err := os.Stat(filepath.Join(dir, levelName(l))); err != nil {
			t.Fatalf("level %v has no index on disk: %v", l, err)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened: the disk levels are there, the memory level is empty until
	// the repair fills it again.
	y, err := Open(Config{Dir: dir, MemoryLevels: cfg.MemoryLevels, Extract: extractOff})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	rep, err := y.Repair(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indexed != 1 || rep.Documents != 4 {
		t.Fatalf("repair after reopening: %+v, want only the Tuyệt mật document indexed", rep)
	}
	if got := find(t, y, s, "bao cao"); got.Total != 4 {
		t.Fatalf("after reopening: %d hits", got.Total)
	}
}

// TestStaleMappingVersion: an index stamped with another mapping version is
// deleted at open and refilled by the repair.
func TestStaleMappingVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(14, 1))
	c := newMemCorpus()
	d := c.put(testDoc(idFrom(r), access.Secret, "Chỉ thị về công tác bảo mật"), []byte("bảo mật"))
	x := openIndex(t, Config{Dir: dir}, c)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := bleve.Open(filepath.Join(dir, levelName(access.Secret)))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.SetInternal([]byte(mappingVersionKey), []byte("0")); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	// A level folder that is not an index at all is rebuilt too.
	if err := os.WriteFile(filepath.Join(dir, levelName(access.Unclassified), "index_meta.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}

	y, err := Open(Config{Dir: dir, Extract: extractOff})
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	rep, err := y.Repair(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indexed != 1 {
		t.Fatalf("repair: %+v, want the document indexed again", rep)
	}
	got := find(t, y, reader("u", access.Secret), "bao mat")
	if !slices.Equal(ids(got), []string{d.ID.String()}) {
		t.Fatalf("after the rebuild: %v", ids(got))
	}
	v, err := y.levels[access.Secret].idx.GetInternal([]byte(mappingVersionKey))
	if err != nil || string(v) != strconv.Itoa(MappingVersion) {
		t.Fatalf("mapping version %q, %v", v, err)
	}
}

// flakyCorpus fails to open content the first time for each document.
type flakyCorpus struct {
	*memCorpus
	failed map[archive.ID]bool
}

func (f *flakyCorpus) Open(ctx context.Context, d archive.Document) (io.ReadCloser, error) {
	f.mu.Lock()
	first := !f.failed[d.ID]
	f.failed[d.ID] = true
	f.mu.Unlock()
	if first {
		return nil, errors.New("store unavailable")
	}
	return f.memCorpus.Open(ctx, d)
}

// TestExtractionStates: every kind of content is indexed by its words, and
// content that cannot be turned into text still indexes the document on
// its metadata, with the reason shown on the hit.
func TestExtractionStates(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(15, 1))
	c := newMemCorpus()
	x := openIndex(t, Config{Extract: extract.Config{PDFToText: "-", Limits: extract.Limits{MaxText: 64}}}, nil)
	s := reader("u", access.Unclassified)
	for _, tc := range []struct {
		contentType string
		content     string
		word        string // found in the body; "" when the body is not indexed
		state       TextState
	}{
		{"text/plain", "kho lưu trữ điện tử", "dien tu", TextState{Indexed: true}},
		{"text/html", "<p>hồ sơ <b>điện tử</b></p><script>bimat()</script>", "ho so", TextState{Indexed: true}},
		{"text/markdown", "## Mục lục\n\n[xem](http://a.invalid)", "muc luc", TextState{Indexed: true}},
		{"text/plain", strings.Repeat("dài ", 100) + "cuối", "dai", TextState{Indexed: true, Truncated: true}},
		{"application/pdf", "%PDF-1.4\n", "", TextState{Reason: extract.ToolMissing}},
		{"application/pdf", "not a pdf", "", TextState{Reason: extract.Mismatch}},
		{"image/jpeg", "\xff\xd8\xff\xe0", "", TextState{Reason: extract.Unsupported}},
	} {
		d := testDoc(idFrom(r), access.Unclassified, "Tài liệu thử "+tc.contentType)
		d.ContentType = tc.contentType
		d = c.put(d, []byte(tc.content))
		mustIndex(t, x, c, d)
		res := find(t, x, s, `"tai lieu thu"`)
		var hit *Hit
		for i := range res.Hits {
			if res.Hits[i].ID == d.ID {
				hit = &res.Hits[i]
			}
		}
		if hit == nil {
			t.Fatalf("%s: not found by its title", tc.contentType)
		}
		if hit.Text != tc.state {
			t.Errorf("%s: state %+v, want %+v", tc.contentType, hit.Text, tc.state)
		}
		if !tc.state.Indexed && !strings.HasPrefix(hit.Text.MessageVI(), "chưa lập chỉ mục nội dung: ") {
			t.Errorf("%s: message %q", tc.contentType, hit.Text.MessageVI())
		}
		if tc.word != "" {
			if got := find(t, x, s, tc.word); !slices.Contains(ids(got), d.ID.String()) {
				t.Errorf("%s: %q not found in the body", tc.contentType, tc.word)
			}
		}
	}
	if got := find(t, x, s, "cuoi"); got.Total != 0 {
		t.Error("text past the limit was indexed")
	}
	if got := find(t, x, s, "bimat"); got.Total != 0 {
		t.Error("a script was indexed")
	}
}
