package access

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Role is what a user does in the office. A subject may hold several roles;
// each grants only what Decide says it grants. The zero Role is no role at
// all, so a forgotten field grants nothing.
type Role uint8

// The five roles of DESIGN.md.
const (
	// Reader is a cadre (cán bộ) who searches and reads documents within
	// their clearance and need-to-know.
	Reader Role = 1
	// Archivist is the records clerk (văn thư lưu trữ) who registers and
	// uploads documents, sets the level the signer decided, adds versions,
	// edits metadata and may raise a level or ask for destruction.
	Archivist Role = 2
	// SecurityOfficer is the competent person (người có thẩm quyền) who
	// lowers levels, declassifies, extends protection periods and approves
	// copies and destruction.
	SecurityOfficer Role = 3
	// Auditor (cán bộ kiểm tra) reads and exports the audit log. The role
	// alone reads no document.
	Auditor Role = 4
	// Admin (quản trị) manages accounts, clearances and keys. The role alone
	// reads no document, and grants nothing above the admin's own clearance.
	Admin Role = 5
)

// ErrUnknownRole is returned (wrapped) when a name or value is not a role.
var ErrUnknownRole = errors.New("unknown role")

// Roles returns every role in a new slice.
func Roles() []Role {
	return []Role{Reader, Archivist, SecurityOfficer, Auditor, Admin}
}

// Valid reports whether r is one of the five roles.
func (r Role) Valid() bool { return r >= Reader && r <= Admin }

// String returns the stable English code ("reader", "archivist",
// "security_officer", "auditor", "admin"), or "Role(n)" for an invalid value.
func (r Role) String() string {
	switch r {
	case Reader:
		return "reader"
	case Archivist:
		return "archivist"
	case SecurityOfficer:
		return "security_officer"
	case Auditor:
		return "auditor"
	case Admin:
		return "admin"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// NameVI returns the Vietnamese display name: "Cán bộ", "Văn thư lưu trữ",
// "Người có thẩm quyền", "Cán bộ kiểm tra", "Quản trị"; "" if invalid.
func (r Role) NameVI() string {
	switch r {
	case Reader:
		return "Cán bộ"
	case Archivist:
		return "Văn thư lưu trữ"
	case SecurityOfficer:
		return "Người có thẩm quyền"
	case Auditor:
		return "Cán bộ kiểm tra"
	case Admin:
		return "Quản trị"
	}
	return ""
}

// NameEN returns the English display name: "Reader", "Archivist",
// "Security officer", "Auditor", "Administrator"; "" if invalid.
func (r Role) NameEN() string {
	switch r {
	case Reader:
		return "Reader"
	case Archivist:
		return "Archivist"
	case SecurityOfficer:
		return "Security officer"
	case Auditor:
		return "Auditor"
	case Admin:
		return "Administrator"
	}
	return ""
}

// ParseRole reads a role from its English code or name or its Vietnamese
// name, in any case, with or without diacritics, with space, '-' or '_'
// between words: "security_officer", "Security officer", "người có thẩm
// quyền", "nguoi co tham quyen", "văn thư", "van thu luu tru", "cán bộ",
// "kiểm tra", "quản trị", "administrator".
func ParseRole(s string) (Role, error) {
	key, ok := nameKey(s)
	if ok {
		switch key {
		case "reader", "canbo":
			return Reader, nil
		case "archivist", "vanthu", "vanthuluutru":
			return Archivist, nil
		case "securityofficer", "nguoicothamquyen":
			return SecurityOfficer, nil
		case "auditor", "kiemtra", "canbokiemtra":
			return Auditor, nil
		case "admin", "administrator", "quantri", "quantrivien":
			return Admin, nil
		}
	}
	return 0, fmt.Errorf("parse role %s: %w", quoteInput(s), ErrUnknownRole)
}

// MarshalText encodes the role as its English code.
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, fmt.Errorf("marshal role %d: %w", r, ErrUnknownRole)
	}
	return []byte(r.String()), nil
}

// UnmarshalText decodes any spelling ParseRole accepts.
func (r *Role) UnmarshalText(text []byte) error {
	v, err := ParseRole(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Subject is the user on whose behalf an action is asked: the input of
// Decide on the "who" side. The identity package builds it from an
// authenticated session; nothing in a request body may fill it.
type Subject struct {
	// ID is the user's stable identifier. It is what named-recipient
	// lists and destruction/copy requests refer to. An empty ID is no
	// subject at all and is denied everything.
	ID string `json:"id"`
	// Roles held by the user. Unknown values are ignored.
	Roles []Role `json:"roles"`
	// Clearance is the highest level the user may read.
	Clearance Level `json:"clearance"`
	// Compartments are the need-to-know labels the user holds (see
	// ValidCompartment). A document is readable only if the user holds
	// every one of its compartments.
	Compartments []string `json:"compartments,omitempty"`
	// OrgUnit is the user's organisation unit (ban, phòng). Decide does
	// not use it; it travels with the subject into audit events.
	OrgUnit string `json:"org_unit,omitempty"`
}

// Has reports whether the subject holds role r.
func (s Subject) Has(r Role) bool { return slices.Contains(s.Roles, r) }

// HasAny reports whether the subject holds at least one of roles.
func (s Subject) HasAny(roles ...Role) bool {
	for _, r := range roles {
		if s.Has(r) {
			return true
		}
	}
	return false
}

// MaxCompartmentLen is the longest compartment label, in bytes.
const MaxCompartmentLen = 64

// ValidCompartment reports whether label is a well-formed compartment
// (need-to-know) label: 1 to MaxCompartmentLen bytes of lower-case ASCII
// letters, digits, '.', '-' and '_', starting with a letter or digit.
// Decide compares labels byte for byte, so a single spelling per label —
// ASCII, lower case — is what keeps "Kinh-Te" from silently differing from
// "kinh-te".
func ValidCompartment(label string) bool {
	if label == "" || len(label) > MaxCompartmentLen {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}
