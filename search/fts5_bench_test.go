//go:build fts5

package search

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the FTS5 peer; test-only, and only with -tags fts5
)

// BenchmarkSearchFTS5 is the peer of BenchmarkSearchKhomat: SQLite FTS5
// with the unicode61 tokenizer and remove_diacritics 2, through
// modernc.org/sqlite, on the same corpus and queries. It is behind the
// fts5 build tag so that plain `go test` does not compile SQLite.
func BenchmarkSearchFTS5(b *testing.B) {
	bc := newBenchCorpus(b)
	qs := newBenchQueries(b)
	ctx := context.Background()
	dir := b.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "fts.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{`PRAGMA journal_mode=WAL`, `PRAGMA synchronous=NORMAL`} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("index", func(b *testing.B) {
		// Anew at each run (-count), as Khomat's rebuild is.
		for _, stmt := range []string{
			`DROP TABLE IF EXISTS docs`,
			`CREATE VIRTUAL TABLE docs USING fts5(title, body, level UNINDEXED, date UNINDEXED, tokenize='unicode61 remove_diacritics 2')`,
		} {
			if _, err := db.ExecContext(ctx, stmt); err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		var tx *sql.Tx
		var ins *sql.Stmt
		for i, d := range bc.docs {
			if i%1000 == 0 {
				if tx != nil {
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
				tx, _ = db.BeginTx(ctx, nil)
				ins, err = tx.PrepareContext(ctx, `INSERT INTO docs(rowid, title, body, level, date) VALUES (?, ?, ?, ?, ?)`)
				if err != nil {
					b.Fatal(err)
				}
			}
			if _, err := ins.ExecContext(ctx, i, d.Title, bc.bodies[i], d.Level.String(), int(dateNumber(d.DateIssued))); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start).Seconds()
		b.ReportMetric(float64(len(bc.docs))/el, "docs/s")
		b.ReportMetric(float64(bc.bytes)/1e6/el, "MB/s")
		b.ReportMetric(float64(dirSize(dir))/float64(bc.bytes), "size/text")
		b.ReportMetric(0, "ns/op")
	})

	// match turns what a cadre types into an FTS5 query: each word or
	// phrase quoted, the filters of the filtered set taken out.
	match := func(q string) (expr string, filtered bool) {
		if i := strings.Index(q, " level:"); i >= 0 {
			q, filtered = q[:i], true
		}
		if strings.HasPrefix(q, `"`) {
			return q, filtered
		}
		var parts []string
		for _, w := range strings.Fields(q) {
			parts = append(parts, `"`+w+`"`)
		}
		return strings.Join(parts, " "), filtered
	}
	// Each query returns what Khomat's does: the first page and the total.
	page, _ := db.PrepareContext(ctx, `SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 20`)
	count, _ := db.PrepareContext(ctx, `SELECT count(*) FROM docs WHERE docs MATCH ?`)
	fpage, _ := db.PrepareContext(ctx, `SELECT rowid FROM docs WHERE docs MATCH ? AND level = 'confidential' AND date BETWEEN 20100101 AND 20141231 ORDER BY rank LIMIT 20`)
	fcount, _ := db.PrepareContext(ctx, `SELECT count(*) FROM docs WHERE docs MATCH ? AND level = 'confidential' AND date BETWEEN 20100101 AND 20141231`)
	run := func(queries []string) []time.Duration {
		ds := make([]time.Duration, 0, len(queries))
		for _, q := range queries {
			expr, filtered := match(q)
			p, c := page, count
			if filtered {
				p, c = fpage, fcount
			}
			start := time.Now()
			rows, err := p.QueryContext(ctx, expr)
			if err != nil {
				b.Fatalf("%q: %v", expr, err)
			}
			for rows.Next() {
				var id int
				rows.Scan(&id)
			}
			rows.Close()
			var n int
			if err := c.QueryRowContext(ctx, expr).Scan(&n); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		return ds
	}
	run(qs.word)
	run(qs.phrase)
	for _, set := range []struct {
		name    string
		queries []string
	}{{"word", qs.word}, {"phrase", qs.phrase}, {"word+level+date", qs.filtered}} {
		b.Run(set.name, func(b *testing.B) { reportLatency(b, run(set.queries)) })
	}

	b.Run("recall", func(b *testing.B) {
		rel := bc.relevant()
		top10, _ := db.PrepareContext(ctx, `SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY rank LIMIT 10`)
		var withD, without, nd, nn float64
		for qi, q := range recallQueries {
			expr, _ := match(q.typed)
			rows, err := top10.QueryContext(ctx, expr)
			if err != nil {
				b.Fatal(err)
			}
			var top []int
			for rows.Next() {
				var id int
				rows.Scan(&id)
				top = append(top, id)
			}
			rows.Close()
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
