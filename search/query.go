package search

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"khomat/archive"
	"khomat/archive/access"
)

// The syntax a cadre types, parsed here and never handed to Bleve's
// query-string parser:
//
//	nghị quyết          words: every word must match, with or without marks
//	"bảo vệ bí mật"     a phrase: the words in this order
//	-dự thảo            an exclusion: no document with this word
//	quy*                a prefix: words starting with "quy" (two letters or more)
//	loai:chi-thi        a filter from the fixed list below; "-" before it excludes
//
// The filter fields, with their Vietnamese names typed without marks:
//
//	level, do_mat       secrecy level (narrows the search; never widens it)
//	type, loai          document type: "nghị quyết", "chi_thi", "report", …
//	issuer, co_quan     words of the issuing body
//	number, so          words of the number and symbol: so:15-NQ/TW
//	keyword, tu_khoa    words of a keyword
//	year, nam           year issued: nam:2024
//	from, tu            issued on or after: tu:2024-01-31 or tu:31/01/2024
//	to, den             issued on or before
//	urgency, khan       urgency: khan:hoa-toc
//	title, trich_yeu    words or a phrase of the title only
//
// Values with spaces are quoted: co_quan:"Ban Tổ chức". Repeating a filter
// field means either value (loai:nghi-quyet loai:chi-thi); different fields
// must all hold. Any other "name:value" with a name of letters is an error,
// so that "_id:…" or "acl:…" can never be mistaken for a filter.

// Limits of a query.
const (
	maxQueryBytes  = 1024
	maxClauses     = 32
	maxPhraseWords = 32
	minPrefixRunes = 2
)

// QueryError is a malformed query or request. The API answers it with 400
// and shows MessageVI (or Message).
type QueryError struct {
	// Pos is the byte offset in the query text where the problem is, or
	// -1 when the problem is a request parameter.
	Pos int
	// Message says what is wrong, in English.
	Message string
	// MessageVI says it in Vietnamese.
	MessageVI string
}

// Error returns the English message with its position.
func (e *QueryError) Error() string {
	if e.Pos < 0 {
		return "search: invalid request: " + e.Message
	}
	return fmt.Sprintf("search: invalid query at byte %d: %s", e.Pos, e.Message)
}

func qerr(pos int, en, vi string) *QueryError {
	return &QueryError{Pos: pos, Message: en, MessageVI: vi}
}

// filterField is a field of the fixed filter list.
type filterField uint8

const (
	noField filterField = iota
	ffLevel
	ffType
	ffIssuer
	ffNumber
	ffKeyword
	ffYear
	ffFrom
	ffTo
	ffUrgency
	ffTitle
)

// filterFields maps every accepted spelling, as nameKey reduces it, to its
// field. The first name of each field is its canonical one.
var filterNames = []struct {
	field filterField
	names []string
}{
	{ffLevel, []string{"level", "domat"}},
	{ffType, []string{"type", "loai", "loaivanban"}},
	{ffIssuer, []string{"issuer", "coquan", "coquanbanhanh"}},
	{ffNumber, []string{"number", "so", "sokyhieu"}},
	{ffKeyword, []string{"keyword", "tukhoa"}},
	{ffYear, []string{"year", "nam"}},
	{ffFrom, []string{"from", "tu", "tungay"}},
	{ffTo, []string{"to", "den", "denngay"}},
	{ffUrgency, []string{"urgency", "khan", "dokhan"}},
	{ffTitle, []string{"title", "tieude", "trichyeu"}},
}

func lookupField(name string) filterField {
	key := nameKey(name)
	for _, f := range filterNames {
		for _, n := range f.names {
			if n == key {
				return f.field
			}
		}
	}
	return noField
}

func (f filterField) String() string {
	for _, fn := range filterNames {
		if fn.field == f {
			return fn.names[0]
		}
	}
	return ""
}

// nameKey reduces a field name to its lookup key: folded, lower case,
// without '_' and '-'.
func nameKey(s string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(Fold(s))
}

// kind is what a clause is.
type kind uint8

const (
	kindWord kind = iota + 1
	kindPhrase
	kindPrefix
	kindFilter
)

// clause is one item of a parsed query.
type clause struct {
	kind  kind
	not   bool
	field filterField // the filter, or ffTitle for words restricted to the title
	text  string      // as typed: the word, the phrase, the prefix without '*', the filter value
	terms []term      // analysed words of text, for text clauses and text filters
	pos   int

	// resolved filter values
	level   access.Level
	docType archive.DocType
	urgency access.Urgency
	date    archive.Date // from, to
	year    int
}

// Query is a parsed query.
type Query struct {
	clauses []clause
}

// ParseQuery parses a query in Khomat's syntax. An empty query is valid and
// matches every document the subject may read. A malformed query is a
// *QueryError.
func ParseQuery(s string) (Query, error) {
	if len(s) > maxQueryBytes {
		return Query{}, qerr(maxQueryBytes, fmt.Sprintf("the query is longer than %d bytes", maxQueryBytes),
			fmt.Sprintf("câu tìm kiếm dài quá %d byte", maxQueryBytes))
	}
	if !utf8.ValidString(s) {
		return Query{}, qerr(0, "the query is not valid UTF-8", "câu tìm kiếm chứa ký tự không hợp lệ")
	}
	p := parser{s: s}
	var q Query
	for {
		c, ok, err := p.next()
		if err != nil {
			return Query{}, err
		}
		if !ok {
			break
		}
		if c.kind == 0 {
			continue // punctuation only
		}
		if len(q.clauses) == maxClauses {
			return Query{}, qerr(c.pos, fmt.Sprintf("the query has more than %d parts", maxClauses),
				fmt.Sprintf("câu tìm kiếm có quá %d thành phần", maxClauses))
		}
		q.clauses = append(q.clauses, c)
	}
	return q, nil
}

type parser struct {
	s   string
	pos int
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// next returns the next clause; ok is false at the end of the query. A
// clause of kind 0 carried no words and is to be skipped.
func (p *parser) next() (c clause, ok bool, err error) {
	s := p.s
	for p.pos < len(s) {
		r, size := utf8.DecodeRuneInString(s[p.pos:])
		if !isSpace(r) {
			break
		}
		p.pos += size
	}
	if p.pos >= len(s) {
		return clause{}, false, nil
	}
	start := p.pos
	c.pos = start
	// A run of '-' and '+' before an item: any '-' excludes, '+' says
	// nothing more than the default (every word is required).
	for p.pos < len(s) && (s[p.pos] == '-' || s[p.pos] == '+') {
		c.not = c.not || s[p.pos] == '-'
		p.pos++
	}
	if p.pos < len(s) && s[p.pos] == '"' {
		text, err := p.quoted()
		if err != nil {
			return clause{}, false, err
		}
		c.kind, c.text = kindPhrase, text
		return c, true, c.analyse()
	}
	// A bare item runs to the next space or quote; "name:" may be
	// followed by a quoted value.
	itemStart := p.pos
	for p.pos < len(s) {
		r, size := utf8.DecodeRuneInString(s[p.pos:])
		if isSpace(r) || r == '"' {
			break
		}
		p.pos += size
	}
	item := s[itemStart:p.pos]
	if item == "" {
		// "-" or "+" before a space, or alone: punctuation
		return clause{pos: start}, true, nil
	}
	if name, value, isField := strings.Cut(item, ":"); isField && isFieldName(name) {
		if value == "" && p.pos < len(s) && s[p.pos] == '"' {
			v, err := p.quoted()
			if err != nil {
				return clause{}, false, err
			}
			value = v
			if strings.TrimSpace(value) == "" {
				return clause{}, false, qerr(itemStart+len(name)+1, fmt.Sprintf("the filter %s: has an empty value", name),
					fmt.Sprintf("bộ lọc %s: không có giá trị", name))
			}
		}
		if value != "" {
			f := lookupField(name)
			if f == noField {
				return clause{}, false, qerr(itemStart, fmt.Sprintf("%q is not a filter; the filters are %s", name, fieldList()),
					fmt.Sprintf("%q không phải là bộ lọc; các bộ lọc là %s", name, fieldList()))
			}
			c.field, c.text = f, value
			if f == ffTitle {
				return c, true, c.titleClause(itemStart + len(name) + 1)
			}
			c.kind = kindFilter
			return c, true, c.resolve()
		}
		// "name:" followed by a space is just a word with a colon.
	}
	return c, true, c.bare(item, itemStart)
}

// isFieldName reports whether name looks like a field name: letters,
// digits and '_', starting with a letter or '_'. "15:30" is not one; "_id"
// and "tiêu_đề" are.
func isFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_' || unicode.IsLetter(r) || unicode.Is(unicode.Mn, r):
		case unicode.IsDigit(r) && i > 0:
		default:
			return false
		}
	}
	return true
}

func fieldList() string {
	var names []string
	for _, f := range filterNames {
		names = append(names, f.names[0]+":")
	}
	return strings.Join(names, " ")
}

// quoted reads a quoted string at p.pos and returns its content.
func (p *parser) quoted() (string, error) {
	open := p.pos
	end := strings.IndexByte(p.s[open+1:], '"')
	if end < 0 {
		return "", qerr(open, "a quote is not closed", "thiếu dấu ngoặc kép đóng")
	}
	p.pos = open + 1 + end + 1
	return p.s[open+1 : open+1+end], nil
}

// bare makes a clause of an unquoted item: a word or a prefix.
func (c *clause) bare(item string, pos int) error {
	if i := strings.IndexByte(item, '*'); i >= 0 {
		if i != len(item)-1 {
			return qerr(pos+i, "* may only end a word (prefix search)", "dấu * chỉ được đặt ở cuối từ (tìm theo tiền tố)")
		}
		c.kind, c.text = kindPrefix, item[:i]
		return c.analyse()
	}
	c.kind, c.text = kindWord, item
	return c.analyse()
}

// titleClause makes the clause for title:value.
func (c *clause) titleClause(valuePos int) error {
	text := c.text
	if strings.ContainsAny(text, " \t") {
		c.kind = kindPhrase
		return c.analyse()
	}
	return c.bare(text, valuePos)
}

// analyse splits a text clause into words and checks its limits. A clause
// with no words at all (punctuation) becomes kind 0.
func (c *clause) analyse() error {
	c.terms = analyze(c.text)
	switch {
	case len(c.terms) == 0:
		if c.kind == kindPrefix {
			return qerr(c.pos, "a prefix needs letters before *", "cần có chữ trước dấu *")
		}
		c.kind = 0
	case c.kind == kindPrefix:
		if len(c.terms) > 1 || strings.TrimSpace(c.text) != c.text {
			return qerr(c.pos, "* applies to a single word", "dấu * chỉ áp dụng cho một từ")
		}
		if utf8.RuneCountInString(c.terms[0].folded) < minPrefixRunes {
			return qerr(c.pos, fmt.Sprintf("a prefix needs at least %d letters", minPrefixRunes),
				fmt.Sprintf("tiền tố cần ít nhất %d chữ", minPrefixRunes))
		}
	case len(c.terms) > maxPhraseWords:
		return qerr(c.pos, fmt.Sprintf("a phrase may have at most %d words", maxPhraseWords),
			fmt.Sprintf("cụm từ có tối đa %d từ", maxPhraseWords))
	}
	return nil
}

// resolve checks a filter's value and converts it.
func (c *clause) resolve() error {
	bad := func(en, vi string) error {
		return qerr(c.pos, fmt.Sprintf("%s:%s: %s", c.field, c.text, en), fmt.Sprintf("%s:%s: %s", c.field, c.text, vi))
	}
	var err error
	switch c.field {
	case ffLevel:
		if c.level, err = access.ParseLevel(c.text); err != nil {
			return bad("not a secrecy level (thuong, mat, toi_mat, tuyet_mat)", "không phải độ mật (thuong, mat, toi_mat, tuyet_mat)")
		}
	case ffType:
		if c.docType, err = archive.ParseDocType(c.text); err != nil {
			return bad("not a document type", "không phải loại văn bản")
		}
	case ffUrgency:
		if c.urgency, err = access.ParseUrgency(c.text); err != nil {
			return bad("not an urgency (khan, thuong_khan, hoa_toc)", "không phải độ khẩn (khan, thuong_khan, hoa_toc)")
		}
	case ffYear:
		y, err := strconv.Atoi(c.text)
		if err != nil || y < 1 || y > 9999 || len(c.text) != 4 {
			return bad("not a year (four digits)", "không phải năm (bốn chữ số)")
		}
		c.year = y
	case ffFrom, ffTo:
		d, ok := parseUserDate(c.text)
		if !ok {
			return bad("not a date (2024-01-31 or 31/01/2024)", "không phải ngày (2024-01-31 hoặc 31/01/2024)")
		}
		c.date = d
	case ffIssuer, ffNumber, ffKeyword:
		c.terms = analyze(c.text)
		if len(c.terms) == 0 {
			return bad("has no words", "không có từ nào")
		}
		if len(c.terms) > maxPhraseWords {
			return bad("has too many words", "có quá nhiều từ")
		}
	}
	return nil
}

// parseUserDate reads a date as ISO 8601 (2024-01-31) or as the interface
// writes it (31/01/2024).
func parseUserDate(s string) (archive.Date, bool) {
	if d, err := archive.ParseDate(s); err == nil && !d.IsZero() {
		return d, true
	}
	t, err := time.Parse("2/1/2006", s)
	if err != nil {
		return archive.Date{}, false
	}
	return archive.DateOf(t), true
}

// String returns the query in canonical form, which parses back to the same
// query.
func (q Query) String() string {
	var b strings.Builder
	for i, c := range q.clauses {
		if i > 0 {
			b.WriteByte(' ')
		}
		if c.not {
			b.WriteByte('-')
		}
		if c.field != noField {
			b.WriteString(c.field.String())
			b.WriteByte(':')
		}
		switch {
		case c.kind == kindPrefix:
			b.WriteString(c.text)
			b.WriteByte('*')
		case c.kind == kindPhrase, c.field != noField && strings.ContainsFunc(c.text, isSpace):
			b.WriteByte('"')
			b.WriteString(c.text)
			b.WriteByte('"')
		default:
			b.WriteString(c.text)
		}
	}
	return b.String()
}

// hasText reports whether the query has words to rank by.
func (q Query) hasText() bool {
	for _, c := range q.clauses {
		if !c.not && c.kind != kindFilter {
			return true
		}
	}
	return false
}
