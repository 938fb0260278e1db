package search

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
)

// searchFixture is a small archive of known documents.
type searchFixture struct {
	x    *Index
	c    *memCorpus
	docs []archive.Document
}

func newSearchFixture(t *testing.T) *searchFixture {
	t.Helper()
	r := rand.New(rand.NewPCG(31, 1))
	f := &searchFixture{c: newMemCorpus(), x: openIndex(t, Config{}, nil)}
	add := func(level access.Level, typ archive.DocType, issuer, number string, date archive.Date, urgency access.Urgency, title, summary, body string, keywords ...string) {
		d := testDoc(idFrom(r), level, title)
		d.Type, d.IssuingBody, d.NumberSymbol, d.DateIssued, d.Urgency = typ, issuer, number, date, urgency
		d.Summary, d.Keywords = summary, keywords
		d = f.c.put(d, []byte(body))
		mustIndex(t, f.x, f.c, d)
		f.docs = append(f.docs, d)
	}
	day := func(y, m, d int) archive.Date { return archive.Date{Year: y, Month: time.Month(m), Day: d} }
	add(access.Unclassified, archive.TypeResolution, "Ban Chấp hành Trung ương", "15-NQ/TW", day(2022, 3, 1), access.UrgencyNone,
		"Nghị quyết về công tác cán bộ", "Tăng cường công tác cán bộ trong tình hình mới", "cán bộ đảng viên", "cán bộ")
	add(access.Confidential, archive.TypeDirective, "Ban Bí thư", "05-CT/TW", day(2023, 7, 9), access.Urgent,
		"Chỉ thị về bảo vệ bí mật nhà nước", "", "bảo vệ bí mật nhà nước trong cơ quan đảng", "bảo mật")
	add(access.Secret, archive.TypeReport, "Ban Tổ chức Trung ương", "234/BTCTW", day(2024, 1, 20), access.Flash,
		"Báo cáo tình hình tổ chức cơ sở đảng", "", "tổ chức cơ sở đảng ở địa phương")
	add(access.TopSecret, archive.TypeResolution, "Bộ Chính trị", "01-NQ/TW", day(2024, 11, 5), access.VeryUrgent,
		"Nghị quyết về quốc phòng", "", "quốc phòng an ninh", "quốc phòng")
	add(access.Unclassified, archive.TypeNotice, "Văn phòng Trung ương Đảng", "120-TB/VPTW", day(2021, 5, 30), access.UrgencyNone,
		"Thông báo lịch làm việc", strings.Repeat("nội dung dài ", 40)+"lịch làm việc tháng năm", "lịch công tác")
	add(access.Confidential, archive.TypeResolution, "Tỉnh ủy Hà Nam", "10-NQ/TU", day(2020, 2, 14), access.UrgencyNone,
		"Nghị quyết về phát triển kinh tế", "", "phát triển kinh tế địa phương cán bộ")
	return f
}

func (f *searchFixture) titles(res *Result) []string {
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Title)
	}
	return out
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	ctx := context.Background()
	top := reader("u", access.TopSecret)
	for _, tc := range []struct {
		name string
		req  Request
		want []string // titles, newest first unless relevance
	}{
		{"all newest first", Request{}, []string{"Nghị quyết về quốc phòng", "Báo cáo tình hình tổ chức cơ sở đảng", "Chỉ thị về bảo vệ bí mật nhà nước", "Nghị quyết về công tác cán bộ", "Thông báo lịch làm việc", "Nghị quyết về phát triển kinh tế"}},
		{"oldest first", Request{Sort: SortOldest, Limit: 2}, []string{"Nghị quyết về phát triển kinh tế", "Thông báo lịch làm việc"}},
		{"type filter", Request{Query: "loai:nghi-quyet"}, []string{"Nghị quyết về quốc phòng", "Nghị quyết về công tác cán bộ", "Nghị quyết về phát triển kinh tế"}},
		{"two types", Request{Query: "loai:nghi-quyet loai:chi-thi", Sort: SortOldest}, []string{"Nghị quyết về phát triển kinh tế", "Nghị quyết về công tác cán bộ", "Chỉ thị về bảo vệ bí mật nhà nước", "Nghị quyết về quốc phòng"}},
		{"excluded type", Request{Query: "-loai:nghi-quyet -loai:bao-cao"}, []string{"Chỉ thị về bảo vệ bí mật nhà nước", "Thông báo lịch làm việc"}},
		{"level", Request{Query: "do_mat:mat"}, []string{"Chỉ thị về bảo vệ bí mật nhà nước", "Nghị quyết về phát triển kinh tế"}},
		{"request levels", Request{Levels: []access.Level{access.Secret, access.TopSecret}}, []string{"Nghị quyết về quốc phòng", "Báo cáo tình hình tổ chức cơ sở đảng"}},
		{"year", Request{Query: "nam:2024"}, []string{"Nghị quyết về quốc phòng", "Báo cáo tình hình tổ chức cơ sở đảng"}},
		{"from to", Request{Query: "tu:01/01/2021 den:2023-07-09"}, []string{"Chỉ thị về bảo vệ bí mật nhà nước", "Nghị quyết về công tác cán bộ", "Thông báo lịch làm việc"}},
		{"request dates", Request{From: archive.Date{Year: 2023, Month: 1, Day: 1}}, []string{"Nghị quyết về quốc phòng", "Báo cáo tình hình tổ chức cơ sở đảng", "Chỉ thị về bảo vệ bí mật nhà nước"}},
		{"issuer words", Request{Query: `co_quan:"trung uong"`}, []string{"Báo cáo tình hình tổ chức cơ sở đảng", "Nghị quyết về công tác cán bộ", "Thông báo lịch làm việc"}},
		{"issuer exact", Request{Issuers: []string{"Ban Bí thư", "Bộ Chính trị"}}, []string{"Nghị quyết về quốc phòng", "Chỉ thị về bảo vệ bí mật nhà nước"}},
		{"number", Request{Query: "so:15-NQ/TW"}, []string{"Nghị quyết về công tác cán bộ"}},
		{"number part", Request{Query: "so:nq"}, []string{"Nghị quyết về quốc phòng", "Nghị quyết về công tác cán bộ", "Nghị quyết về phát triển kinh tế"}},
		{"keyword", Request{Query: `tu_khoa:"quoc phong"`}, []string{"Nghị quyết về quốc phòng"}},
		{"urgency", Request{Query: "khan:hoa-toc"}, []string{"Báo cáo tình hình tổ chức cơ sở đảng"}},
		{"title only", Request{Query: "title:can bo"}, []string{"Nghị quyết về công tác cán bộ"}},
		{"word anywhere", Request{Query: "can bo", Sort: SortNewest}, []string{"Nghị quyết về công tác cán bộ", "Nghị quyết về phát triển kinh tế"}},
		{"exclusion", Request{Query: "nghi quyet -quoc", Sort: SortNewest}, []string{"Nghị quyết về công tác cán bộ", "Nghị quyết về phát triển kinh tế"}},
		{"phrase exclusion", Request{Query: `nghi quyet -"phat trien"`, Sort: SortNewest}, []string{"Nghị quyết về quốc phòng", "Nghị quyết về công tác cán bộ"}},
		{"prefix", Request{Query: "bao*", Sort: SortNewest}, []string{"Báo cáo tình hình tổ chức cơ sở đảng", "Chỉ thị về bảo vệ bí mật nhà nước", "Thông báo lịch làm việc"}},
		{"prefix of two letters", Request{Query: "ph* loai:nghi-quyet"}, []string{"Nghị quyết về quốc phòng", "Nghị quyết về phát triển kinh tế"}},
		{"summary words", Request{Query: "tang cuong"}, []string{"Nghị quyết về công tác cán bộ"}},
		{"filters and words", Request{Query: "nghi quyet nam:2022"}, []string{"Nghị quyết về công tác cán bộ"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.x.Search(ctx, top, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.titles(res); !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if res.Total != len(tc.want) && tc.req.Limit == 0 {
				t.Errorf("total %d, want %d", res.Total, len(tc.want))
			}
		})
	}
}

func TestSearchRelevance(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	top := reader("u", access.TopSecret)
	// Title matches rank above body matches.
	res := find(t, f.x, top, "kinh te")
	if len(res.Hits) != 1 {
		t.Fatalf("%q", f.titles(res))
	}
	res = find(t, f.x, top, "can bo")
	if got := f.titles(res); !slices.Equal(got, []string{"Nghị quyết về công tác cán bộ", "Nghị quyết về phát triển kinh tế"}) {
		t.Errorf("title match not first: %q", got)
	}
	for _, h := range res.Hits {
		if h.Score <= 0 {
			t.Errorf("score %v", h.Score)
		}
	}
	// Sorted by date, there are no scores.
	res, err := f.x.Search(context.Background(), top, Request{Query: "can bo", Sort: SortNewest})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if h.Score != 0 {
			t.Errorf("score %v when sorted by date", h.Score)
		}
	}
}

func TestSearchFacets(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	res, err := f.x.Search(context.Background(), reader("u", access.Secret), Request{Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	want := &Facets{
		Levels: []FacetCount{{"confidential", 2}, {"unclassified", 2}, {"secret", 1}},
		Types:  []FacetCount{{"resolution", 2}, {"directive", 1}, {"notice", 1}, {"report", 1}},
		Issuers: []FacetCount{{"Ban Bí thư", 1}, {"Ban Chấp hành Trung ương", 1}, {"Ban Tổ chức Trung ương", 1},
			{"Tỉnh ủy Hà Nam", 1}, {"Văn phòng Trung ương Đảng", 1}},
		Years: []FacetCount{{"2024", 1}, {"2023", 1}, {"2022", 1}, {"2021", 1}, {"2020", 1}},
	}
	if fmt.Sprint(res.Facets) != fmt.Sprint(want) {
		t.Errorf("facets\n got %+v\nwant %+v", res.Facets, want)
	}
	if res.Total != 5 {
		t.Errorf("total %d", res.Total)
	}
	// Without the flag there are none.
	res, _ = f.x.Search(context.Background(), reader("u", access.Secret), Request{})
	if res.Facets != nil {
		t.Error("facets without asking")
	}
}

func TestSearchHighlights(t *testing.T) {
	t.Parallel()
	f := newSearchFixture(t)
	top := reader("u", access.TopSecret)
	res := find(t, f.x, top, "lich lam*")
	if len(res.Hits) != 1 {
		t.Fatalf("%d hits", len(res.Hits))
	}
	h := res.Hits[0]
	if len(h.Fragments) != 2 {
		t.Fatalf("fragments %+v", h.Fragments)
	}
	title := h.Fragments[0]
	if title.Field != "title" || title.Text != "Thông báo lịch làm việc" {
		t.Fatalf("title fragment %+v", title)
	}
	var marked []string
	for _, m := range title.Marks {
		marked = append(marked, title.Text[m.Start:m.End])
	}
	if !slices.Equal(marked, []string{"lịch", "làm"}) {
		t.Errorf("marked %q", marked)
	}
	sum := h.Fragments[1]
	if sum.Field != "summary" || !strings.HasPrefix(sum.Text, "…") || len(sum.Text) > fragmentLength+2*len("…")+8 {
		t.Errorf("summary fragment %q", sum.Text)
	}
	for _, m := range sum.Marks {
		if w := Fold(sum.Text[m.Start:m.End]); w != "lich" && !strings.HasPrefix(w, "lam") {
			t.Errorf("summary mark %q", sum.Text[m.Start:m.End])
		}
	}
	// Exclusions and filters are not highlighted.
	res = find(t, f.x, top, "nghi quyet -quoc loai:nghi-quyet")
	for _, h := range res.Hits {
		for _, fr := range h.Fragments {
			for _, m := range fr.Marks {
				if w := Fold(fr.Text[m.Start:m.End]); w != "nghi" && w != "quyet" {
					t.Errorf("marked %q", w)
				}
			}
		}
	}
}

func TestSearchPagingAndTies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(32, 1))
	c := newMemCorpus()
	x := openIndex(t, Config{}, nil)
	// 150 documents that every query here scores alike, across levels and
	// dates, so that ties run far past the margin and the tie-breaker
	// decides the order.
	for i := range 150 {
		d := testDoc(idFrom(r), access.Level(i%levelCount), "Công văn hành chính")
		d.DateIssued = archive.Date{Year: 2020 + i%3, Month: 1, Day: 1 + i%5}
		d = c.put(d, []byte("hành chính"))
		mustIndex(t, x, c, d)
	}
	s := reader("u", access.TopSecret)
	for _, q := range []string{"cong van", "hanh*", ""} {
		for _, sort := range []Sort{SortRelevance, SortNewest, SortOldest} {
			full, err := x.Search(ctx, s, Request{Query: q, Sort: sort, Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			all := ids(full)
			rest, err := x.Search(ctx, s, Request{Query: q, Sort: sort, Offset: MaxLimit, Limit: MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, ids(rest)...)
			if len(all) != 150 || full.Total != 150 {
				t.Fatalf("%q %v: %d ids, total %d", q, sort, len(all), full.Total)
			}
			// Pages of every size put together give the same order.
			for _, size := range []int{1, 7, 20, 33} {
				var paged []string
				for off := 0; off < 150; off += size {
					res, err := x.Search(ctx, s, Request{Query: q, Sort: sort, Offset: off, Limit: size})
					if err != nil {
						t.Fatal(err)
					}
					paged = append(paged, ids(res)...)
				}
				if !slices.Equal(paged, all) {
					t.Fatalf("%q %v: pages of %d differ from the whole", q, sort, size)
				}
			}
			// The order is by date (newest first unless asked), then id key.
			var keys []float64
			for off := 0; off < 150; off += MaxLimit {
				res, _ := x.Search(ctx, s, Request{Query: q, Sort: sort, Offset: off, Limit: MaxLimit})
				for _, h := range res.Hits {
					keys = append(keys, orderKey(h.DateIssued, h.ID))
				}
			}
			sorted := slices.IsSortedFunc(keys, func(a, b float64) int {
				if sort == SortOldest {
					return compare(a, b)
				}
				return compare(b, a)
			})
			if !sorted {
				t.Fatalf("%q %v: not in tie-breaker order", q, sort)
			}
		}
	}
}

func compare(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestSearchRequestErrors(t *testing.T) {
	t.Parallel()
	x := openIndex(t, Config{}, nil)
	s := reader("u", access.TopSecret)
	for _, req := range []Request{
		{Limit: MaxLimit + 1},
		{Limit: -1},
		{Offset: -1},
		{Offset: MaxWindow},
		{Sort: 9},
		{Query: `"open`},
	} {
		_, err := x.Search(context.Background(), s, req)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("%+v: %v, want a *QueryError", req, err)
		}
	}
	for _, in := range []string{"", "auto", "relevance", "newest", "date", "oldest", "NEWEST"} {
		if _, err := ParseSort(in); err != nil {
			t.Errorf("ParseSort(%q): %v", in, err)
		}
	}
	if _, err := ParseSort("random"); !isQueryError(err) {
		t.Errorf("ParseSort(random): %v", err)
	}
}

// TestAdjacentWordsRankFirst: words typed one after the other rank the
// documents where they stand side by side above those where they are apart.
func TestAdjacentWordsRankFirst(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(33, 1))
	c := newMemCorpus()
	x := openIndex(t, Config{}, nil)
	apart := c.put(testDoc(idFrom(r), access.Unclassified, "Đường về làng và lối đi"), nil)
	side := c.put(testDoc(idFrom(r), access.Unclassified, "Về đường lối đổi mới của Đảng ta hiện nay"), nil)
	mustIndex(t, x, c, apart)
	mustIndex(t, x, c, side)
	got := ids(find(t, x, reader("u", access.Unclassified), "duong loi"))
	if !slices.Equal(got, []string{side.ID.String(), apart.ID.String()}) {
		t.Errorf("order %v, want the adjacent words first", got)
	}
}
