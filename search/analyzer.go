package search

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
	"golang.org/x/text/unicode/norm"
)

// AnalyzerName is the name under which the Vietnamese analyzer is
// registered with Bleve. The version is part of the name: an index built by
// an older analyzer names an analyzer this binary no longer registers, fails
// to open, and is rebuilt (see MappingVersion).
const AnalyzerName = "khomat_vi_1"

// maxTermBytes bounds the length of an indexed term. Longer runs of letters
// are not words anyone types (base64 blobs, hostile input) and would only
// bloat the dictionary.
const maxTermBytes = 80

func init() {
	// Registering is the one side effect init may have (STYLE.md): any
	// binary that imports search can open an index whose mapping names the
	// analyzer.
	if err := registry.RegisterAnalyzer(AnalyzerName, func(map[string]any, *registry.Cache) (analysis.Analyzer, error) {
		return viAnalyzer{}, nil
	}); err != nil {
		panic(err)
	}
}

// viAnalyzer is the Vietnamese analyzer. It splits text into words (runs
// of letters, digits and combining marks) and emits, for each word:
//
//   - its folded form: lower case, NFC, tone and vowel marks removed, đ → d
//     ("định" → "dinh"), which every query matches on;
//   - its exact form (lower case, NFC) when folding changes it, which a
//     query typed with marks uses to rank exact forms first;
//   - the pair of its folded form and the previous word's, as one term
//     (pairPrefix + "bao ve"), which phrases match on.
//
// Word pairs replace positions. Bleve's phrase search reads the position
// of every occurrence of every word of the phrase, and folding makes
// syllables such as "dang" (đang, đảng, dạng, đáng, …) so frequent that a
// two-word phrase cost over 100 ms at 100,000 documents; a pair is one
// posting list. Index entries then carry no positions (term vectors) at
// all, which also makes indexing faster. A phrase of three words or more
// matches documents holding each adjacent pair of its words — in practice
// the phrase itself.
//
// It is a single pass written by hand rather than a chain of Bleve's
// tokenizer and filters: indexing speed is one of Khomat's targets, and the
// Unicode word-segmentation tokenizer alone costs more than all of this.
type viAnalyzer struct{}

// pairPrefix starts every word-pair term. Words never contain it or a
// space, so pairs and words cannot collide, and pairs sort apart from the
// words in the dictionary, where prefix searches look.
const pairPrefix = "_"

// Analyze implements analysis.Analyzer.
func (viAnalyzer) Analyze(text []byte) analysis.TokenStream {
	toks := make(analysis.TokenStream, 0, len(text)/2)
	// One backing array for the token structs and one for the terms save
	// an allocation or two per token; indexing spends much of its time
	// in the allocator otherwise.
	pool := make([]analysis.Token, 0, len(text)/2)
	arena := make([]byte, 0, 2*len(text)+16)
	emit := func(term []byte, pos int) {
		if len(pool) == cap(pool) {
			pool = make([]analysis.Token, 0, 256)
		}
		pool = append(pool, analysis.Token{Term: term, Position: pos, Type: analysis.AlphaNumeric})
		toks = append(toks, &pool[len(pool)-1])
	}
	pos, last := 0, 0
	var prev []byte
	eachWord(text, func(start, end int) {
		if bytes.IndexByte(text[last:start], partSeparator) >= 0 {
			prev = nil
		}
		last = end
		var exact, folded []byte
		arena, exact, folded = appendForms(arena, text[start:end])
		if len(exact) == 0 || len(exact) > maxTermBytes {
			prev = nil
			return
		}
		pos++
		if folded == nil {
			folded = exact
		} else {
			emit(exact, pos)
		}
		emit(folded, pos)
		if prev != nil {
			n := len(arena)
			arena = append(arena, pairPrefix...)
			arena = append(arena, prev...)
			arena = append(arena, ' ')
			arena = append(arena, folded...)
			emit(arena[n:len(arena):len(arena)], pos)
		}
		prev = folded
	})
	return toks
}

// partSeparator separates texts indexed in one field (title, summary,
// body, …) so that no word pair spans two of them.
const partSeparator = '\x1e'

// pairTerm is the term of the folded word pair a b.
func pairTerm(a, b string) string { return pairPrefix + a + " " + b }

// appendForms appends the exact and folded forms of word to arena and
// returns the grown arena and the two forms as slices of it (folded nil
// when folding changes nothing). A form stays valid when the arena grows
// later: growing copies to a new array and leaves the old one alone.
func appendForms(arena, word []byte) (grown, exact, folded []byte) {
	n := len(arena)
	ascii := true
	for _, c := range word {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for _, c := range word {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			arena = append(arena, c)
		}
		return arena, arena[n:len(arena):len(arena)], nil
	}
	for _, r := range string(word) {
		arena = utf8.AppendRune(arena, unicode.ToLower(r))
	}
	if !norm.NFC.IsNormal(arena[n:]) {
		nfc := norm.NFC.Bytes(arena[n:]) // NFD input: rare, so the copy is fine
		arena = append(arena[:n], nfc...)
	}
	exact = arena[n:len(arena):len(arena)]
	m := len(arena)
	arena = appendFold(arena, exact)
	if string(arena[m:]) == string(exact) {
		return arena[:m], exact, nil
	}
	return arena, exact, arena[m:len(arena):len(arena)]
}

// eachWord calls fn with the byte range of every word of text: a maximal
// run of letters, digits and combining marks. A combining mark that starts
// a run (NFD text after punctuation) belongs to no word and is skipped.
func eachWord(text []byte, fn func(start, end int)) {
	start := -1
	for i := 0; i < len(text); {
		c := text[i]
		var r rune
		size := 1
		if c < utf8.RuneSelf {
			r = rune(c)
		} else {
			r, size = utf8.DecodeRune(text[i:])
		}
		if isWordRune(r) {
			if start < 0 && !isMark(r) {
				start = i
			}
		} else if start >= 0 {
			fn(start, i)
			start = -1
		}
		i += size
	}
	if start >= 0 {
		fn(start, len(text))
	}
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || isMark(r))
}

func isMark(r rune) bool {
	return r >= 0x300 && unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me)
}

// forms returns the exact form of word (lower case, NFC) and its folded
// form (tone and vowel marks removed, đ → d), or a nil folded form when
// folding changes nothing.
func forms(word []byte) (exact, folded []byte) {
	_, exact, folded = appendForms(make([]byte, 0, 2*len(word)+8), word)
	return exact, folded
}

// appendFold appends s, lower-case text, with combining marks removed and
// đ mapped to d. It decomposes each rune (NFD) and keeps the non-mark runes
// of the decomposition, so "ệ" becomes "e" and "ơ" becomes "o".
func appendFold(out, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == 'đ' || r == 'Đ':
			out = append(out, 'd')
		case isMark(r):
			// a combining mark of NFD input: dropped
		default:
			if d := norm.NFD.Properties(s[i : i+size]).Decomposition(); d != nil {
				for _, dr := range string(d) {
					if !isMark(dr) {
						out = utf8.AppendRune(out, dr)
					}
				}
			} else {
				out = append(out, s[i:i+size]...)
			}
		}
		i += size
	}
	return out
}

// Fold returns s in the form the index matches on: lower case, NFC, tone
// and vowel marks removed and đ mapped to d. "Định dạng", "định dạng" in
// NFD and "DINH DANG" all fold to "dinh dang". Text between words is kept
// as it is.
func Fold(s string) string {
	b := []byte(s)
	var out []byte
	last := 0
	eachWord(b, func(start, end int) {
		out = append(out, b[last:start]...)
		exact, folded := forms(b[start:end])
		if folded == nil {
			folded = exact
		}
		out = append(out, folded...)
		last = end
	})
	out = append(out, b[last:]...)
	return string(out)
}

// term is one analysed word of a query: its exact form and its folded form
// (equal when the word has no marks).
type term struct {
	exact, folded string
}

// analyze splits s into words as the index does and returns each word's
// exact and folded form.
func analyze(s string) []term {
	b := []byte(s)
	var out []term
	eachWord(b, func(start, end int) {
		exact, folded := forms(b[start:end])
		if len(exact) == 0 || len(exact) > maxTermBytes {
			return
		}
		t := term{exact: string(exact), folded: string(exact)}
		if folded != nil {
			t.folded = string(folded)
		}
		out = append(out, t)
	})
	return out
}
