package search

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
)

// The no-leak oracle. For random corpora of levels, compartments and named
// recipients, and random queries, what a subject gets from the full index —
// ids, order, scores, total, facets, fragments — must equal what the same
// request returns from an index built from only the documents
// access.Decide lets that subject view. Anything a hidden document changed
// would show up as a difference.

// oracleWords have several spellings that fold alike, so that folding,
// exact-form ranking and phrases are all exercised.
var oracleWords = strings.Fields(`định đình dinh đính dạng dáng dang đường duong dương
	bảo vệ bí mật nghị quyết kế hoạch đảng ủy ban thường vụ công tác cán bộ tổ chức
	kinh tế quốc phòng an ninh đối ngoại văn phòng trung ương tỉnh huyện xã do đo đỏ
	đố dỗ hồ sơ lưu trữ quy quý quỹ chế chỉ thị kết luận 2024 15 nq tw`)

var oracleIssuers = []string{"Ban Chấp hành Trung ương", "Văn phòng Trung ương Đảng", "Ban Tổ chức Trung ương", "Tỉnh ủy Hà Nam", "Ban Tuyên giáo"}

var oracleCompartments = []string{"kinh-te", "quoc-phong", "doi-ngoai"}

var oracleUsers = []string{"u1", "u2", "u3", "u4", "u5"}

func words(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = oracleWords[r.IntN(len(oracleWords))]
	}
	return strings.Join(w, " ")
}

func someOf(r *rand.Rand, from []string, p float64) []string {
	var out []string
	for _, v := range from {
		if r.Float64() < p {
			out = append(out, v)
		}
	}
	return out
}

// randomDoc returns a random document and its content.
func randomDoc(r *rand.Rand) (archive.Document, []byte) {
	types := archive.DocTypes()
	d := testDoc(idFrom(r), access.Level(r.IntN(levelCount)), strings.ToUpper(words(r, 1)[:0])+words(r, 3+r.IntN(6)))
	d.IssuingBody = oracleIssuers[r.IntN(len(oracleIssuers))]
	d.NumberSymbol = fmt.Sprintf("%d-NQ/TW", r.IntN(50))
	d.Type = types[r.IntN(6)]
	d.DateIssued = archive.Date{Year: 2018 + r.IntN(8), Month: time.Month(1 + r.IntN(12)), Day: 1 + r.IntN(28)}
	d.Urgency = access.Urgency(r.IntN(4))
	if r.IntN(3) == 0 {
		d.Summary = words(r, 10+r.IntN(60))
	}
	d.Keywords = someOf(r, []string{"bảo mật", "kinh tế", "đối ngoại", "cán bộ"}, 0.25)
	if r.IntN(3) == 0 {
		d.Compartments = someOf(r, oracleCompartments, 0.5)
	}
	if r.IntN(6) == 0 {
		d.NamedRecipients = someOf(r, oracleUsers, 0.4)
		if len(d.NamedRecipients) == 0 {
			d.NamedRecipients = []string{"u9"}
		}
	}
	return d, []byte(words(r, 20+r.IntN(200)))
}

func randomSubject(r *rand.Rand) access.Subject {
	s := access.Subject{
		ID:           oracleUsers[r.IntN(len(oracleUsers))],
		Roles:        []access.Role{access.Reader},
		Clearance:    access.Level(r.IntN(levelCount)),
		Compartments: someOf(r, oracleCompartments, 0.5),
	}
	if r.IntN(4) == 0 {
		s.Roles = []access.Role{access.Archivist}
	}
	return s
}

// randomQuery returns a random query text, including attempts to widen
// access through field names.
func randomQuery(r *rand.Rand, docs []archive.Document) string {
	var parts []string
	for range 1 + r.IntN(3) {
		switch r.IntN(14) {
		case 0, 1, 2, 3:
			parts = append(parts, words(r, 1))
		case 4:
			parts = append(parts, Fold(words(r, 1)))
		case 5:
			// a phrase taken from a title, so that it matches something
			t := strings.Fields(docs[r.IntN(len(docs))].Title)
			i := r.IntN(len(t))
			j := min(len(t), i+2+r.IntN(2))
			p := strings.Join(t[i:j], " ")
			if r.IntN(2) == 0 {
				p = Fold(p)
			}
			parts = append(parts, `"`+p+`"`)
		case 6:
			w := Fold(words(r, 1))
			if len([]rune(w)) >= 2 {
				parts = append(parts, string([]rune(w)[:2])+"*")
			}
		case 7:
			parts = append(parts, "-"+words(r, 1))
		case 8:
			parts = append(parts, "level:"+access.Level(r.IntN(levelCount)).String())
		case 9:
			parts = append(parts, "loai:"+string(archive.DocTypes()[r.IntN(6)]))
		case 10:
			parts = append(parts, fmt.Sprintf("nam:%d", 2018+r.IntN(8)))
		case 11:
			parts = append(parts, `co_quan:"`+oracleIssuers[r.IntN(len(oracleIssuers))]+`"`)
		case 12:
			parts = append(parts, "title:"+words(r, 1))
		case 13:
			parts = append(parts, "khan:"+access.Urgency(r.IntN(4)).String())
		}
	}
	return strings.Join(parts, " ")
}

func randomRequest(r *rand.Rand, docs []archive.Document) Request {
	req := Request{Query: randomQuery(r, docs), Facets: true, Sort: Sort(r.IntN(4))}
	switch r.IntN(4) {
	case 0:
		req.Limit = 5
		req.Offset = r.IntN(10)
	case 1:
		req.Limit = 100
	}
	if r.IntN(5) == 0 {
		req.Levels = []access.Level{access.Level(r.IntN(levelCount))}
	}
	if r.IntN(6) == 0 {
		req.Issuers = []string{oracleIssuers[r.IntN(len(oracleIssuers))]}
	}
	if r.IntN(6) == 0 {
		req.From = archive.Date{Year: 2020, Month: 1, Day: 1}
		req.To = archive.Date{Year: 2023, Month: 6, Day: 30}
	}
	return req
}

// buildCorpus indexes docs into x with a history — reclassifications,
// revisions, removals — so that its internal layout differs from a fresh
// index of the same documents.
func buildCorpus(t *testing.T, r *rand.Rand, x *Index, c *memCorpus, n int) []archive.Document {
	t.Helper()
	ctx := context.Background()
	var docs []archive.Document
	for range n {
		d, body := randomDoc(r)
		if r.IntN(4) == 0 {
			// first indexed at another level, then moved
			early := d
			early.Level = access.Level(r.IntN(levelCount))
			early.Title = words(r, 4)
			early = c.put(early, []byte(words(r, 30)))
			if err := x.Index(ctx, early, c.opener(early)); err != nil {
				t.Fatal(err)
			}
			d.Revision = 2
		}
		d = c.put(d, body)
		if err := x.Index(ctx, d, c.opener(d)); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	// Some documents are destroyed.
	for range n / 20 {
		i := r.IntN(len(docs))
		if err := x.Remove(ctx, docs[i].ID); err != nil {
			t.Fatal(err)
		}
		c.remove(docs[i].ID)
		docs = slices.Delete(docs, i, i+1)
	}
	return docs
}

func TestOracleNoLeak(t *testing.T) {
	t.Parallel()
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			r := rand.New(rand.NewPCG(seed, 99))
			c := newMemCorpus()
			full := openIndex(t, Config{}, nil)
			docs := buildCorpus(t, r, full, c, 400)

			var nonzero, total int
			defer func() { t.Logf("%d of %d requests matched something", nonzero, total) }()
			for si := range 8 {
				s := randomSubject(r)
				visible := newMemCorpus()
				for _, d := range docs {
					if access.Decide(s, access.ViewMetadata, d.Resource()).Allow {
						b, _ := c.content[d.ID]
						visible.put(d, b)
					}
				}
				oracle := openIndex(t, Config{}, visible)
				for qi := range 40 {
					req := randomRequest(r, docs)
					got, gerr := full.Search(ctx, s, req)
					want, werr := oracle.Search(ctx, s, req)
					if (gerr == nil) != (werr == nil) {
						t.Fatalf("subject %d %+v, query %d %+v: errors differ: %v / %v", si, s, qi, req, gerr, werr)
					}
					if gerr != nil {
						var qe *QueryError
						if !errors.As(gerr, &qe) {
							t.Fatalf("query %q: %v", req.Query, gerr)
						}
						continue
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("subject %+v, request %+v:\n got %d %v\nwant %d %v\n got facets %+v\nwant facets %+v\n got %+v\nwant %+v",
							s, req, got.Total, ids(got), want.Total, ids(want), got.Facets, want.Facets, got.Hits, want.Hits)
					}
					if got.Total > 0 {
						nonzero++
					}
					total++
					for _, h := range got.Hits {
						d := c.docs[h.ID]
						if !access.Decide(s, access.ViewMetadata, d.Resource()).Allow {
							t.Fatalf("hit %s is not viewable by %+v", h.ID, s)
						}
					}
				}
			}
		})
	}
}

// TestFieldNamesCannotWiden checks that naming a field — an access field,
// Bleve's own, or a level above the clearance — never shows more.
func TestFieldNamesCannotWiden(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	c := newMemCorpus()
	x := openIndex(t, Config{}, nil)
	secret := testDoc(idFrom(r), access.TopSecret, "Kế hoạch tuyệt mật về quốc phòng")
	secret = c.put(secret, []byte("nội dung tuyệt mật"))
	compart := testDoc(idFrom(r), access.Unclassified, "Báo cáo kinh tế ngăn riêng")
	compart.Compartments = []string{"kinh-te"}
	compart = c.put(compart, []byte("kinh tế"))
	named := testDoc(idFrom(r), access.Unclassified, "Thư riêng cho đồng chí")
	named.NamedRecipients = []string{"u2"}
	named = c.put(named, []byte("thư riêng"))
	open := c.put(testDoc(idFrom(r), access.Unclassified, "Thông báo chung"), []byte("thông báo"))
	for _, d := range []archive.Document{secret, compart, named, open} {
		if err := x.Index(ctx, d, c.opener(d)); err != nil {
			t.Fatal(err)
		}
	}
	s := reader("u1", access.Unclassified)
	for _, q := range []string{
		"level:top_secret", "level:tuyet_mat", "do_mat:tuyet-mat quoc phong", "tuyet mat",
		"", "-level:unclassified", "*", "_id:" + secret.ID.String(), "acl:c:kinh-te", "acl:named",
		"kinh te", "thu rieng", "u2", "named", "c:kinh-te", `"kinh tế"`, "kinh*", "title:rieng",
		"_all:mat", "id:" + secret.ID.String(), secret.ID.String(),
	} {
		res, err := x.Search(ctx, s, Request{Query: q, Facets: true, Limit: 100})
		var qe *QueryError
		if errors.As(err, &qe) {
			continue // refusing the query is fine
		}
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		for _, h := range res.Hits {
			if h.ID != open.ID {
				t.Errorf("%q shows %s (%s)", q, h.ID, h.Title)
			}
		}
		if res.Total > 1 {
			t.Errorf("%q counts %d", q, res.Total)
		}
		for _, f := range [][]FacetCount{res.Facets.Levels, res.Facets.Types, res.Facets.Issuers, res.Facets.Years} {
			for _, fc := range f {
				if fc.Count > 1 || fc.Value == access.TopSecret.String() {
					t.Errorf("%q facets %+v", q, res.Facets)
				}
			}
		}
	}
	// The bare field names are errors, not silent matches.
	for _, q := range []string{"_id:x", "acl:x", "id:x", "_all:x", "content:x", "stamp:x"} {
		if _, err := x.Search(ctx, s, Request{Query: q}); !isQueryError(err) {
			t.Errorf("%q: got %v, want a QueryError", q, err)
		}
	}
	// No reading role, no search; an invalid clearance likewise.
	for _, s := range []access.Subject{
		{ID: "aud", Roles: []access.Role{access.Auditor}, Clearance: access.TopSecret},
		{ID: "adm", Roles: []access.Role{access.Admin}, Clearance: access.TopSecret},
		{ID: "bad", Roles: []access.Role{access.Reader}, Clearance: 9},
		{Roles: []access.Role{access.Reader}, Clearance: access.TopSecret},
	} {
		if _, err := x.Search(ctx, s, Request{}); !errors.Is(err, ErrForbidden) {
			t.Errorf("%+v: got %v, want ErrForbidden", s, err)
		}
	}
}

func isQueryError(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe)
}
