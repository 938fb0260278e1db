package archive

import (
	"errors"
	"fmt"
	"time"
)

// Date is a calendar date without a time of day or a time zone: the date a
// document was issued, a recall deadline, the start of a protection period.
// Documents carry dates, not instants, and a date read in Hà Nội must not
// shift by a day when a server runs in UTC. The zero Date means "no date".
//
// In JSON and the API a Date is ISO 8601 "2006-01-02"; the interface shows
// it as dd/mm/yyyy (StringVI).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ErrInvalidDate is returned (wrapped) by ParseDate for text that is not a
// calendar date in the form YYYY-MM-DD.
var ErrInvalidDate = errors.New("invalid date")

const isoDate = "2006-01-02"

// DateOf returns the calendar date of t in t's own location. To get "today
// in Việt Nam", convert first: DateOf(now.In(loc)) (see Rules.Today).
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate reads a date written as YYYY-MM-DD. The empty string is the zero
// Date. Impossible dates (2025-02-30) are refused.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	t, err := time.Parse(isoDate, s)
	if err != nil {
		return Date{}, fmt.Errorf("parse %q: %w: want YYYY-MM-DD", truncate(s), ErrInvalidDate)
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date (no date).
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a real calendar date between years 1 and 9999.
func (d Date) Valid() bool {
	if d.Year < 1 || d.Year > 9999 {
		return false
	}
	return DateOf(d.Time(time.UTC)) == d
}

// Time returns midnight at the start of d in loc.
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	}
	return cmpInt(d.Day, e.Day)
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

// AddYears returns the date n years after d. 29 February plus a number of
// years that lands on a common year gives 1 March, as time.AddDate does: a
// period never ends early.
func (d Date) AddYears(n int) Date {
	return DateOf(d.Time(time.UTC).AddDate(n, 0, 0))
}

// String returns the date as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// StringVI returns the date as the Vietnamese interface writes it,
// dd/mm/yyyy, or "" for the zero Date.
func (d Date) StringVI() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%02d/%02d/%04d", d.Day, int(d.Month), d.Year)
}

// MarshalText encodes the date as String does; the zero Date as "". Use
// the `omitzero` JSON option to leave an absent date out.
func (d Date) MarshalText() ([]byte, error) {
	if !d.IsZero() && !d.Valid() {
		return nil, fmt.Errorf("marshal %d-%d-%d: %w", d.Year, d.Month, d.Day, ErrInvalidDate)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes what ParseDate accepts.
func (d *Date) UnmarshalText(text []byte) error {
	v, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
