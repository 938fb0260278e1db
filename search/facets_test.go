package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"khomat/archive"
	"khomat/archive/access"
)

// TestFacetsFollowChanges checks the facet counts, which come from arrays
// kept per index segment, against counts made from the documents
// themselves, while entries are added one segment at a time, updated
// (the old entry deleted in an older segment), moved between levels and
// removed, on disk and in memory.
func TestFacetsFollowChanges(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"disk", "memory"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			cfg := Config{}
			if dir == "disk" {
				cfg.Dir = t.TempDir()
			}
			x := openIndex(t, cfg, nil)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(5, 9))
			types := archive.DocTypes()
			docs := map[archive.ID]archive.Document{}
			write := func(d archive.Document) {
				if err := x.Index(ctx, d, nil); err != nil {
					t.Fatal(err)
				}
				docs[d.ID] = d
			}
			check := func(step string) {
				t.Helper()
				s := reader("u", access.Secret)
				res, err := x.Search(ctx, s, Request{Query: "văn", Facets: true})
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{}
				for _, d := range docs {
					if d.Level > s.Clearance {
						continue
					}
					want["l:"+d.Level.String()]++
					want["t:"+string(d.Type)]++
					want["i:"+d.IssuingBody]++
					want["y:"+strconv.Itoa(d.DateIssued.Year)]++
				}
				got := map[string]int{}
				for prefix, list := range map[string][]FacetCount{"l:": res.Facets.Levels, "t:": res.Facets.Types, "i:": res.Facets.Issuers, "y:": res.Facets.Years} {
					for _, c := range list {
						got[prefix+c.Value] = c.Count
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: facets\n got %v\nwant %v", step, got, want)
				}
			}
			var all []archive.ID
			for i := range 30 {
				d := testDoc(idFrom(r), access.Level(r.IntN(levelCount)), "văn bản "+strconv.Itoa(i))
				d.Type = types[r.IntN(len(types))]
				d.IssuingBody = benchIssuers[r.IntN(len(benchIssuers))]
				d.DateIssued.Year = 2015 + r.IntN(10)
				write(d)
				all = append(all, d.ID)
				if i%10 == 9 {
					check(fmt.Sprintf("after %d adds", i+1))
				}
			}
			for i, id := range all[:20] {
				d := docs[id]
				d.Revision++
				switch i % 3 {
				case 0:
					d.Type = types[r.IntN(len(types))]
				case 1:
					d.Level = access.Level(r.IntN(levelCount))
				case 2:
					d.DateIssued.Year = 2000
				}
				write(d)
			}
			check("after updates and moves")
			for _, id := range all[20:25] {
				if err := x.Remove(ctx, id); err != nil {
					t.Fatal(err)
				}
				delete(docs, id)
			}
			check("after removals")
		})
	}
}
