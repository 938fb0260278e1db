package identity

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"khomat/archive"
	"khomat/archive/access"
)

// Limits on account fields. Lengths count characters (runes).
const (
	MinUsernameLen    = 3
	MaxUsernameLen    = 64
	MaxDisplayNameLen = 200
	MaxOrgUnitLen     = 200
	MaxCompartments   = 32 // compartments held by one user
	// DefaultMinPasswordLen is the shortest password accepted unless
	// Config.MinPasswordLen says otherwise. Length is the one rule (NIST
	// SP 800-63B): no composition rules, which push people to predictable
	// patterns.
	DefaultMinPasswordLen = 12
	// MaxPasswordBytes bounds the work one login can ask for.
	MaxPasswordBytes = 1024
)

// User is an account: who someone is in Khomat and what they may see. It
// never holds the password hash.
type User struct {
	// ID is 32 lower-case hex digits of a random 128-bit value. It never
	// changes; documents, named-recipient lists and audit events refer to
	// it.
	ID string `json:"id"`
	// Username is the login name, in its canonical form: NFC, case-folded
	// (lower case). It is unique and never changes.
	Username string `json:"username"`
	// DisplayName is the person's name as shown (Họ và tên).
	DisplayName string `json:"display_name"`
	// Roles held, sorted, without repeats.
	Roles []access.Role `json:"roles"`
	// Clearance is the highest level the user may read.
	Clearance access.Level `json:"clearance"`
	// Compartments are the need-to-know labels held, sorted.
	Compartments []string `json:"compartments"`
	// OrgUnit is the user's organisation unit (ban, phòng).
	OrgUnit string `json:"org_unit"`
	// Disabled accounts cannot log in, and their sessions end.
	Disabled bool `json:"disabled"`

	// CreatedAt and CreatedBy say when and by whom (a subject ID, or
	// "system" for the first admin) the account was made; UpdatedAt and
	// UpdatedBy the same of its last change; PasswordChangedAt when its
	// password was last set. All UTC.
	CreatedAt         time.Time `json:"created_at"`
	CreatedBy         string    `json:"created_by"`
	UpdatedAt         time.Time `json:"updated_at"`
	UpdatedBy         string    `json:"updated_by"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
	// Revision counts the writes of the account, from 1. Update's
	// IfRevision uses it for optimistic concurrency (an HTTP ETag).
	Revision uint64 `json:"revision"`
}

// Subject returns the user as the access policy sees them. A disabled
// user is the zero Subject, which access.Decide denies everything.
func (u User) Subject() access.Subject {
	if u.Disabled {
		return access.Subject{}
	}
	return access.Subject{
		ID:           u.ID,
		Roles:        slices.Clone(u.Roles),
		Clearance:    u.Clearance,
		Compartments: slices.Clone(u.Compartments),
		OrgUnit:      u.OrgUnit,
	}
}

func (u User) clone() User {
	u.Roles = slices.Clone(u.Roles)
	u.Compartments = slices.Clone(u.Compartments)
	return u
}

// NewUser is what an admin gives to create an account. The fields are those
// of User (Username in any case and normal form: it is made canonical), plus
// the initial Password, which must meet the policy (Config.MinPasswordLen
// characters at least, at most MaxPasswordBytes, not the username).
type NewUser struct {
	Username     string
	Password     string
	DisplayName  string        // required
	Roles        []access.Role // at least one
	Clearance    access.Level
	Compartments []string // lower-case ASCII labels, see access.ValidCompartment
	OrgUnit      string   // optional
}

// UserUpdate changes some fields of an account; a nil field is left as it
// is, and a set one replaces the field of User with the same name (validated
// as in NewUser). The username and the password are not changed here (the
// username never changes; see SetPassword and ChangePassword).
type UserUpdate struct {
	DisplayName  *string
	OrgUnit      *string
	Roles        *[]access.Role // access.ManageUsers; ends the sessions
	Clearance    *access.Level  // access.GrantClearance; ends the sessions
	Compartments *[]string      // access.GrantClearance; ends the sessions
	Disabled     *bool          // true ends the sessions
	// IfRevision, when not zero, makes the update conditional: it fails
	// with ErrConflict unless the account is still at this revision.
	IfRevision uint64
}

// CanonicalUsername returns the form under which a username is stored and
// compared: NFC, surrounding space removed, case-folded. It does not
// validate; Create and Login do.
func CanonicalUsername(name string) string {
	if !utf8.ValidString(name) {
		return name
	}
	s := norm.NFC.String(strings.TrimSpace(name))
	return norm.NFC.String(cases.Fold().String(s))
}

// checker collects field errors.
type checker struct{ errs FieldErrors }

func (c *checker) add(field, code, en, vi string) {
	c.errs = append(c.errs, archive.FieldError{Field: field, Code: code, Message: en, MessageVI: vi})
}

func (c *checker) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// username checks a canonical username.
func (c *checker) username(name string) {
	const field = "username"
	if !utf8.ValidString(name) {
		c.add(field, archive.CodeInvalidUTF8, "is not valid UTF-8", "không phải văn bản UTF-8 hợp lệ")
		return
	}
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		c.add(field, archive.CodeRequired, "is required", "không được để trống")
		return
	case n < MinUsernameLen:
		c.add(field, archive.CodeInvalid,
			fmt.Sprintf("must have at least %d characters", MinUsernameLen),
			fmt.Sprintf("phải có ít nhất %d ký tự", MinUsernameLen))
		return
	case n > MaxUsernameLen:
		c.add(field, archive.CodeTooLong,
			fmt.Sprintf("must have at most %d characters", MaxUsernameLen),
			fmt.Sprintf("không được dài quá %d ký tự", MaxUsernameLen))
		return
	}
	for i, r := range name {
		letter := unicode.IsLetter(r) || unicode.IsDigit(r)
		if !letter && (i == 0 || !strings.ContainsRune(".-_", r)) {
			c.add(field, archive.CodeInvalid,
				"may hold only letters, digits, '.', '-' and '_', and must start with a letter or digit",
				"chỉ được gồm chữ cái, chữ số, dấu '.', '-', '_' và phải bắt đầu bằng chữ cái hoặc chữ số")
			return
		}
	}
	if name == reservedUsername {
		c.add(field, archive.CodeNotAllowed, "is reserved", "là tên dành riêng cho hệ thống")
	}
}

// reservedUsername is the audit log's system actor; no person takes it.
const reservedUsername = "system"

// password checks a password (already NFC) against the policy.
func (c *checker) password(field, pw, canonicalUser string, minLen int) {
	switch {
	case !utf8.ValidString(pw):
		c.add(field, archive.CodeInvalidUTF8, "is not valid UTF-8", "không phải văn bản UTF-8 hợp lệ")
	case pw == "":
		c.add(field, archive.CodeRequired, "is required", "không được để trống")
	case utf8.RuneCountInString(pw) < minLen:
		c.add(field, archive.CodeInvalid,
			fmt.Sprintf("must have at least %d characters", minLen),
			fmt.Sprintf("phải có ít nhất %d ký tự", minLen))
	case len(pw) > MaxPasswordBytes:
		c.add(field, archive.CodeTooLong,
			fmt.Sprintf("must be at most %d bytes long", MaxPasswordBytes),
			fmt.Sprintf("không được dài quá %d byte", MaxPasswordBytes))
	case canonicalUser != "" && CanonicalUsername(pw) == canonicalUser:
		c.add(field, archive.CodeInvalid, "must not be the username", "không được trùng tên đăng nhập")
	}
}

// text checks a free-text field already normalised by cleanText.
func (c *checker) text(field, s string, maxLen int, required bool) {
	switch {
	case !utf8.ValidString(s):
		c.add(field, archive.CodeInvalidUTF8, "is not valid UTF-8", "không phải văn bản UTF-8 hợp lệ")
		return
	case s == "":
		if required {
			c.add(field, archive.CodeRequired, "is required", "không được để trống")
		}
		return
	case utf8.RuneCountInString(s) > maxLen:
		c.add(field, archive.CodeTooLong,
			fmt.Sprintf("must have at most %d characters", maxLen),
			fmt.Sprintf("không được dài quá %d ký tự", maxLen))
		return
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			c.add(field, archive.CodeControlChar, "contains a control character", "chứa ký tự điều khiển")
			return
		}
	}
}

func (c *checker) roles(rs []access.Role) {
	if len(rs) == 0 {
		c.add("roles", archive.CodeRequired, "at least one role is required", "phải có ít nhất một vai trò")
		return
	}
	for i, r := range rs {
		field := fmt.Sprintf("roles[%d]", i)
		switch {
		case !r.Valid():
			c.add(field, archive.CodeUnknown, "is not a role", "không phải vai trò hợp lệ")
		case slices.Contains(rs[:i], r):
			c.add(field, archive.CodeDuplicate, "repeats an earlier entry", "trùng với mục trước")
		}
	}
}

func (c *checker) clearance(l access.Level) {
	if !l.Valid() {
		c.add("clearance", archive.CodeUnknown, "is not a secrecy level", "không phải độ mật hợp lệ")
	}
}

func (c *checker) compartments(cs []string) {
	if len(cs) > MaxCompartments {
		c.add("compartments", archive.CodeTooMany,
			fmt.Sprintf("must have at most %d entries", MaxCompartments),
			fmt.Sprintf("không được quá %d mục", MaxCompartments))
		return
	}
	for i, label := range cs {
		field := fmt.Sprintf("compartments[%d]", i)
		switch {
		case !access.ValidCompartment(label):
			c.add(field, archive.CodeInvalid,
				"must be 1 to 64 lower-case ASCII letters, digits, '.', '-' or '_'",
				"phải gồm 1 đến 64 chữ cái ASCII thường, chữ số, '.', '-' hoặc '_'")
		case slices.Contains(cs[:i], label):
			c.add(field, archive.CodeDuplicate, "repeats an earlier entry", "trùng với mục trước")
		}
	}
}

// cleanText is the normal form of free text: NFC without surrounding
// space. Invalid UTF-8 is left for the checker to report.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		return s
	}
	return strings.TrimSpace(norm.NFC.String(s))
}

// cleanPassword puts a password in NFC, so the same password typed on a
// keyboard that produces NFD (macOS) or NFC matches; nothing else changes.
func cleanPassword(pw string) string {
	if !utf8.ValidString(pw) {
		return pw
	}
	return norm.NFC.String(pw)
}

func cleanCompartments(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = strings.ToLower(cleanText(c))
	}
	return out
}

// sortedRoles returns a sorted copy: the stored form, so that comparing
// two role lists is comparing slices.
func sortedRoles(rs []access.Role) []access.Role {
	out := slices.Clone(rs)
	slices.Sort(out)
	return out
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}
