package search

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"

	"khomat/archive"
	"khomat/archive/access"
)

// MappingVersion is the version of the index layout: the fields below,
// their options and the analyzer. It is stored in every index; an index
// that holds another version is deleted and rebuilt from the store when it
// is opened. Change it with any change to the fields, their options or the
// analyzer's output, and record the change in docs/FORMAT.md.
const MappingVersion = 2

// mappingVersionKey is the Bleve internal key that holds MappingVersion.
const mappingVersionKey = "khomat.mapping_version"

// The fields of an index entry. Only what a result list shows is stored;
// the body is indexed but not stored (it would make the index 2.7× the
// text instead of 2.0×, and a stolen index would then hold the plaintext).
const (
	fieldID         = "id"          // keyword, doc values: the order of a repair's scan
	fieldTitle      = "title"       // text, stored: boosted, and the title: filter
	fieldSummary    = "summary"     // stored only: highlighted fragments
	fieldContent    = "content"     // text: title, summary, keywords, issuer, number, body
	fieldIssuer     = "issuer"      // keyword, stored: the exact issuer filter
	fieldIssuerText = "issuer_text" // text: the issuer: query filter
	fieldNumber     = "number"      // stored only: number and symbol as written
	fieldNumberText = "number_text" // text: the number: query filter
	fieldKeywords   = "keywords"    // text, one array element per keyword
	fieldLevel      = "level"       // keyword, stored
	fieldType       = "type"        // keyword, stored
	fieldUrgency    = "urgency"     // keyword, stored
	fieldDate       = "date"        // number yyyymmdd, stored; 0 when unknown
	fieldOrder      = "order"       // keyword, doc values: date and id in one sort key
	fieldFacet      = "facet"       // keyword: "l:", "t:", "i:", "y:" facet values
	fieldACL        = "acl"         // keyword, stored: compartments and named recipients
	fieldStamp      = "stamp"       // stored: version and revision, for repair
	fieldText       = "text"        // keyword, stored: what happened to the content
)

// Values of the acl field. A document carries "c:<label>" for each of its
// compartments and, when it is for named recipients only, "named" plus
// "u:<id>" for each recipient.
const (
	aclCompartment = "c:"
	aclNamed       = "named"
	aclRecipient   = "u:"
)

// newMapping returns the explicit mapping of an index: no default mapping,
// no _all field, and the options each field needs and no more (Gitea's
// wrapper is the model). Entries are built with IndexAdvanced from exactly
// these fields; the mapping is what Bleve stores in the index and checks
// when it opens it.
func newMapping() mapping.IndexMapping {
	text := func(store bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = AnalyzerName
		f.Store = store
		f.IncludeTermVectors = false // phrases match word pairs, not positions
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	kw := func(store, docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store = store
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = docValues
		return f
	}
	storedOnly := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = keyword.Name
		f.Index = false
		f.Store = true
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	number := func(store, docValues bool) *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store = store
		f.DocValues = docValues
		f.IncludeInAll = false
		return f
	}

	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt(fieldID, kw(false, true))
	dm.AddFieldMappingsAt(fieldTitle, text(true))
	dm.AddFieldMappingsAt(fieldSummary, storedOnly())
	dm.AddFieldMappingsAt(fieldContent, text(false))
	dm.AddFieldMappingsAt(fieldIssuer, kw(true, false))
	dm.AddFieldMappingsAt(fieldIssuerText, text(false))
	dm.AddFieldMappingsAt(fieldNumber, storedOnly())
	dm.AddFieldMappingsAt(fieldNumberText, text(false))
	dm.AddFieldMappingsAt(fieldKeywords, text(false))
	dm.AddFieldMappingsAt(fieldLevel, kw(true, false))
	dm.AddFieldMappingsAt(fieldType, kw(true, false))
	dm.AddFieldMappingsAt(fieldUrgency, kw(true, false))
	dm.AddFieldMappingsAt(fieldDate, number(true, false))
	dm.AddFieldMappingsAt(fieldOrder, kw(false, true))
	dm.AddFieldMappingsAt(fieldFacet, kw(false, false))
	dm.AddFieldMappingsAt(fieldACL, kw(true, false))
	dm.AddFieldMappingsAt(fieldStamp, kw(true, false))
	dm.AddFieldMappingsAt(fieldText, kw(true, false))

	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = AnalyzerName
	m.DefaultMapping = dm
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

// Indexing options of the field kinds above.
const (
	optText       = index.IndexField
	optTextStored = optText | index.StoreField
	optStoredOnly = index.StoreField
	optKeyword    = index.IndexField
	optKeywordDV  = index.IndexField | index.DocValues
	optKeywordS   = index.IndexField | index.StoreField
	optDate       = index.IndexField | index.StoreField
)

// stamp says which revision of a document an entry was built from.
type stamp struct {
	version, revision uint32
}

func (s stamp) String() string { return fmt.Sprintf("%d.%d", s.version, s.revision) }

func parseStamp(s string) (stamp, bool) {
	v, r, ok := strings.Cut(s, ".")
	if !ok {
		return stamp{}, false
	}
	ver, err1 := strconv.ParseUint(v, 10, 32)
	rev, err2 := strconv.ParseUint(r, 10, 32)
	if err1 != nil || err2 != nil {
		return stamp{}, false
	}
	return stamp{uint32(ver), uint32(rev)}, true
}

// newer reports whether s is a later revision than t.
func (s stamp) newer(t stamp) bool {
	if s.revision != t.revision {
		return s.revision > t.revision
	}
	return s.version > t.version
}

// dateNumber encodes a date as the number yyyymmdd, which sorts and ranges
// like the date; 0 for no date.
func dateNumber(d archive.Date) float64 {
	if d.IsZero() {
		return 0
	}
	return float64(d.Year*10000 + int(d.Month)*100 + d.Day)
}

func numberDate(f float64) archive.Date {
	n := int(f)
	if n <= 0 {
		return archive.Date{}
	}
	return archive.Date{Year: n / 10000, Month: time.Month(n / 100 % 100), Day: n % 100}
}

// buildDocument turns a document and its extracted text into an index entry.
func buildDocument(doc archive.Document, body string, state TextState) *document.Document {
	an := viAnalyzer{}
	d := document.NewDocument(doc.ID.String())
	add := func(f document.Field) { d.AddField(f) }
	textField := func(name string, v string, opts index.FieldIndexingOptions) {
		add(document.NewTextFieldCustom(name, nil, []byte(v), opts, an))
	}
	keywordField := func(name string, v string, opts index.FieldIndexingOptions) {
		add(document.NewTextFieldCustom(name, nil, []byte(v), opts, nil))
	}

	keywordField(fieldID, doc.ID.String(), optKeywordDV)
	textField(fieldTitle, doc.Title, optTextStored)
	if doc.Summary != "" {
		keywordField(fieldSummary, doc.Summary, optStoredOnly)
	}
	// The content field gathers every searchable text of the document, so
	// that a word query is one term lookup, not one per field. The parts
	// are kept apart for phrases.
	var content strings.Builder
	parts := append([]string{doc.Title, doc.Summary, doc.IssuingBody, doc.NumberSymbol}, doc.Keywords...)
	for _, part := range append(parts, body) {
		if part != "" {
			content.WriteString(part)
			content.WriteByte(partSeparator)
		}
	}
	textField(fieldContent, content.String(), optText)
	keywordField(fieldIssuer, doc.IssuingBody, optKeywordS)
	textField(fieldIssuerText, doc.IssuingBody, optText)
	if doc.NumberSymbol != "" {
		keywordField(fieldNumber, doc.NumberSymbol, optStoredOnly)
		textField(fieldNumberText, doc.NumberSymbol, optText)
	}
	for i, k := range doc.Keywords {
		add(document.NewTextFieldCustom(fieldKeywords, []uint64{uint64(i)}, []byte(k), optText, an))
	}
	keywordField(fieldLevel, doc.Level.String(), optKeywordS)
	keywordField(fieldType, string(doc.Type), optKeywordS)
	keywordField(fieldUrgency, doc.Urgency.String(), optKeywordS)
	add(document.NewNumericFieldWithIndexingOptions(fieldDate, nil, dateNumber(doc.DateIssued), optDate))
	keywordField(fieldOrder, orderTerm(orderKey(doc.DateIssued, doc.ID)), optKeywordDV)
	// One facet field for all facets, read by facets.go from its postings.
	keywordField(fieldFacet, facetLevel+doc.Level.String(), optKeyword)
	keywordField(fieldFacet, facetType+string(doc.Type), optKeyword)
	keywordField(fieldFacet, facetIssuer+doc.IssuingBody, optKeyword)
	if !doc.DateIssued.IsZero() {
		keywordField(fieldFacet, facetYear+strconv.Itoa(doc.DateIssued.Year), optKeyword)
	}
	for _, c := range doc.Compartments {
		keywordField(fieldACL, aclCompartment+c, optKeywordS)
	}
	if len(doc.NamedRecipients) > 0 {
		keywordField(fieldACL, aclNamed, optKeywordS)
		for _, u := range doc.NamedRecipients {
			keywordField(fieldACL, aclRecipient+u, optKeywordS)
		}
	}
	keywordField(fieldStamp, stamp{doc.Version, doc.Revision}.String(), optKeywordS)
	keywordField(fieldText, state.encode(), optKeywordS)
	return d
}

// Prefixes of the values of the facet field.
const (
	facetLevel  = "l:"
	facetType   = "t:"
	facetIssuer = "i:"
	facetYear   = "y:"
)

// orderKey is the sort key of "newest first" and the tie-breaker of
// relevance: the date issued, then 31 bits of the id, in one number that a
// float64 holds exactly (22 bits of days, 31 of id). Bleve then reads one
// doc value per hit instead of two, and the order never depends on Bleve's
// internal document numbers, which hidden documents influence. Two
// documents of one date share the key only if 31 bits of their random ids
// agree.
//
// It is indexed as text (orderTerm), one term whose byte order is the
// number's order: a number field would index 16 terms per document (one
// per precision) and sort by reading all of them back.
func orderKey(d archive.Date, id archive.ID) float64 {
	var days int64
	if !d.IsZero() {
		const unixDay1 = 719162 // days from 0001-01-01 to 1970-01-01
		days = d.Time(time.UTC).Unix()/86400 + unixDay1 + 1
	}
	low := int64(binary.BigEndian.Uint32(id[:4]) >> 1)
	return float64(days<<31 | low)
}

// levelName is the file name of a level's index under Config.Dir.
func levelName(l access.Level) string { return "level-" + strconv.Itoa(int(l)) + ".bleve" }

// orderTerm is the indexed form of an order key: 14 hexadecimal digits
// (the key has 53 bits), so that sorting the terms as strings sorts the
// keys as numbers.
func orderTerm(k float64) string {
	return fmt.Sprintf("%014x", uint64(k))
}
