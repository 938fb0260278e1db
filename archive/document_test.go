package archive

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"khomat/archive/access"
)

func TestNewID(t *testing.T) {
	t.Parallel()
	random := bytes.NewReader([]byte("0123456789abcdef0123456789ABCDEF"))
	a, err := NewID(random)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewID(random)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a.IsZero() {
		t.Errorf("ids %v and %v", a, b)
	}
	if got := a.String(); got != "30313233343536373839616263646566" {
		t.Errorf("String = %q", got)
	}
	if _, err := NewID(random); !errors.Is(err, io.EOF) {
		t.Errorf("exhausted source: %v", err)
	}
	if _, err := NewID(bytes.NewReader(make([]byte, 16))); err == nil {
		t.Error("an all-zero id was handed out")
	}
	if _, err := NewID(bytes.NewReader(make([]byte, 5))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short source: %v", err)
	}
}

func TestParseID(t *testing.T) {
	t.Parallel()
	id := ID{0xde, 0xad, 0xbe, 0xef, 15: 0x01}
	s := id.String()
	if s != "deadbeef000000000000000000000001" {
		t.Fatalf("String = %q", s)
	}
	for _, in := range []string{s, strings.ToUpper(s)} {
		if got, err := ParseID(in); err != nil || got != id {
			t.Errorf("ParseID(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "deadbeef", s + "00", "zz" + s[2:], " " + s[1:], "../" + s[3:]} {
		if _, err := ParseID(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseID(%q): %v", bad, err)
		}
	}
	b, err := json.Marshal(struct{ ID ID }{id})
	if err != nil || string(b) != `{"ID":"deadbeef000000000000000000000001"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
}

func TestParseDigest(t *testing.T) {
	t.Parallel()
	const hexSum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // SHA-256 of nothing
	d, err := ParseDigest(hexSum)
	if err != nil || d.String() != hexSum || d.IsZero() {
		t.Errorf("ParseDigest = %v, %v", d, err)
	}
	for _, bad := range []string{"", hexSum[:63], hexSum + "0", "g" + hexSum[1:]} {
		if _, err := ParseDigest(bad); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("ParseDigest(%q): %v", bad, err)
		}
	}
}

func TestDate(t *testing.T) {
	t.Parallel()
	d, err := ParseDate("2024-02-29")
	if err != nil || d != (Date{2024, time.February, 29}) {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if d.String() != "2024-02-29" || d.StringVI() != "29/02/2024" {
		t.Errorf("String %q, StringVI %q", d.String(), d.StringVI())
	}
	if got := d.AddYears(1); got != (Date{2025, time.March, 1}) {
		t.Errorf("AddYears(1) of 29 Feb = %v", got)
	}
	if got := d.AddYears(4); got != (Date{2028, time.February, 29}) {
		t.Errorf("AddYears(4) = %v", got)
	}
	for _, bad := range []string{"2024-02-30", "2024-2-3", "29/02/2024", "2024-02-29T00:00:00Z", "x"} {
		if _, err := ParseDate(bad); !errors.Is(err, ErrInvalidDate) {
			t.Errorf("ParseDate(%q): %v", bad, err)
		}
	}
	if z, err := ParseDate(""); err != nil || !z.IsZero() || z.String() != "" {
		t.Errorf("ParseDate(\"\") = %v, %v", z, err)
	}
	a, b := Date{2024, 12, 31}, Date{2025, 1, 1}
	if !a.Before(b) || !b.After(a) || a.Compare(a) != 0 || b.Compare(a) != 1 || a.Compare(b) != -1 {
		t.Error("Compare")
	}
	if (Date{2024, 12, 1}).Compare(Date{2024, 11, 30}) != 1 {
		t.Error("Compare across months")
	}
	if (Date{2023, 2, 29}).Valid() || (Date{0, 1, 1}).Valid() || (Date{10000, 1, 1}).Valid() || !(Date{2024, 2, 29}).Valid() {
		t.Error("Valid")
	}
	if _, err := json.Marshal(Date{2023, 2, 29}); !errors.Is(err, ErrInvalidDate) {
		t.Errorf("Marshal of an impossible date: %v", err)
	}
	// DateOf takes the date where the instant is observed.
	late := time.Date(2025, 3, 1, 20, 0, 0, 0, time.UTC)
	if got := (Rules{}).Today(late); got != (Date{2025, 3, 2}) {
		t.Errorf("Today in Hà Nội at 20:00 UTC = %v", got)
	}
	if got := (Rules{Location: time.UTC}).Today(late); got != (Date{2025, 3, 1}) {
		t.Errorf("Today in UTC = %v", got)
	}
}

func TestDocTypes(t *testing.T) {
	t.Parallel()
	seen := map[DocType]bool{}
	for _, dt := range DocTypes() {
		if !dt.Valid() || dt.NameVI() == "" || dt.NameEN() == "" || seen[dt] {
			t.Errorf("type %q: names %q/%q, duplicate %v", dt, dt.NameVI(), dt.NameEN(), seen[dt])
		}
		seen[dt] = true
		for _, name := range []string{string(dt), dt.NameVI(), dt.NameEN(), strings.ToUpper(dt.NameVI())} {
			if got, err := ParseDocType(name); err != nil || got != dt {
				t.Errorf("ParseDocType(%q) = %q, %v", name, got, err)
			}
		}
	}
	for _, tt := range []struct {
		in   string
		want DocType
	}{
		{"nghi quyet", TypeResolution},
		{"NGHI_QUYET", TypeResolution},
		{"Nghi\u0323 quye\u0302\u0301t", TypeResolution}, // NFD
		{"cong van", TypeOfficialLetter},
		{"Công-văn", TypeOfficialLetter},
		{"official letter", TypeOfficialLetter},
		{"de an", TypeScheme},
		{"dieu le", TypeCharter},
		{"to trinh", TypeSubmission},
		{"hoa toc", ""},
	} {
		got, err := ParseDocType(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrUnknownDocType) {
				t.Errorf("ParseDocType(%q) = %q, %v; want ErrUnknownDocType", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDocType(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, code := range []string{"resolution", "official_letter", "other"} {
		if !DocType(code).Valid() {
			t.Errorf("code %q not valid", code)
		}
	}
	if DocType("memo").Valid() || DocType("").Valid() {
		t.Error("unknown types valid")
	}
}

// TestDocumentJSON pins the JSON field names (snake_case, metadata inlined)
// and checks a round trip.
func TestDocumentJSON(t *testing.T) {
	t.Parallel()
	d := valDocument()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"id", "version", "revision", "content_type", "size", "sha256", "created_by", "created_at",
		"updated_by", "updated_at", "classification_history",
		"issuing_body", "number_symbol", "place_issued", "date_issued", "doc_type", "title", "summary",
		"signer_position", "signer_name", "recipients", "level", "urgency", "distribution_scope",
		"pages", "copies", "language", "dossier_code", "keywords", "retention", "protection",
		"state_secret_ref", "compartments", "named_recipients", "recall_deadline",
	}
	var got []string
	for k := range fields {
		got = append(got, k)
	}
	if !sameProblems(got, want) {
		t.Errorf("JSON fields %v, want %v", got, want)
	}
	for k, v := range map[string]string{
		"level":       `"secret"`,
		"urgency":     `"urgent"`,
		"date_issued": `"2024-05-17"`,
		"doc_type":    `"resolution"`,
		"retention":   `{"permanent":true}`,
		"protection":  `{"years":15}`,
		"id":          `"5ec73a0102030405060708090a0b0c0d"`,
	} {
		if string(fields[k]) != v {
			t.Errorf("%s = %s, want %s", k, fields[k], v)
		}
	}
	if !strings.Contains(string(fields["classification_history"]), `"from":"confidential","to":"secret"`) {
		t.Errorf("classification_history = %s", fields["classification_history"])
	}

	var back Document
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.CreatedAt.Equal(d.CreatedAt) || back.ID != d.ID || back.SHA256 != d.SHA256 || back.Title != d.Title ||
		back.Level != d.Level || back.DateIssued != d.DateIssued || !slices.Equal(back.Keywords, d.Keywords) ||
		back.History[0].DecisionRef != d.History[0].DecisionRef {
		t.Errorf("round trip lost data:\n%+v\n%+v", back, d)
	}

	// Absent optional values stay absent.
	minimal := Metadata{IssuingBody: "VP", DateIssued: Date{2025, 1, 2}, Type: TypeNotice, Title: "T"}
	b, err = json.Marshal(minimal)
	if err != nil {
		t.Fatal(err)
	}
	const wantMinimal = `{"issuing_body":"VP","date_issued":"2025-01-02","doc_type":"notice","title":"T","level":"unclassified","urgency":"none"}`
	if string(b) != wantMinimal {
		t.Errorf("minimal JSON\n got %s\nwant %s", b, wantMinimal)
	}
}

func TestProtectionEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mut    func(m *Metadata)
		rules  Rules
		years  int
		end    Date
		hasEnd bool
	}{
		{"written period from the date issued", func(m *Metadata) {}, Rules{}, 15, Date{2039, 5, 17}, true},
		{"default of Tối mật", func(m *Metadata) { m.Protection = Protection{} }, Rules{}, 20, Date{2044, 5, 17}, true},
		{"default of Tuyệt mật", func(m *Metadata) { m.Level, m.Protection = access.TopSecret, Protection{} }, Rules{}, 30, Date{2054, 5, 17}, true},
		{"default of Mật", func(m *Metadata) { m.Level, m.Protection = access.Confidential, Protection{} }, Rules{}, 10, Date{2034, 5, 17}, true},
		{"configured default", func(m *Metadata) { m.Protection = Protection{} }, Rules{ProtectionYears: map[access.Level]int{access.Secret: 25}}, 25, Date{2049, 5, 17}, true},
		{"configured zero keeps the default", func(m *Metadata) { m.Protection = Protection{} }, Rules{ProtectionYears: map[access.Level]int{access.Secret: 0}}, 20, Date{2044, 5, 17}, true},
		{"runs from the date the level was set", func(m *Metadata) { m.Protection.Since = Date{2025, 1, 10} }, Rules{}, 15, Date{2040, 1, 10}, true},
		{"unclassified has none", func(m *Metadata) { m.Level, m.Protection = access.Unclassified, Protection{} }, Rules{}, 0, Date{}, false},
		{"no start date", func(m *Metadata) { m.DateIssued = Date{} }, Rules{}, 15, Date{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := valMetadata()
			tt.mut(&m)
			if got := m.ProtectionYears(tt.rules); got != tt.years {
				t.Errorf("ProtectionYears = %d, want %d", got, tt.years)
			}
			end, ok := m.ProtectionEnd(tt.rules)
			if end != tt.end || ok != tt.hasEnd {
				t.Errorf("ProtectionEnd = %v, %v; want %v, %v", end, ok, tt.end, tt.hasEnd)
			}
		})
	}
	if got := (Rules{ProtectionYears: map[access.Level]int{access.Unclassified: 5}}).DefaultProtectionYears(access.Unclassified); got != 0 {
		t.Errorf("unclassified configured period = %d, want 0", got)
	}
}

func TestMetadataResource(t *testing.T) {
	t.Parallel()
	m := valMetadata()
	r := m.Resource()
	if r.Level != access.Secret || !slices.Equal(r.Compartments, m.Compartments) || !slices.Equal(r.NamedRecipients, m.NamedRecipients) {
		t.Errorf("Resource = %+v", r)
	}
	named := access.Subject{ID: "u-0001", Roles: []access.Role{access.Reader}, Clearance: access.Secret, Compartments: []string{"kinh-te", "quoc-phong"}}
	if d := access.Decide(named, access.Read, r); !d.Allow {
		t.Errorf("named recipient denied: %v", d)
	}
	named.ID = "u-0009"
	if d := access.Decide(named, access.Read, r); d.Reason != access.ReasonNotNamed {
		t.Errorf("other reader: %v", d)
	}
}

// FuzzDocumentJSON decodes arbitrary JSON as a Document, as the service does
// with an opened "meta" object: decoding, Normalize and Validate must never
// panic, and a document that validates must survive a JSON round trip and
// validate again.
func FuzzDocumentJSON(f *testing.F) {
	sample, err := json.Marshal(valDocument())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte(`{"level":"tuyet mat","date_issued":"2024-02-29","keywords":["a","A"]}`))
	f.Add([]byte(`{"id":"00000000000000000000000000000000","classification_history":[{"from":"secret","to":"secret"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Document
		if json.Unmarshal(data, &d) != nil {
			return
		}
		d.Normalize()
		if d.Validate(valNow, Rules{}) != nil {
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("valid document does not marshal: %v", err)
		}
		var back Document
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if err := back.Validate(valNow, Rules{}); err != nil {
			t.Fatalf("valid document invalid after a round trip: %v", err)
		}
	})
}
