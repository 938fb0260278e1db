package search

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/crypto"
)

// allIDs returns the ids a top-cleared subject with every compartment
// and every user's name... sees: here, documents carry neither, so a
// plain TopSecret reader sees them all.
func allIDs(t *testing.T, x *Index) []string {
	t.Helper()
	var out []string
	for off := 0; ; off += MaxLimit {
		res, err := x.Search(context.Background(), reader("u", access.TopSecret), Request{Offset: off, Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ids(res)...)
		if len(res.Hits) < MaxLimit {
			break
		}
	}
	slices.Sort(out)
	return out
}

func corpusIDs(c *memCorpus) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range c.docs {
		out = append(out, id.String())
	}
	slices.Sort(out)
	return out
}

// TestRepair: missing, stale, misplaced, orphaned and text-less entries are
// all put right, and a second repair finds nothing to do.
func TestRepair(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(21, 1))
	c := newMemCorpus()
	x := openIndex(t, Config{}, nil)
	var docs []archive.Document
	for i := range 40 {
		d := c.put(testDoc(idFrom(r), access.Level(i%levelCount), "Văn bản số "+string(rune('a'+i%26))), []byte("nội dung"))
		docs = append(docs, d)
	}
	// Indexed: the first 30 (so 10 are missing).
	for _, d := range docs[:30] {
		mustIndex(t, x, c, d)
	}
	// Stale: the corpus moved on to a new revision of 0..4.
	for i := range 5 {
		d := docs[i]
		d.Revision = 2
		d.Title = "Tiêu đề đã sửa"
		docs[i] = c.put(d, []byte("nội dung"))
	}
	// Misplaced: 5..9 were reclassified in the store, and the index missed it.
	for i := 5; i < 10; i++ {
		d := docs[i]
		d.Revision = 2
		d.Level = (d.Level + 1) % access.Level(levelCount)
		docs[i] = c.put(d, []byte("nội dung"))
	}
	// Orphans: 10..12 were destroyed in the store.
	for i := 10; i < 13; i++ {
		c.remove(docs[i].ID)
	}

	rep, err := x.Repair(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Documents != 37 || rep.Indexed != 5+5+10 || rep.Removed != 3 || rep.Errors != 0 {
		t.Fatalf("repair: %+v", rep)
	}
	if got, want := allIDs(t, x), corpusIDs(c); !slices.Equal(got, want) {
		t.Fatalf("after repair the index holds %d documents, the corpus %d", len(got), len(want))
	}
	if got := find(t, x, reader("u", access.TopSecret), `"tieu de da sua"`); got.Total != 5 {
		t.Fatalf("%d revised titles found", got.Total)
	}
	// Every entry sits at its document's level and nowhere else.
	for _, d := range docs[5:10] {
		for _, lv := range x.levels {
			found, err := lv.idx.Document(d.ID.String())
			if err != nil {
				t.Fatal(err)
			}
			if (found != nil) != (lv.level == d.Level) {
				t.Fatalf("%s at level %v: found %v, document at %v", d.ID, lv.level, found != nil, d.Level)
			}
		}
	}
	rep, err = x.Repair(ctx, c)
	if err != nil || rep.Indexed != 0 || rep.Removed != 0 {
		t.Fatalf("second repair: %+v, %v", rep, err)
	}
}

// TestRepairRetriesText: content that could not be read is indexed on its
// metadata, marked, and read again by the next repair.
func TestRepairRetriesText(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(22, 1))
	mc := newMemCorpus()
	c := &flakyCorpus{memCorpus: mc, failed: map[archive.ID]bool{}}
	d := mc.put(testDoc(idFrom(r), access.Unclassified, "Biên bản họp"), []byte("quyết nghị đặc biệt"))
	x := openIndex(t, Config{}, c)
	s := reader("u", access.Unclassified)
	got := find(t, x, s, "bien ban")
	if got.Total != 1 || got.Hits[0].Text.Indexed || got.Hits[0].Text.Reason != "unavailable" || got.Hits[0].Text.MessageVI() == "" {
		t.Fatalf("first repair: %+v", got.Hits)
	}
	if got := find(t, x, s, "dac biet"); got.Total != 0 {
		t.Fatal("the body is indexed although it could not be read")
	}
	rep, err := x.Repair(ctx, c)
	if err != nil || rep.Indexed != 1 {
		t.Fatalf("second repair: %+v, %v", rep, err)
	}
	got = find(t, x, s, "dac biet")
	if got.Total != 1 || !got.Hits[0].Text.Indexed || got.Hits[0].Text.MessageVI() != "" {
		t.Fatalf("after the retry: %+v", got.Hits)
	}
	_ = d
}

// TestRepairIncompleteListing: when the corpus cannot be listed to the
// end, nothing is deleted and the index does not become ready.
func TestRepairIncompleteListing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(23, 1))
	c := newMemCorpus()
	for i := range 10 {
		c.put(testDoc(idFrom(r), access.Unclassified, "Tài liệu "+string(rune('a'+i))), nil)
	}
	x, err := Open(Config{Extract: extractOff})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	c.failList = errors.New("store unreachable")
	if _, err := x.Repair(ctx, c); err == nil {
		t.Fatal("repair with a broken listing succeeded")
	}
	if x.Ready() {
		t.Fatal("ready after an incomplete repair")
	}
	c.failList = nil
	if _, err := x.Repair(ctx, c); err != nil || !x.Ready() {
		t.Fatalf("repair: %v, ready %v", err, x.Ready())
	}
	// An integrity failure of one document does not stop the repair.
	c.failList = archive.ErrIntegrity
	rep, err := x.Repair(ctx, c)
	if err != nil || rep.Removed != 0 || rep.Errors != 1 || rep.Documents != 10 || !x.Ready() {
		t.Fatalf("repair past an integrity failure: %+v, %v", rep, err)
	}
}

// TestRebuildWithLiveWrites: a rebuild while documents are created,
// reclassified and destroyed ends with the index equal to the corpus.
func TestRebuildWithLiveWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(24, 1))
	c := newMemCorpus()
	for i := range 300 {
		c.put(testDoc(idFrom(r), access.Level(i%levelCount), "Hồ sơ lưu trữ"), bytes.Repeat([]byte("văn bản "), 50))
	}
	for _, dir := range []string{"", t.TempDir()} {
		// Batches of at most 16 documents or 2,000 bytes of text: about
		// four of these documents.
		x := openIndex(t, Config{Dir: dir, BatchSize: 16, BatchText: 2000, Workers: 3}, c)
		var wg sync.WaitGroup
		var rebuildErr error
		wg.Go(func() { _, rebuildErr = x.Rebuild(ctx, c) })
		wg.Go(func() {
			lr := rand.New(rand.NewPCG(25, 1))
			for i := range 60 {
				switch i % 3 {
				case 0:
					d := c.put(testDoc(idFrom(lr), access.Level(lr.IntN(levelCount)), "Tài liệu mới"), []byte("mới"))
					mustIndex(t, x, c, d)
				case 1:
					ids := corpusIDs(c)
					id, _ := archive.ParseID(ids[lr.IntN(len(ids))])
					c.mu.Lock()
					d := c.docs[id]
					c.mu.Unlock()
					d.Revision++
					d.Level = access.Level(lr.IntN(levelCount))
					d = c.put(d, []byte("đã chuyển"))
					mustIndex(t, x, c, d)
				case 2:
					ids := corpusIDs(c)
					id, _ := archive.ParseID(ids[lr.IntN(len(ids))])
					c.remove(id)
					if err := x.Remove(ctx, id); err != nil {
						t.Error(err)
					}
				}
			}
		})
		wg.Wait()
		if rebuildErr != nil {
			t.Fatal(rebuildErr)
		}
		if got, want := allIDs(t, x), corpusIDs(c); !slices.Equal(got, want) {
			t.Fatalf("dir %q: after the rebuild the index holds %d documents, the corpus %d", dir, len(got), len(want))
		}
		rep, err := x.Repair(ctx, c)
		if err != nil || rep.Indexed != 0 || rep.Removed != 0 {
			t.Fatalf("dir %q: repair after the rebuild: %+v, %v", dir, rep, err)
		}
	}
}

// TestArchiveService wires the index into a real archive.Service: what the
// service creates, reclassifies and revises is found at once, and the
// service's Corpus repairs an index that missed everything.
func TestArchiveService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.OpenFolder(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys, err := crypto.NewKeyring(cryptorand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := openIndex(t, Config{}, nil)
	svc, err := archive.New(archive.Config{Store: st, Keys: keys, Audit: discardAudit{}, Index: x})
	if err != nil {
		t.Fatal(err)
	}
	var _ Corpus = svc.Corpus()
	archivist := archive.Actor{Subject: access.Subject{ID: "archivist", Roles: []access.Role{access.Archivist}, Clearance: access.TopSecret}}
	officer := archive.Actor{Subject: access.Subject{ID: "officer", Roles: []access.Role{access.SecurityOfficer}, Clearance: access.TopSecret}}
	m := archive.Metadata{
		IssuingBody: "Văn phòng Trung ương Đảng", NumberSymbol: "15-NQ/TW",
		DateIssued: archive.Date{Year: 2025, Month: 3, Day: 14}, Type: archive.TypeResolution,
		Title: "Nghị quyết về công tác bảo vệ bí mật nhà nước", Level: access.Secret,
		StateSecretRef: "Danh mục BMNN, mục 3",
	}
	doc, err := svc.Create(ctx, archivist, m, archive.Upload{Content: bytes.NewReader([]byte("Đường lối đổi mới")), ContentType: "text/plain"})
	if err != nil {
		t.Fatal(err)
	}
	toi := reader("cadre", access.Secret)
	mat := reader("cadre2", access.Confidential)
	if got := find(t, x, toi, "duong loi"); !slices.Equal(ids(got), []string{doc.ID.String()}) {
		t.Fatalf("after create: %v", ids(got))
	}
	if got := find(t, x, mat, "duong loi"); got.Total != 0 {
		t.Fatalf("a Mật reader sees a Tối mật document: %v", got.Hits)
	}
	doc, err = svc.Reclassify(ctx, officer, doc.ID, archive.Reclassification{To: access.Confidential, Reason: "hạ độ mật", DecisionRef: "QĐ 1/2025"})
	if err != nil {
		t.Fatal(err)
	}
	if got := find(t, x, mat, "duong loi"); got.Total != 1 || got.Hits[0].Level != access.Confidential {
		t.Fatalf("after lowering: %+v", got.Hits)
	}

	// A fresh index repaired from the service's corpus holds the same.
	y := openIndex(t, Config{}, svc.Corpus())
	if got := find(t, y, mat, "duong loi"); got.Total != 1 || got.Hits[0].Level != access.Confidential {
		t.Fatalf("repaired from the corpus: %+v", got.Hits)
	}
	rep, err := y.Repair(ctx, svc.Corpus())
	if err != nil || rep.Indexed != 0 || rep.Documents != 1 {
		t.Fatalf("second repair: %+v, %v", rep, err)
	}
}

type discardAudit struct{}

func (discardAudit) Record(context.Context, archive.AuditEvent) error { return nil }

// TestBatcher checks that bulk batches respect both bounds: the number of
// documents, and the text, which bounds the memory Bleve's analysis takes.
func TestBatcher(t *testing.T) {
	sizes := func(batches [][]built) [][]int {
		var out [][]int
		for _, b := range batches {
			var s []int
			for _, e := range b {
				s = append(s, e.text)
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name         string
		max, maxText int
		texts        []int
		want         [][]int
	}{
		{"by count", 2, 100, []int{1, 1, 1, 1, 1}, [][]int{{1, 1}, {1, 1}, {1}}},
		{"by text", 10, 100, []int{60, 30, 20, 100, 1}, [][]int{{60, 30}, {20}, {100}, {1}}},
		{"a long document alone", 10, 100, []int{5, 500, 5}, [][]int{{5}, {500}, {5}}},
		{"one a batch", 1, 100, []int{5, 500, 5}, [][]int{{5}, {500}, {5}}},
		{"nothing", 4, 100, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt := batcher{max: tc.max, maxText: tc.maxText}
			var got [][]built
			for _, n := range tc.texts {
				if full := bt.add(built{text: n}); full != nil {
					got = append(got, full)
				}
			}
			if last := bt.rest(); len(last) > 0 {
				got = append(got, last)
			}
			if g := sizes(got); !reflect.DeepEqual(g, tc.want) {
				t.Fatalf("batches %v, want %v", g, tc.want)
			}
		})
	}
}
