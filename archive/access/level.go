package access

import (
	"errors"
	"fmt"
	"strconv"
)

// Level is a secrecy level (độ mật). Levels are ordered: a higher value is
// more secret, so "clearance ≥ level" is an integer comparison. The numeric
// values 0..3 are part of Khomat's formats — the crypto keyring numbers its
// per-level keys the same way — and must never change.
type Level uint8

// The four levels, least secret first. The three classified levels are those
// of the Law on Protection of State Secrets; Unclassified ("thường") is the
// level of ordinary records, which are archived too.
const (
	// Unclassified is "thường": not a state secret, no stamp, no envelope
	// mark and no protection period.
	Unclassified Level = 0
	// Confidential is "Mật", stamped MẬT, envelope mark C.
	Confidential Level = 1
	// Secret is "Tối mật", stamped TỐI MẬT, envelope mark B.
	Secret Level = 2
	// TopSecret is "Tuyệt mật", stamped TUYỆT MẬT, envelope mark A (sent in
	// two envelopes).
	TopSecret Level = 3
)

// ErrUnknownLevel is returned (wrapped) when a name or value is not one of
// the four levels.
var ErrUnknownLevel = errors.New("unknown secrecy level")

// Levels returns every level, least secret first. It returns a new slice on
// each call, so callers may keep or modify it.
func Levels() []Level {
	return []Level{Unclassified, Confidential, Secret, TopSecret}
}

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool { return l <= TopSecret }

// Classified reports whether l is a state-secret level (Mật or above).
func (l Level) Classified() bool { return l >= Confidential && l.Valid() }

// String returns the stable English code ("unclassified", "confidential",
// "secret", "top_secret") used in JSON, logs and audit events, or
// "Level(n)" for an invalid value.
func (l Level) String() string {
	switch l {
	case Unclassified:
		return "unclassified"
	case Confidential:
		return "confidential"
	case Secret:
		return "secret"
	case TopSecret:
		return "top_secret"
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// NameVI returns the Vietnamese display name: "Thường", "Mật", "Tối mật",
// "Tuyệt mật"; "" for an invalid value.
func (l Level) NameVI() string {
	switch l {
	case Unclassified:
		return "Thường"
	case Confidential:
		return "Mật"
	case Secret:
		return "Tối mật"
	case TopSecret:
		return "Tuyệt mật"
	}
	return ""
}

// NameEN returns the English display name: "Unclassified", "Confidential",
// "Secret", "Top Secret"; "" for an invalid value.
func (l Level) NameEN() string {
	switch l {
	case Unclassified:
		return "Unclassified"
	case Confidential:
		return "Confidential"
	case Secret:
		return "Secret"
	case TopSecret:
		return "Top Secret"
	}
	return ""
}

// Stamp returns the text of the secrecy stamp printed on the document and on
// every copy or printout: "MẬT", "TỐI MẬT", "TUYỆT MẬT". Unclassified
// documents carry no stamp, so it returns "" for them (and for an invalid
// value).
func (l Level) Stamp() string {
	switch l {
	case Confidential:
		return "MẬT"
	case Secret:
		return "TỐI MẬT"
	case TopSecret:
		return "TUYỆT MẬT"
	}
	return ""
}

// EnvelopeMark returns the letter marked on the envelope of a classified
// document sent on paper: "A" for Tuyệt mật, "B" for Tối mật, "C" for Mật;
// "" for unclassified documents and invalid values.
func (l Level) EnvelopeMark() string {
	switch l {
	case Confidential:
		return "C"
	case Secret:
		return "B"
	case TopSecret:
		return "A"
	}
	return ""
}

// DefaultProtectionYears returns the protection period of the 2018 Law on
// Protection of State Secrets (29/2018/QH14, art. 19): 30 years for Tuyệt
// mật, 20 for Tối mật, 10 for Mật, and 0 (no period) for unclassified
// documents and invalid values. DOMAIN.md asks for these to be verified
// against the 2025 law, so callers take them as defaults that configuration
// may override (see archive.Rules), never as the final word.
func (l Level) DefaultProtectionYears() int {
	switch l {
	case Confidential:
		return 10
	case Secret:
		return 20
	case TopSecret:
		return 30
	}
	return 0
}

// ParseLevel reads a level from its English code or name or its Vietnamese
// name, in any case, with or without diacritics, in NFC or NFD, with space,
// '-' or '_' between words (or none): "top_secret", "Top Secret",
// "TOP-SECRET", "Tuyệt mật", "tuyet mat", "TUYET_MAT", "Tối mật", "toi mat",
// "Mật", "mat", "thường", "thuong". The empty string is not a level: a
// document's level is always stated, never assumed.
func ParseLevel(s string) (Level, error) {
	key, ok := nameKey(s)
	if ok {
		switch key {
		case "unclassified", "thuong":
			return Unclassified, nil
		case "confidential", "mat":
			return Confidential, nil
		case "secret", "toimat":
			return Secret, nil
		case "topsecret", "tuyetmat":
			return TopSecret, nil
		}
	}
	return 0, fmt.Errorf("parse level %s: %w", quoteInput(s), ErrUnknownLevel)
}

// MarshalText encodes the level as its English code (so JSON carries
// "top_secret"). An invalid level is an error rather than a silent number.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, fmt.Errorf("marshal level %d: %w", l, ErrUnknownLevel)
	}
	return []byte(l.String()), nil
}

// UnmarshalText decodes any spelling ParseLevel accepts.
func (l *Level) UnmarshalText(text []byte) error {
	v, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// quoteInput quotes user input for an error message, cut short so that a
// hostile megabyte does not end up in a log line.
func quoteInput(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
