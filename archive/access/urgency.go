package access

import (
	"errors"
	"fmt"
	"strconv"
)

// Urgency is the urgency of an administrative document (độ khẩn). It decides
// how fast a document must be registered and delivered, never who may read
// it. Urgencies are ordered, least urgent first.
type Urgency uint8

// The urgencies of Decree 30/2020 and the Party's guide 36-HD/VPTW.
const (
	// UrgencyNone is an ordinary document ("thường"): no urgency stamp.
	UrgencyNone Urgency = 0
	// Urgent is "Khẩn".
	Urgent Urgency = 1
	// VeryUrgent is "Thượng khẩn".
	VeryUrgent Urgency = 2
	// Flash is "Hỏa tốc", the most urgent.
	Flash Urgency = 3
)

// ErrUnknownUrgency is returned (wrapped) when a name or value is not one of
// the four urgencies.
var ErrUnknownUrgency = errors.New("unknown urgency")

// Urgencies returns every urgency, least urgent first, in a new slice.
func Urgencies() []Urgency {
	return []Urgency{UrgencyNone, Urgent, VeryUrgent, Flash}
}

// Valid reports whether u is one of the four urgencies.
func (u Urgency) Valid() bool { return u <= Flash }

// String returns the stable English code ("none", "urgent", "very_urgent",
// "flash") used in JSON and logs, or "Urgency(n)" for an invalid value.
func (u Urgency) String() string {
	switch u {
	case UrgencyNone:
		return "none"
	case Urgent:
		return "urgent"
	case VeryUrgent:
		return "very_urgent"
	case Flash:
		return "flash"
	}
	return "Urgency(" + strconv.Itoa(int(u)) + ")"
}

// NameVI returns the Vietnamese display name: "Thường", "Khẩn",
// "Thượng khẩn", "Hỏa tốc"; "" for an invalid value.
func (u Urgency) NameVI() string {
	switch u {
	case UrgencyNone:
		return "Thường"
	case Urgent:
		return "Khẩn"
	case VeryUrgent:
		return "Thượng khẩn"
	case Flash:
		return "Hỏa tốc"
	}
	return ""
}

// NameEN returns the English display name: "Normal", "Urgent",
// "Very urgent", "Flash"; "" for an invalid value.
func (u Urgency) NameEN() string {
	switch u {
	case UrgencyNone:
		return "Normal"
	case Urgent:
		return "Urgent"
	case VeryUrgent:
		return "Very urgent"
	case Flash:
		return "Flash"
	}
	return ""
}

// Stamp returns the urgency stamp text: "KHẨN", "THƯỢNG KHẨN", "HỎA TỐC";
// "" when the document is not urgent (or the value is invalid).
func (u Urgency) Stamp() string {
	switch u {
	case Urgent:
		return "KHẨN"
	case VeryUrgent:
		return "THƯỢNG KHẨN"
	case Flash:
		return "HỎA TỐC"
	}
	return ""
}

// ParseUrgency reads an urgency from its English code or name or its
// Vietnamese name, in any case, with or without diacritics (both "Hỏa tốc"
// and the older placement "Hoả tốc"), in NFC or NFD, with space, '-' or '_'
// between words. The empty string, "none", "normal" and "thường" mean
// UrgencyNone: unlike a secrecy level, a missing urgency has an obvious and
// harmless meaning.
func ParseUrgency(s string) (Urgency, error) {
	key, ok := nameKey(s)
	if ok {
		switch key {
		case "", "none", "normal", "thuong":
			return UrgencyNone, nil
		case "urgent", "khan":
			return Urgent, nil
		case "veryurgent", "thuongkhan":
			return VeryUrgent, nil
		case "flash", "hoatoc":
			return Flash, nil
		}
	}
	return 0, fmt.Errorf("parse urgency %s: %w", quoteInput(s), ErrUnknownUrgency)
}

// MarshalText encodes the urgency as its English code.
func (u Urgency) MarshalText() ([]byte, error) {
	if !u.Valid() {
		return nil, fmt.Errorf("marshal urgency %d: %w", u, ErrUnknownUrgency)
	}
	return []byte(u.String()), nil
}

// UnmarshalText decodes any spelling ParseUrgency accepts.
func (u *Urgency) UnmarshalText(text []byte) error {
	v, err := ParseUrgency(string(text))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
