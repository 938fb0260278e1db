package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/mapping"

	"khomat/archive"
	"khomat/archive/access"
)

// The search benchmarks, run with
//
//	go test -tags fts5 -run='^$' -bench='Search' -benchtime=1x -timeout=60m ./search/
//
// index KHOMAT_BENCH_DOCS documents (100,000 by default) of about 2 KB,
// then time the fixed query sets below and the recall of diacritic-free
// queries. With -tags fts5, BenchmarkSearchFTS5 (fts5_bench_test.go) does
// the same with SQLite FTS5 on the same corpus, as the peer a user might
// pick instead; BenchmarkSearchBleveFloor indexes it with Bleve alone.
// Figures are in docs/BENCHMARKS.md.

// benchDocs is how many documents the benchmarks index.
func benchDocs(b *testing.B) int {
	if v := os.Getenv("KHOMAT_BENCH_DOCS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("KHOMAT_BENCH_DOCS=%q: want a number ≥ 100", v)
		}
		return n
	}
	return 100000
}

// benchBodySize is the body of a benchmark document, in bytes.
const benchBodySize = 2000

// benchCorpus is the generated corpus: documents, bodies, and the fixed
// query sets drawn from the same generator.
type benchCorpus struct {
	docs   []archive.Document
	bodies []string
	bytes  int
}

func newBenchCorpus(b *testing.B) *benchCorpus {
	b.Helper()
	g := loadCorpus(b, 1)
	n := benchDocs(b)
	bc := &benchCorpus{docs: make([]archive.Document, n), bodies: make([]string, n)}
	for i := range n {
		d, body := g.doc(i, benchBodySize)
		// A few documents are for one compartment or for named recipients,
		// so that the access filter has work to do.
		switch i % 100 {
		case 7, 31, 77:
			d.Compartments = []string{"kinh-te"}
		case 50:
			d.NamedRecipients = []string{"u9"}
		}
		bc.docs[i], bc.bodies[i] = d, body
		bc.bytes += len(body) + len(d.Title)
	}
	return bc
}

// benchQueries are the query sets: text as a cadre types it, in fixed
// order.
type benchQueries struct {
	word, phrase, filtered []string
}

// queryLevel and the date range of the filtered set.
const (
	benchFilterLevel = "mat"
	benchFilterFrom  = "2010-01-01"
	benchFilterTo    = "2014-12-31"
)

func newBenchQueries(b *testing.B) benchQueries {
	b.Helper()
	g := loadCorpus(b, 1)
	r := rand.New(rand.NewPCG(7, 7))
	var q benchQueries
	// Content words: ranks 20 to 2000 of the syllable distribution, half
	// typed with their marks, half without.
	word := func(i int) string {
		w := g.words[20+r.IntN(1980)]
		if i%2 == 1 {
			w = Fold(w)
		}
		return w
	}
	for i := range 200 {
		q.word = append(q.word, word(i))
	}
	// Two-word phrases: half compound words of the register, half word
	// pairs of generated prose; half typed without marks.
	for i := range 200 {
		var p string
		if i%2 == 0 {
			parts := strings.Split(compounds[r.IntN(len(compounds))], "_")
			j := r.IntN(len(parts) - 1)
			p = parts[j] + " " + parts[j+1]
		} else {
			ws := strings.Fields(strings.ReplaceAll(g.text(80), ".", ""))
			j := r.IntN(len(ws) - 1)
			p = ws[j] + " " + ws[j+1]
		}
		if i%4 >= 2 {
			p = Fold(p)
		}
		q.phrase = append(q.phrase, `"`+p+`"`)
	}
	for i := range 200 {
		q.filtered = append(q.filtered, fmt.Sprintf("%s level:%s tu:%s den:%s", word(i), benchFilterLevel, benchFilterFrom, benchFilterTo))
	}
	return q
}

// recallQueries are what a cadre types without marks, and the words they
// mean. The first ones have đ, which FTS5's unicode61 does not fold.
var recallQueries = []struct{ typed, meant string }{
	{"duong loi", "đường lối"}, {"dang uy", "đảng ủy"}, {"dai hoi", "đại hội"}, {"dieu le", "điều lệ"},
	{"dinh dang", "định dạng"}, {"don vi", "đơn vị"}, {"dao tao", "đào tạo"}, {"dot xuat", "đột xuất"},
	{"danh gia", "đánh giá"}, {"de an", "đề án"}, {"du thao", "dự thảo"}, {"dia phuong", "địa phương"},
	{"dieu hanh", "điều hành"}, {"doan ket", "đoàn kết"}, {"doi ngoai", "đối ngoại"},
	{"nghi quyet", "nghị quyết"}, {"chi thi", "chỉ thị"}, {"bao cao", "báo cáo"}, {"ke hoach", "kế hoạch"},
	{"to chuc", "tổ chức"}, {"kiem tra", "kiểm tra"}, {"giam sat", "giám sát"}, {"can bo", "cán bộ"},
}

// relevant returns, for each recall query, the set of document indexes
// whose title or body holds the meant words side by side.
func (bc *benchCorpus) relevant() []map[int]bool {
	out := make([]map[int]bool, len(recallQueries))
	var wg sync.WaitGroup
	for qi, q := range recallQueries {
		out[qi] = map[int]bool{}
		wg.Go(func() {
			for i, d := range bc.docs {
				if strings.Contains(strings.ToLower(d.Title), q.meant) || strings.Contains(bc.bodies[i], q.meant) {
					out[qi][i] = true
				}
			}
		})
	}
	wg.Wait()
	return out
}

// recallAt10 is |top ∩ relevant| / min(10, |relevant|).
func recallAt10(top []int, relevant map[int]bool) float64 {
	if len(relevant) == 0 {
		return 1
	}
	hit := 0
	for _, i := range top {
		if relevant[i] {
			hit++
		}
	}
	return float64(hit) / float64(min(10, len(relevant)))
}

// percentile returns the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}

func reportLatency(b *testing.B, ds []time.Duration) {
	b.ReportMetric(float64(percentile(ds, 50))/1e6, "p50-ms")
	b.ReportMetric(float64(percentile(ds, 99))/1e6, "p99-ms")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkSearchKhomat(b *testing.B) {
	bc := newBenchCorpus(b)
	qs := newBenchQueries(b)
	ctx := context.Background()
	mc := newMemCorpus()
	for i, d := range bc.docs {
		bc.docs[i] = mc.put(d, []byte(bc.bodies[i]))
	}
	x, err := Open(Config{Dir: b.TempDir(), Extract: extractOff})
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	if _, err := x.Repair(ctx, newMemCorpus()); err != nil {
		b.Fatal(err)
	}

	b.Run("index", func(b *testing.B) {
		start := time.Now()
		rep, err := x.Rebuild(ctx, mc)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start).Seconds()
		if rep.Indexed != len(bc.docs) {
			b.Fatalf("indexed %d of %d", rep.Indexed, len(bc.docs))
		}
		b.ReportMetric(float64(len(bc.docs))/el, "docs/s")
		b.ReportMetric(float64(bc.bytes)/1e6/el, "MB/s")
		b.ReportMetric(float64(dirSize(x.cfg.Dir))/float64(bc.bytes), "size/text")
		b.ReportMetric(0, "ns/op")
	})

	s := access.Subject{ID: "u1", Roles: []access.Role{access.Reader}, Clearance: access.TopSecret}
	run := func(queries []string, facets bool) []time.Duration {
		ds := make([]time.Duration, 0, len(queries))
		for _, q := range queries {
			start := time.Now()
			if _, err := x.Search(ctx, s, Request{Query: q, Facets: facets}); err != nil {
				b.Fatalf("%q: %v", q, err)
			}
			ds = append(ds, time.Since(start))
		}
		return ds
	}
	// One pass first: the index merges its last segments after the
	// rebuild, and a cold page cache is not what is measured.
	run(qs.word, false)
	run(qs.phrase, false)
	for _, set := range []struct {
		name    string
		queries []string
	}{{"word", qs.word}, {"phrase", qs.phrase}, {"word+level+date", qs.filtered}} {
		for _, facets := range []bool{false, true} {
			name := set.name
			if facets {
				name += "+facets"
			}
			b.Run(name, func(b *testing.B) { reportLatency(b, run(set.queries, facets)) })
		}
	}

	b.Run("recall", func(b *testing.B) {
		rel := bc.relevant()
		index := map[archive.ID]int{}
		for i, d := range bc.docs {
			index[d.ID] = i
		}
		var withD, without, nd, nn float64
		for qi, q := range recallQueries {
			res, err := x.Search(ctx, s, Request{Query: q.typed, Limit: 10})
			if err != nil {
				b.Fatal(err)
			}
			var top []int
			for _, h := range res.Hits {
				top = append(top, index[h.ID])
			}
			r := recallAt10(top, rel[qi])
			if strings.Contains(q.meant, "đ") {
				withD, nd = withD+r, nd+1
			} else {
				without, nn = without+r, nn+1
			}
		}
		b.ReportMetric(withD/nd, "recall@10-đ")
		b.ReportMetric(without/nn, "recall@10-other")
		b.ReportMetric(0, "ns/op")
	})
}

// dirSize returns the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	var walk func(string)
	walk = func(p string) {
		entries, err := os.ReadDir(p)
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.IsDir() {
				walk(p + "/" + e.Name())
				continue
			}
			if info, err := e.Info(); err == nil {
				n += info.Size()
			}
		}
	}
	walk(dir)
	return n
}

// BenchmarkIndexOne times the live path: one document indexed as the
// archive service does after a create.
func BenchmarkIndexOne(b *testing.B) {
	g := loadCorpus(b, 2)
	c := newMemCorpus()
	x := openIndex(b, Config{Dir: b.TempDir()}, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		d, body := g.doc(i, benchBodySize)
		d = c.put(d, []byte(body))
		if err := x.Index(ctx, d, c.opener(d)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseQuery times the parser on a query with every kind of
// clause.
func BenchmarkParseQuery(b *testing.B) {
	for b.Loop() {
		if _, err := ParseQuery(`nghị quyết "bảo vệ bí mật" -dự quy* loai:chi-thi co_quan:"Ban Tổ chức" tu:01/01/2020`); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyze times the analyzer on a 2 KB body.
func BenchmarkAnalyze(b *testing.B) {
	g := loadCorpus(b, 3)
	text := []byte(g.text(benchBodySize))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		viAnalyzer{}.Analyze(text)
	}
}

// BenchmarkSearchBleveFloor indexes the same corpus with Bleve alone, none
// of Khomat's code: its standard analyzer (no folding, no exact forms, no
// word pairs), nothing stored, no doc values, two writers sending batches of
// 1,024 as Rebuild does. It is the floor for any index built on Bleve, to
// set beside BenchmarkSearchFTS5's indexing figure in the same run. The
// "positions" variant keeps term vectors, which Bleve's phrase queries and
// highlights need; "bare" does not.
func BenchmarkSearchBleveFloor(b *testing.B) {
	bc := newBenchCorpus(b)
	for _, positions := range []bool{false, true} {
		name := "bare"
		if positions {
			name = "positions"
		}
		b.Run(name, func(b *testing.B) {
			text := func() *mapping.FieldMapping {
				f := bleve.NewTextFieldMapping()
				f.Analyzer = standard.Name
				f.Store, f.DocValues, f.IncludeInAll = false, false, false
				f.IncludeTermVectors = positions
				return f
			}
			dm := bleve.NewDocumentStaticMapping()
			dm.AddFieldMappingsAt("title", text())
			dm.AddFieldMappingsAt("body", text())
			m := bleve.NewIndexMapping()
			m.DefaultMapping = dm
			m.StoreDynamic, m.IndexDynamic, m.DocValuesDynamic = false, false, false
			dir := b.TempDir() + "/floor.bleve"
			idx, err := bleve.New(dir, m)
			if err != nil {
				b.Fatal(err)
			}
			defer idx.Close()

			start := time.Now()
			batches := make(chan []int)
			var wg sync.WaitGroup
			var failed error
			var mu sync.Mutex
			for range 2 {
				wg.Go(func() {
					for ids := range batches {
						batch := idx.NewBatch()
						for _, i := range ids {
							doc := map[string]string{"title": bc.docs[i].Title, "body": bc.bodies[i]}
							if err := batch.Index(strconv.Itoa(i), doc); err != nil {
								mu.Lock()
								failed = err
								mu.Unlock()
							}
						}
						if err := idx.Batch(batch); err != nil {
							mu.Lock()
							failed = err
							mu.Unlock()
						}
					}
				})
			}
			for lo := 0; lo < len(bc.docs); lo += 1024 {
				ids := make([]int, 0, 1024)
				for i := lo; i < min(lo+1024, len(bc.docs)); i++ {
					ids = append(ids, i)
				}
				batches <- ids
			}
			close(batches)
			wg.Wait()
			el := time.Since(start).Seconds()
			if failed != nil {
				b.Fatal(failed)
			}
			if n, err := idx.DocCount(); err != nil || int(n) != len(bc.docs) {
				b.Fatalf("indexed %d of %d: %v", n, len(bc.docs), err)
			}
			b.ReportMetric(float64(len(bc.docs))/el, "docs/s")
			b.ReportMetric(float64(bc.bytes)/1e6/el, "MB/s")
			b.ReportMetric(float64(dirSize(dir))/float64(bc.bytes), "size/text")
			b.ReportMetric(0, "ns/op")
		})
	}
}
