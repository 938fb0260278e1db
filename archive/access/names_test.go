package access

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// nfd spells Vietnamese words decomposed, as some keyboards and macOS file
// names do, so the tests do not depend on how this file was saved.
const (
	nfdToiMat    = "To\u0302\u0301i ma\u0302\u0323t"                                     // Tối mật
	nfdTuyetMat  = "Tuye\u0302\u0323t ma\u0302\u0323t"                                   // Tuyệt mật
	nfdThuong    = "thu\u031bo\u031b\u0300ng"                                            // thường
	nfdHoaToc    = "Ho\u0309a to\u0302\u0301c"                                           // Hỏa tốc
	nfdNguoiCoTQ = "ngu\u031bo\u031b\u0300i co\u0301 tha\u0302\u0309m quye\u0302\u0300n" // người có thẩm quyền
)

func TestParseLevel(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Level
	}{
		{"unclassified", Unclassified},
		{"UNCLASSIFIED", Unclassified},
		{"thường", Unclassified},
		{"Thường", Unclassified},
		{"thuong", Unclassified},
		{"THUONG", Unclassified},
		{nfdThuong, Unclassified},
		{"confidential", Confidential},
		{"Confidential", Confidential},
		{"Mật", Confidential},
		{"MẬT", Confidential},
		{"mat", Confidential},
		{"ma\u0302\u0323t", Confidential},
		{"secret", Secret},
		{"Secret", Secret},
		{"Tối mật", Secret},
		{"TỐI MẬT", Secret},
		{"toi mat", Secret},
		{"TOI_MAT", Secret},
		{"toi-mat", Secret},
		{"toimat", Secret},
		{"  tối   mật  ", Secret},
		{nfdToiMat, Secret},
		{"top_secret", TopSecret},
		{"Top Secret", TopSecret},
		{"TOP-SECRET", TopSecret},
		{"topsecret", TopSecret},
		{"Tuyệt mật", TopSecret},
		{"TUYỆT MẬT", TopSecret},
		{"tuyet mat", TopSecret},
		{"Tuyet_Mat", TopSecret},
		{nfdTuyetMat, TopSecret},
		{"tuyệt mat", TopSecret}, // half the diacritics typed
	}
	for _, tt := range good {
		got, err := ParseLevel(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []string{
		"", " ", "tuyệt", "mật mật", "top secret!", "secret1", "A", "C", "level 2", "2",
		"mat\x00", "toi\xffmat",
		"tôi mật x", strings.Repeat("mat", 100), "đ", "Mật\u200b",
	}
	for _, in := range bad {
		if got, err := ParseLevel(in); !errors.Is(err, ErrUnknownLevel) {
			t.Errorf("ParseLevel(%q) = %v, %v; want ErrUnknownLevel", in, got, err)
		}
	}
}

// TestParseLevelFoldsLoosely documents a deliberate looseness: folding
// removes every mark, so a wrong diacritic still finds the level. The
// parser reads what people type; it is not a spell checker.
func TestParseLevelFoldsLoosely(t *testing.T) {
	t.Parallel()
	if got, err := ParseLevel("mât"); err != nil || got != Confidential {
		t.Errorf("ParseLevel(mât) = %v, %v", got, err)
	}
}

func TestLevelNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		l                             Level
		code, vi, en, stamp, envelope string
		years                         int
	}{
		{Unclassified, "unclassified", "Thường", "Unclassified", "", "", 0},
		{Confidential, "confidential", "Mật", "Confidential", "MẬT", "C", 10},
		{Secret, "secret", "Tối mật", "Secret", "TỐI MẬT", "B", 20},
		{TopSecret, "top_secret", "Tuyệt mật", "Top Secret", "TUYỆT MẬT", "A", 30},
		{Level(4), "Level(4)", "", "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if tt.l.String() != tt.code || tt.l.NameVI() != tt.vi || tt.l.NameEN() != tt.en ||
				tt.l.Stamp() != tt.stamp || tt.l.EnvelopeMark() != tt.envelope || tt.l.DefaultProtectionYears() != tt.years {
				t.Errorf("%d: got %q %q %q %q %q %d", tt.l, tt.l.String(), tt.l.NameVI(), tt.l.NameEN(),
					tt.l.Stamp(), tt.l.EnvelopeMark(), tt.l.DefaultProtectionYears())
			}
			if !tt.l.Valid() {
				return
			}
			for _, name := range []string{tt.code, tt.vi, tt.en, tt.stamp} {
				if name == "" {
					continue
				}
				if got, err := ParseLevel(name); err != nil || got != tt.l {
					t.Errorf("ParseLevel(%q) = %v, %v", name, got, err)
				}
			}
		})
	}
}

// TestLevelNumbering pins the numeric values: the crypto keyring and stored
// formats number levels the same way.
func TestLevelNumbering(t *testing.T) {
	t.Parallel()
	if Unclassified != 0 || Confidential != 1 || Secret != 2 || TopSecret != 3 {
		t.Fatal("level numbering changed")
	}
	ls := Levels()
	for i := 1; i < len(ls); i++ {
		if ls[i-1] >= ls[i] {
			t.Fatalf("Levels not ascending: %v", ls)
		}
	}
	if Unclassified.Classified() || !Confidential.Classified() || !TopSecret.Classified() || Level(4).Classified() {
		t.Error("Classified wrong")
	}
}

func TestLevelJSON(t *testing.T) {
	t.Parallel()
	type doc struct {
		Level   Level   `json:"level"`
		Urgency Urgency `json:"urgency"`
		Role    Role    `json:"role"`
		Action  Action  `json:"action"`
	}
	b, err := json.Marshal(doc{TopSecret, VeryUrgent, SecurityOfficer, LowerLevel})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"level":"top_secret","urgency":"very_urgent","role":"security_officer","action":"lower_level"}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"level":"Tối mật","urgency":"hoa toc","role":"văn thư","action":"read"}`), &d); err != nil {
		t.Fatal(err)
	}
	if d != (doc{Secret, Flash, Archivist, Read}) {
		t.Errorf("Unmarshal = %+v", d)
	}
	for _, in := range []string{`{"level":"bí mật"}`, `{"level":""}`, `{"level":2}`, `{"urgency":"rất khẩn"}`, `{"role":"root"}`, `{"action":"delete"}`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) accepted", in)
		}
	}
	if _, err := json.Marshal(doc{Level: Level(9)}); !errors.Is(err, ErrUnknownLevel) {
		t.Errorf("Marshal of invalid level: %v", err)
	}
	if _, err := json.Marshal(doc{Role: Role(0)}); !errors.Is(err, ErrUnknownRole) {
		t.Errorf("Marshal of zero role: %v", err)
	}
}

func TestParseUrgency(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Urgency
	}{
		{"", UrgencyNone}, {"none", UrgencyNone}, {"Normal", UrgencyNone}, {"thường", UrgencyNone}, {"thuong", UrgencyNone},
		{"urgent", Urgent}, {"Khẩn", Urgent}, {"KHẨN", Urgent}, {"khan", Urgent},
		{"very_urgent", VeryUrgent}, {"Very urgent", VeryUrgent}, {"Thượng khẩn", VeryUrgent}, {"THUONG KHAN", VeryUrgent}, {"thuong-khan", VeryUrgent},
		{"flash", Flash}, {"Hỏa tốc", Flash}, {"Hoả tốc", Flash}, {"HỎA TỐC", Flash}, {"hoa toc", Flash}, {"HOA_TOC", Flash}, {nfdHoaToc, Flash},
	}
	for _, tt := range good {
		got, err := ParseUrgency(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseUrgency(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"khẩn cấp", "hỏa", "fast", "3", "\xc3"} {
		if _, err := ParseUrgency(in); !errors.Is(err, ErrUnknownUrgency) {
			t.Errorf("ParseUrgency(%q): %v", in, err)
		}
	}
	for _, u := range Urgencies() {
		for _, name := range []string{u.String(), u.NameVI(), u.NameEN(), u.Stamp()} {
			if got, err := ParseUrgency(name); err != nil || got != u {
				t.Errorf("ParseUrgency(%q) = %v, %v; want %v", name, got, err, u)
			}
		}
	}
	if Flash.Stamp() != "HỎA TỐC" || VeryUrgent.Stamp() != "THƯỢNG KHẨN" || Urgent.Stamp() != "KHẨN" || UrgencyNone.Stamp() != "" {
		t.Error("urgency stamps")
	}
	if Urgency(4).Valid() || Urgency(4).String() != "Urgency(4)" || Urgency(4).NameVI() != "" {
		t.Error("invalid urgency")
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Role
	}{
		{"reader", Reader}, {"Cán bộ", Reader}, {"can bo", Reader},
		{"archivist", Archivist}, {"Văn thư", Archivist}, {"văn thư lưu trữ", Archivist}, {"VAN_THU_LUU_TRU", Archivist},
		{"security_officer", SecurityOfficer}, {"Security officer", SecurityOfficer}, {"security-officer", SecurityOfficer},
		{"Người có thẩm quyền", SecurityOfficer}, {"nguoi co tham quyen", SecurityOfficer}, {nfdNguoiCoTQ, SecurityOfficer},
		{"auditor", Auditor}, {"Kiểm tra", Auditor}, {"cán bộ kiểm tra", Auditor},
		{"admin", Admin}, {"Administrator", Admin}, {"Quản trị", Admin}, {"quan tri vien", Admin},
	}
	for _, tt := range good {
		got, err := ParseRole(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseRole(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "root", "superuser", "cán", "Role(1)"} {
		if _, err := ParseRole(in); !errors.Is(err, ErrUnknownRole) {
			t.Errorf("ParseRole(%q): %v", in, err)
		}
	}
	for _, r := range Roles() {
		for _, name := range []string{r.String(), r.NameVI(), r.NameEN()} {
			if got, err := ParseRole(name); err != nil || got != r {
				t.Errorf("ParseRole(%q) = %v, %v; want %v", name, got, err, r)
			}
		}
	}
	if Role(0).Valid() || Role(6).Valid() || Role(0).String() != "Role(0)" {
		t.Error("invalid role")
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, a := range Actions() {
		if !a.Valid() || a.NameVI() == "" || a.NameEN() == "" {
			t.Errorf("action %d lacks a name", a)
		}
		code := a.String()
		if seen[code] || code != strings.ToLower(code) || strings.ContainsAny(code, " -") {
			t.Errorf("action code %q duplicate or not snake_case", code)
		}
		seen[code] = true
		if got, err := ParseAction(code); err != nil || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", code, got, err)
		}
	}
	if got, err := ParseAction("Lower-Level"); err != nil || got != LowerLevel {
		t.Errorf("ParseAction(Lower-Level) = %v, %v", got, err)
	}
	for _, in := range []string{"", "delete", "Action(0)", "readaudit x"} {
		if _, err := ParseAction(in); !errors.Is(err, ErrUnknownAction) {
			t.Errorf("ParseAction(%q): %v", in, err)
		}
	}
	if Action(0).Valid() || Action(0).String() != "Action(0)" {
		t.Error("zero action")
	}
}

func TestValidCompartment(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"kinh-te", "a", "0", "qp.2024", "doi_ngoai", strings.Repeat("x", MaxCompartmentLen)} {
		if !ValidCompartment(ok) {
			t.Errorf("ValidCompartment(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "Kinh-Te", "kinh tế", "kinh te", "-a", ".a", "_a", "a/b", "a\x00", strings.Repeat("x", MaxCompartmentLen+1)} {
		if ValidCompartment(bad) {
			t.Errorf("ValidCompartment(%q) = true", bad)
		}
	}
}

func TestSubjectHas(t *testing.T) {
	t.Parallel()
	s := Subject{ID: "a", Roles: []Role{Auditor, Reader}}
	if !s.Has(Reader) || s.Has(Admin) || !s.HasAny(Admin, Auditor) || s.HasAny() {
		t.Error("Has/HasAny")
	}
}

func TestErrorsQuoteShortInput(t *testing.T) {
	t.Parallel()
	_, err := ParseLevel(strings.Repeat("x", 1000))
	if err == nil || len(err.Error()) > 120 {
		t.Errorf("error too long or missing: %v", err)
	}
}

// FuzzParse feeds arbitrary text to every parser of the package: none may
// panic, and whatever parses must be valid and survive a round trip through
// its code and its display names.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"top_secret", "Tối mật", nfdToiMat, "hoa toc", "văn thư", "read", "", "\xff", "ma\u0302\u0323t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if l, err := ParseLevel(s); err == nil {
			if !l.Valid() {
				t.Fatalf("ParseLevel(%q) = invalid %d", s, l)
			}
			for _, name := range []string{l.String(), l.NameVI(), l.NameEN()} {
				if back, err := ParseLevel(name); err != nil || back != l {
					t.Fatalf("round trip of %v through %q: %v, %v", l, name, back, err)
				}
			}
		}
		if u, err := ParseUrgency(s); err == nil && !u.Valid() {
			t.Fatalf("ParseUrgency(%q) = invalid %d", s, u)
		}
		if r, err := ParseRole(s); err == nil && !r.Valid() {
			t.Fatalf("ParseRole(%q) = invalid %d", s, r)
		}
		if a, err := ParseAction(s); err == nil && !a.Valid() {
			t.Fatalf("ParseAction(%q) = invalid %d", s, a)
		}
	})
}
