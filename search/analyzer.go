package search

import (
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

// viAnalyzer is the Vietnamese analyzer. It splits text into runs of
// letters, digits and combining marks, lower-cases and NFC-normalises each
// (the exact form), and, where folding changes the word, emits the folded
// form too at the same position. Phrases match across both forms because
// they share positions; exact forms rank first because a query adds an
// optional clause for the exact form the user typed.
//
// It is a single pass written by hand rather than a chain of Bleve's
// tokenizer and filters: indexing speed is one of Khomat's targets, and the
// Unicode word-segmentation tokenizer costs more than the whole of this.
type viAnalyzer struct{}

// Analyze implements analysis.Analyzer.
func (viAnalyzer) Analyze(text []byte) analysis.TokenStream {
	toks := make(analysis.TokenStream, 0, len(text)/4)
	// One backing array for the token structs, grown as needed, saves an
	// allocation per token.
	pool := make([]analysis.Token, 0, len(text)/4)
	pos := 0
	eachWord(text, func(start, end int) {
		exact, folded := forms(text[start:end])
		if len(exact) == 0 || len(exact) > maxTermBytes {
			return
		}
		pos++
		pool = append(pool, analysis.Token{Start: start, End: end, Term: exact, Position: pos, Type: analysis.AlphaNumeric})
		toks = append(toks, &pool[len(pool)-1])
		if folded != nil {
			pool = append(pool, analysis.Token{Start: start, End: end, Term: folded, Position: pos, Type: analysis.AlphaNumeric})
			toks = append(toks, &pool[len(pool)-1])
		}
		if len(pool) == cap(pool) {
			pool = make([]analysis.Token, 0, 256)
		}
	})
	return toks
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
// folding changes nothing. The returned slices are new allocations.
func forms(word []byte) (exact, folded []byte) {
	ascii := true
	for _, c := range word {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		exact = make([]byte, len(word))
		for i, c := range word {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			exact[i] = c
		}
		return exact, nil
	}
	exact = make([]byte, 0, len(word))
	for _, r := range string(word) {
		exact = utf8.AppendRune(exact, unicode.ToLower(r))
	}
	if !norm.NFC.IsNormal(exact) {
		exact = norm.NFC.Bytes(exact)
	}
	folded = foldBytes(exact)
	if string(folded) == string(exact) {
		return exact, nil
	}
	return exact, folded
}

// foldBytes removes combining marks and maps đ to d in lower-case text. It
// decomposes each rune (NFD) and keeps the non-mark runes of the
// decomposition, so "ệ" becomes "e" and "ơ" becomes "o".
func foldBytes(s []byte) []byte {
	out := make([]byte, 0, len(s))
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
