package search

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/registry"
	"golang.org/x/text/unicode/norm"

	"khomat/archive/access"
)

func TestFold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Định dạng", "dinh dang"},
		{norm.NFD.String("Định dạng"), "dinh dang"},
		{"ĐƯỜNG LỐI", "duong loi"},
		{"đường", "duong"},
		{"Hòa bình, Hoà bình", "hoa binh, hoa binh"},
		{"Nguyễn Ái Quốc", "nguyen ai quoc"},
		{"Tuyệt mật — 15-NQ/TW", "tuyet mat — 15-nq/tw"},
		{"ơ ư ă â ê ô", "o u a a e o"},
		{"café naïve straße", "cafe naive straße"},
		{"", ""},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAnalyzeTokens(t *testing.T) {
	t.Parallel()
	a, err := registry.NewCache().AnalyzerNamed(AnalyzerName)
	if err != nil {
		t.Fatalf("the analyzer is not registered: %v", err)
	}
	var got []string
	for _, tok := range a.Analyze([]byte("Bảo vệ bí mật, NHÀ nước 2024")) {
		got = append(got, string(tok.Term))
	}
	want := []string{
		"bảo", "bao",
		"vệ", "ve", "_bao ve",
		"bí", "bi", "_ve bi",
		"mật", "mat", "_bi mat",
		"nhà", "nha", "_mat nha",
		"nước", "nuoc", "_nha nuoc",
		"2024", "_nuoc 2024",
	}
	if !slices.Equal(got, want) {
		t.Errorf("tokens\n got %q\nwant %q", got, want)
	}

	// NFD input gives the same tokens as NFC.
	nfd := a.Analyze([]byte(norm.NFD.String("Định dạng văn bản")))
	nfc := a.Analyze([]byte("Định dạng văn bản"))
	if len(nfd) != len(nfc) {
		t.Fatalf("NFD gives %d tokens, NFC %d", len(nfd), len(nfc))
	}
	for i := range nfd {
		if string(nfd[i].Term) != string(nfc[i].Term) || nfd[i].Position != nfc[i].Position {
			t.Errorf("token %d: NFD %q@%d, NFC %q@%d", i, nfd[i].Term, nfd[i].Position, nfc[i].Term, nfc[i].Position)
		}
	}

	// An absurdly long run of letters is not a word, and breaks the pairs.
	long := strings.Repeat("a", maxTermBytes+1)
	for _, tok := range a.Analyze([]byte("một " + long + " hai")) {
		if len(tok.Term) > maxTermBytes || strings.Contains(string(tok.Term), "mot hai") {
			t.Errorf("unexpected token %q", tok.Term)
		}
	}
}

// TestAnalyzeNoPanic feeds the analyzer random bytes, invalid UTF-8 and
// lone combining marks included.
func TestAnalyzeNoPanic(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"\u0301", "\u0323", "đ", "Đ", "a", " ", "\xff", "\xe1\xbb", "ệ", "-", "1", "\u200b", "𝔘"}
	for range 2000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		viAnalyzer{}.Analyze([]byte(b.String()))
		Fold(b.String())
		analyze(b.String())
	}
}

// TestMatchWithAndWithoutMarks checks the promise of DOMAIN.md: text typed
// with or without marks, đ included, NFC or NFD, finds the same documents,
// and exact forms rank first.
func TestMatchWithAndWithoutMarks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	c := newMemCorpus()
	x := openIndex(t, Config{}, nil)
	exact := c.put(testDoc(idFrom(r), access.Unclassified, "Quy định định dạng văn bản"), []byte("đường lối"))
	other := c.put(testDoc(idFrom(r), access.Unclassified, "Đình làng và dáng dấp"), []byte("đình dáng đương"))
	// The folded-only document has the words more often and is shorter,
	// so it would win on frequency alone.
	other.Title = "Đình đình đình dáng dáng"
	other = c.put(other, []byte("đình dáng"))
	for _, d := range []any{exact, other} {
		_ = d
	}
	if err := x.Index(ctx, exact, c.opener(exact)); err != nil {
		t.Fatal(err)
	}
	if err := x.Index(ctx, other, c.opener(other)); err != nil {
		t.Fatal(err)
	}
	s := reader("u", access.Unclassified)
	find := func(q string) []string {
		t.Helper()
		res, err := x.Search(ctx, s, Request{Query: q})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		return ids(res)
	}
	both := []string{exact.ID.String(), other.ID.String()}
	for _, q := range []string{"định dạng", "dinh dang", "DINH DANG", norm.NFD.String("định dạng"), "Định Dạng"} {
		got := find(q)
		slices.Sort(got)
		want := slices.Clone(both)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q found %v, want both", q, got)
		}
	}
	// Typed with its marks, the exact form comes first.
	if got := find("định dạng"); got[0] != exact.ID.String() {
		t.Errorf("\"định dạng\" ranks %v, want the exact form first", got)
	}
	if got := find("đình dáng"); got[0] != other.ID.String() {
		t.Errorf("\"đình dáng\" ranks %v, want the exact form first", got)
	}
	// đ folds to d: "duong" finds "đường" (which FTS5's unicode61 does not).
	if got := find("duong loi"); !slices.Equal(got, []string{exact.ID.String()}) {
		t.Errorf("\"duong loi\" found %v", got)
	}
	// A phrase matches adjacent words only.
	if got := find(`"dang van"`); !slices.Equal(got, []string{exact.ID.String()}) {
		t.Errorf("phrase found %v", got)
	}
	if got := find(`"van dang"`); len(got) != 0 {
		t.Errorf("reversed phrase found %v", got)
	}
}
