package access

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameLen bounds the input of the Parse functions. The longest accepted
// name ("người có thẩm quyền" in NFD) is well under it; anything longer is
// refused before it is folded, so hostile input costs nothing.
const maxNameLen = 128

// nameKey reduces a user-typed name to the key the Parse functions look up:
// lower case, Vietnamese diacritics removed (precomposed NFC letters through
// foldRune, decomposed NFD marks by dropping every non-spacing mark), đ
// folded to d, and separators (space, '-', '_') removed. "Tối mật",
// "TOI_MAT", "toi-mat" and the NFD spelling of "tối mật" all become "toimat".
// ok is false for invalid UTF-8, over-long input and characters that no
// accepted name contains, so they cannot collide with a real key.
func nameKey(s string) (key string, ok bool) {
	if len(s) > maxNameLen || !utf8.ValidString(s) {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '-' || r == '_' || unicode.IsSpace(r):
			continue
		case unicode.Is(unicode.Mn, r):
			// A combining mark of an NFD spelling: the base letter
			// before it has already been written.
			continue
		}
		r = foldRune(unicode.ToLower(r))
		if r > unicode.MaxASCII || !(r >= 'a' && r <= 'z') {
			return "", false
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

// foldRune maps a lower-case precomposed Vietnamese letter to its base Latin
// letter and returns any other rune unchanged. The switch is the whole table
// of Vietnamese vowels with their tone and vowel marks, plus đ; it is written
// out because the package may not depend on golang.org/x/text for Unicode
// decomposition.
func foldRune(r rune) rune {
	switch r {
	case 'à', 'á', 'ả', 'ã', 'ạ',
		'ă', 'ằ', 'ắ', 'ẳ', 'ẵ', 'ặ',
		'â', 'ầ', 'ấ', 'ẩ', 'ẫ', 'ậ':
		return 'a'
	case 'đ':
		return 'd'
	case 'è', 'é', 'ẻ', 'ẽ', 'ẹ',
		'ê', 'ề', 'ế', 'ể', 'ễ', 'ệ':
		return 'e'
	case 'ì', 'í', 'ỉ', 'ĩ', 'ị':
		return 'i'
	case 'ò', 'ó', 'ỏ', 'õ', 'ọ',
		'ô', 'ồ', 'ố', 'ổ', 'ỗ', 'ộ',
		'ơ', 'ờ', 'ớ', 'ở', 'ỡ', 'ợ':
		return 'o'
	case 'ù', 'ú', 'ủ', 'ũ', 'ụ',
		'ư', 'ừ', 'ứ', 'ử', 'ữ', 'ự':
		return 'u'
	case 'ỳ', 'ý', 'ỷ', 'ỹ', 'ỵ':
		return 'y'
	}
	return r
}
