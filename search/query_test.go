package search

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"khomat/archive"
	"khomat/archive/access"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, canonical string
	}{
		{"", ""},
		{"   ", ""},
		{"nghị quyết", "nghị quyết"},
		{`"bảo vệ bí mật"`, `"bảo vệ bí mật"`},
		{`-dự thảo`, `-dự thảo`},
		{`--x ++y +-z`, `-x y -z`},
		{`quy*`, `quy*`},
		{`a - b`, `a b`},
		{`loai:chi-thi`, `type:chi-thi`},
		{`LOẠI:"nghị quyết"`, `type:"nghị quyết"`},
		{`do_mat:tuyet_mat`, `level:tuyet_mat`},
		{`-level:secret`, `-level:secret`},
		{`co_quan:"Ban Tổ chức" so:15-NQ/TW`, `issuer:"Ban Tổ chức" number:15-NQ/TW`},
		{`nam:2024 tu:01/02/2020 den:2024-12-31`, `year:2024 from:01/02/2020 to:2024-12-31`},
		{`khan:hoa-toc tu_khoa:"bảo mật"`, `urgency:hoa-toc keyword:"bảo mật"`},
		{`title:"kế hoạch" trich_yeu:quy*`, `title:"kế hoạch" title:quy*`},
		{`15:30 ý: abc`, `15:30 ý: abc`},
		{`a"b c"d`, `a "b c" d`},
		{`… — ( )`, ``},
		{`so:a:b`, `number:a:b`},
	} {
		q, err := ParseQuery(tc.in)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", tc.in, err)
			continue
		}
		if got := q.String(); got != tc.canonical {
			t.Errorf("ParseQuery(%q).String() = %q, want %q", tc.in, got, tc.canonical)
		}
	}
}

func TestParseQueryValues(t *testing.T) {
	t.Parallel()
	q, err := ParseQuery(`level:"Tối mật" loai:"Công văn" khan:"Thượng khẩn" tu:31/01/2024 nam:2023 "a b"`)
	if err != nil {
		t.Fatal(err)
	}
	c := q.clauses
	if c[0].level != access.Secret || c[1].docType != archive.TypeOfficialLetter || c[2].urgency != access.VeryUrgent ||
		c[3].date != (archive.Date{Year: 2024, Month: 1, Day: 31}) || c[4].year != 2023 || c[5].kind != kindPhrase {
		t.Errorf("clauses %+v", c)
	}
	if !q.hasText() {
		t.Error("hasText false for a query with a phrase")
	}
	if q, _ := ParseQuery("level:mat -x"); q.hasText() {
		t.Error("hasText true for filters and exclusions only")
	}
}

func TestParseQueryErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in  string
		pos int
	}{
		{`"unterminated`, 0},
		{`a "b`, 2},
		{`_id:abc`, 0},
		{`x acl:c:kinh-te`, 2},
		{`content:x`, 0},
		{`level:ultra`, 0},
		{`loai:thu-tinh`, 0},
		{`khan:rat-khan`, 0},
		{`nam:24`, 0},
		{`tu:2024-02-30`, 0},
		{`den:yesterday`, 0},
		{`a*b`, 1},
		{`*`, 0},
		{`q*`, 0},
		{`-x*`, 0},
		{`co_quan:""`, 8},
		{`so:"—"`, 0},
		{strings.Repeat("a ", maxClauses) + "b", 2 * maxClauses},
		{strings.Repeat("x", maxQueryBytes+1), maxQueryBytes},
		{"\xff", 0},
	} {
		_, err := ParseQuery(tc.in)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("ParseQuery(%.30q) = %v, want a *QueryError", tc.in, err)
			continue
		}
		if qe.Pos != tc.pos {
			t.Errorf("ParseQuery(%.30q): error at %d, want %d (%s)", tc.in, qe.Pos, tc.pos, qe.Message)
		}
		if qe.Message == "" || qe.MessageVI == "" {
			t.Errorf("ParseQuery(%.30q): messages %q / %q", tc.in, qe.Message, qe.MessageVI)
		}
	}
}

// FuzzParseQuery: any input either parses, and then its canonical form
// parses to the same query, or fails with a *QueryError; never a panic.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", `nghị quyết "bảo vệ" -dự quy* loai:chi-thi`, `co_quan:"Ban Tổ chức"`, `_id:x`,
		`level:tuyet_mat tu:01/02/2020`, `a"b`, "\u0301\u0323", `title:"a b" -title:c*`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("ParseQuery(%q) = %v, not a *QueryError", s, err)
			}
			if qe.Pos < 0 || qe.Pos > len(s) {
				t.Fatalf("ParseQuery(%q): position %d out of range", s, qe.Pos)
			}
			return
		}
		canon := q.String()
		if !utf8.ValidString(canon) {
			t.Fatalf("canonical form of %q is not UTF-8: %q", s, canon)
		}
		q2, err := ParseQuery(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if q2.String() != canon {
			t.Fatalf("canonical form of %q changes: %q → %q", s, canon, q2.String())
		}
		buildQuery(q, Request{}, true)
	})
}
