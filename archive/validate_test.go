package archive

import (
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"khomat/archive/access"
)

// valNow is the clock of the validation tests: 1 March 2025, 10:00 in Hà Nội.
var valNow = time.Date(2025, time.March, 1, 3, 0, 0, 0, time.UTC)

// valMetadata returns metadata that passes Validate at valNow, with every
// field filled in.
func valMetadata() Metadata {
	return Metadata{
		IssuingBody:       "Ban Chấp hành Trung ương",
		NumberSymbol:      "15-NQ/TW",
		PlaceIssued:       "Hà Nội",
		DateIssued:        Date{2024, time.May, 17},
		Type:              TypeResolution,
		Title:             "Về công tác bảo vệ bí mật nhà nước trong tình hình mới",
		Summary:           "Đoạn một.\n\tĐoạn hai.",
		SignerPosition:    "T/M Ban Chấp hành Trung ương, Tổng Bí thư",
		SignerName:        "Nguyễn Văn Đức",
		Recipients:        []string{"Các tỉnh ủy, thành ủy", "Lưu Văn phòng Trung ương Đảng"},
		Level:             access.Secret,
		Urgency:           access.Urgent,
		DistributionScope: "Lưu hành nội bộ",
		Pages:             12,
		Copies:            50,
		Language:          "vi",
		DossierCode:       "HS.2024.05-03",
		Keywords:          []string{"bảo vệ bí mật", "an ninh"},
		Retention:         Retention{Permanent: true},
		Protection:        Protection{Years: 15},
		StateSecretRef:    "Danh mục bí mật nhà nước của Đảng, mục 3",
		Compartments:      []string{"kinh-te", "quoc-phong"},
		NamedRecipients:   []string{"u-0001", "u-0002"},
		RecallDeadline:    Date{2024, time.June, 30},
	}
}

// valDocument returns a stored document that passes Validate at valNow.
func valDocument() Document {
	return Document{
		ID:          ID{0x5e, 0xc7, 0x3a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
		Version:     2,
		Revision:    3,
		ContentType: "application/pdf",
		Size:        1234,
		SHA256:      sha256.Sum256([]byte("nội dung")),
		CreatedBy:   "u-0010",
		CreatedAt:   valNow.Add(-48 * time.Hour),
		UpdatedBy:   "u-0011",
		UpdatedAt:   valNow.Add(-time.Hour),
		History: []ClassificationChange{{
			At:          valNow.Add(-24 * time.Hour),
			By:          "u-0011",
			From:        access.Confidential,
			To:          access.Secret,
			Reason:      "Nội dung liên quan quốc phòng.",
			DecisionRef: "Quyết định 12-QĐ/VPTW ngày 27/02/2025",
		}},
		Metadata: valMetadata(),
	}
}

// problems returns "field:code" for each FieldError of err, failing the
// test if err is not a FieldErrors or a message is missing.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrInvalidMetadata) {
		t.Errorf("error %v does not match ErrInvalidMetadata", err)
	}
	var fes FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("error %T is not FieldErrors: %v", err, err)
	}
	var out []string
	for _, fe := range fes {
		if fe.Field == "" || fe.Code == "" || fe.Message == "" || fe.MessageVI == "" {
			t.Errorf("incomplete field error %+v", fe)
		}
		out = append(out, fe.Field+":"+fe.Code)
	}
	return out
}

func sameProblems(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func TestValidateSamples(t *testing.T) {
	t.Parallel()
	m := valMetadata()
	if err := m.Validate(valNow, Rules{}); err != nil {
		t.Errorf("sample metadata: %v", err)
	}
	d := valDocument()
	if err := d.Validate(valNow, Rules{}); err != nil {
		t.Errorf("sample document: %v", err)
	}
	minimal := Metadata{IssuingBody: "Văn phòng", DateIssued: Date{2025, 1, 2}, Type: TypeOfficialLetter, Title: "Về việc họp"}
	if err := minimal.Validate(valNow, Rules{}); err != nil {
		t.Errorf("minimal unclassified metadata: %v", err)
	}
}

func TestMetadataValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mut   func(m *Metadata)
		rules Rules
		want  []string // "field:code"; empty means valid
	}{
		// Text fields.
		{"issuing body missing", func(m *Metadata) { m.IssuingBody = "" }, Rules{}, []string{"issuing_body:required"}},
		{"issuing body invalid UTF-8", func(m *Metadata) { m.IssuingBody = "Ban\xff" }, Rules{}, []string{"issuing_body:invalid_utf8"}},
		{"issuing body with NUL", func(m *Metadata) { m.IssuingBody = "Ban\x00Chấp hành" }, Rules{}, []string{"issuing_body:control_char"}},
		{"issuing body too long", func(m *Metadata) { m.IssuingBody = strings.Repeat("ư", MaxNameLen+1) }, Rules{}, []string{"issuing_body:too_long"}},
		{"issuing body at the limit", func(m *Metadata) { m.IssuingBody = strings.Repeat("ư", MaxNameLen) }, Rules{}, nil},
		{"number symbol too long", func(m *Metadata) { m.NumberSymbol = strings.Repeat("9", MaxNumberSymbolLen+1) }, Rules{}, []string{"number_symbol:too_long"}},
		{"number symbol optional", func(m *Metadata) { m.NumberSymbol = "" }, Rules{}, nil},
		{"place with escape", func(m *Metadata) { m.PlaceIssued = "Hà\x1bNội" }, Rules{}, []string{"place_issued:control_char"}},
		{"title missing", func(m *Metadata) { m.Title = "" }, Rules{}, []string{"title:required"}},
		{"title with line break", func(m *Metadata) { m.Title = "Về việc\nhọp" }, Rules{}, []string{"title:control_char"}},
		{"title with bidi override", func(m *Metadata) { m.Title = "Về việc \u202ehọp" }, Rules{}, []string{"title:control_char"}},
		{"title with zero-width space", func(m *Metadata) { m.Title = "Về\u200bviệc" }, Rules{}, []string{"title:control_char"}},
		{"title with line separator", func(m *Metadata) { m.Title = "Về\u2028việc" }, Rules{}, []string{"title:control_char"}},
		{"title in NFD", func(m *Metadata) { m.Title = "Ve\u0302\u0300 vie\u0302\u0323c" }, Rules{}, []string{"title:not_normalized"}},
		{"title with surrounding space", func(m *Metadata) { m.Title = " Về việc họp" }, Rules{}, []string{"title:not_normalized"}},
		{"title too long", func(m *Metadata) { m.Title = strings.Repeat("ạ", MaxTitleLen+1) }, Rules{}, []string{"title:too_long"}},
		{"title at the limit", func(m *Metadata) { m.Title = strings.Repeat("ạ", MaxTitleLen) }, Rules{}, nil},
		{"summary keeps lines and tabs", func(m *Metadata) { m.Summary = "một\nhai\tba" }, Rules{}, nil},
		{"summary with carriage return", func(m *Metadata) { m.Summary = "một\r\nhai" }, Rules{}, []string{"summary:control_char"}},
		{"summary too long", func(m *Metadata) { m.Summary = strings.Repeat("a", MaxSummaryLen+1) }, Rules{}, []string{"summary:too_long"}},
		{"signer name with DEL", func(m *Metadata) { m.SignerName = "Nguyễn\x7f" }, Rules{}, []string{"signer_name:control_char"}},
		{"signer position too long", func(m *Metadata) { m.SignerPosition = strings.Repeat("b", MaxNameLen+1) }, Rules{}, []string{"signer_position:too_long"}},
		{"distribution scope invalid UTF-8", func(m *Metadata) { m.DistributionScope = "\xc3" }, Rules{}, []string{"distribution_scope:invalid_utf8"}},
		{"dossier code too long", func(m *Metadata) { m.DossierCode = strings.Repeat("H", MaxDossierCodeLen+1) }, Rules{}, []string{"dossier_code:too_long"}},

		// Dates.
		{"date issued missing", func(m *Metadata) { m.DateIssued = Date{} }, Rules{}, []string{"date_issued:required"}},
		{"date issued today in Hà Nội", func(m *Metadata) { m.DateIssued = Date{2025, time.March, 1}; m.RecallDeadline = Date{} }, Rules{}, nil},
		{"date issued tomorrow", func(m *Metadata) { m.DateIssued = Date{2025, time.March, 2}; m.RecallDeadline = Date{} }, Rules{}, []string{"date_issued:in_future"}},
		{"date issued today in UTC is tomorrow west of it", func(m *Metadata) { m.DateIssued = Date{2025, time.March, 1}; m.RecallDeadline = Date{} },
			Rules{Location: time.FixedZone("UTC-5", -5*3600)}, []string{"date_issued:in_future"}},
		{"date issued impossible", func(m *Metadata) { m.DateIssued = Date{2024, time.February, 30} }, Rules{}, []string{"date_issued:invalid"}},
		{"date issued before 1900", func(m *Metadata) { m.DateIssued = Date{1899, time.December, 31}; m.RecallDeadline = Date{} }, Rules{}, []string{"date_issued:too_early"}},
		{"recall deadline before date issued", func(m *Metadata) { m.RecallDeadline = Date{2024, time.May, 16} }, Rules{}, []string{"recall_deadline:too_early"}},
		{"recall deadline impossible", func(m *Metadata) { m.RecallDeadline = Date{2024, time.April, 31} }, Rules{}, []string{"recall_deadline:invalid"}},
		{"recall deadline may be in the future", func(m *Metadata) { m.RecallDeadline = Date{2030, 1, 1} }, Rules{}, nil},
		{"recall deadline optional", func(m *Metadata) { m.RecallDeadline = Date{} }, Rules{}, nil},

		// Enumerations.
		{"doc type missing", func(m *Metadata) { m.Type = "" }, Rules{}, []string{"doc_type:required"}},
		{"doc type unknown", func(m *Metadata) { m.Type = "memo" }, Rules{}, []string{"doc_type:unknown"}},
		{"doc type given by name is unknown until normalised", func(m *Metadata) { m.Type = "Nghị quyết" }, Rules{}, []string{"doc_type:unknown"}},
		{"level unknown", func(m *Metadata) { m.Level = access.Level(4) }, Rules{}, []string{"level:unknown", "protection:not_allowed"}},
		{"urgency unknown", func(m *Metadata) { m.Urgency = access.Urgency(9) }, Rules{}, []string{"urgency:unknown"}},

		// Counts.
		{"pages negative", func(m *Metadata) { m.Pages = -1 }, Rules{}, []string{"pages:out_of_range"}},
		{"pages above the limit", func(m *Metadata) { m.Pages = MaxPages + 1 }, Rules{}, []string{"pages:out_of_range"}},
		{"pages not recorded", func(m *Metadata) { m.Pages = 0 }, Rules{}, nil},
		{"copies negative", func(m *Metadata) { m.Copies = -3 }, Rules{}, []string{"copies:out_of_range"}},
		{"copies above the limit", func(m *Metadata) { m.Copies = MaxCopies + 1 }, Rules{}, []string{"copies:out_of_range"}},

		// Language.
		{"language with region", func(m *Metadata) { m.Language = "vi-VN" }, Rules{}, nil},
		{"language as a word", func(m *Metadata) { m.Language = "vietnamese" }, Rules{}, []string{"language:invalid"}},
		{"language with space", func(m *Metadata) { m.Language = "v i" }, Rules{}, []string{"language:invalid"}},
		{"language with empty subtag", func(m *Metadata) { m.Language = "vi--VN" }, Rules{}, []string{"language:invalid"}},
		{"language optional", func(m *Metadata) { m.Language = "" }, Rules{}, nil},

		// Lists.
		{"too many keywords", func(m *Metadata) { m.Keywords = numbered("từ khóa", MaxKeywords+1) }, Rules{}, []string{"keywords:too_many"}},
		{"keywords at the limit", func(m *Metadata) { m.Keywords = numbered("từ khóa", MaxKeywords) }, Rules{}, nil},
		{"keyword repeated in another case", func(m *Metadata) { m.Keywords = []string{"Đảng", "an ninh", "đảng"} }, Rules{}, []string{"keywords[2]:duplicate"}},
		{"keyword empty", func(m *Metadata) { m.Keywords = []string{"an ninh", ""} }, Rules{}, []string{"keywords[1]:required"}},
		{"keyword too long", func(m *Metadata) { m.Keywords = []string{strings.Repeat("k", MaxKeywordLen+1)} }, Rules{}, []string{"keywords[0]:too_long"}},
		{"keyword with tab", func(m *Metadata) { m.Keywords = []string{"an\tninh"} }, Rules{}, []string{"keywords[0]:control_char"}},
		{"too many recipients", func(m *Metadata) { m.Recipients = numbered("nơi nhận", MaxRecipients+1) }, Rules{}, []string{"recipients:too_many"}},
		{"recipient repeated", func(m *Metadata) { m.Recipients = []string{"Các tỉnh ủy", "Lưu VP", "CÁC TỈNH ỦY"} }, Rules{}, []string{"recipients[2]:duplicate"}},
		{"recipient too long", func(m *Metadata) { m.Recipients = []string{strings.Repeat("r", MaxRecipientLen+1)} }, Rules{}, []string{"recipients[0]:too_long"}},
		{"compartment with capitals and a space", func(m *Metadata) { m.Compartments = []string{"Kinh Te"} }, Rules{}, []string{"compartments[0]:invalid"}},
		{"compartment with diacritics", func(m *Metadata) { m.Compartments = []string{"kinh-tế"} }, Rules{}, []string{"compartments[0]:invalid"}},
		{"compartment empty", func(m *Metadata) { m.Compartments = []string{""} }, Rules{}, []string{"compartments[0]:required"}},
		{"compartment repeated", func(m *Metadata) { m.Compartments = []string{"a", "b", "a"} }, Rules{}, []string{"compartments[2]:duplicate"}},
		{"too many compartments", func(m *Metadata) { m.Compartments = labels(MaxCompartments + 1) }, Rules{}, []string{"compartments:too_many"}},
		{"compartments at the limit", func(m *Metadata) { m.Compartments = labels(MaxCompartments) }, Rules{}, nil},
		{"named recipient repeated", func(m *Metadata) { m.NamedRecipients = []string{"u-1", "u-1"} }, Rules{}, []string{"named_recipients[1]:duplicate"}},
		{"named recipients compare exactly", func(m *Metadata) { m.NamedRecipients = []string{"u-a", "U-A"} }, Rules{}, nil},
		{"named recipient too long", func(m *Metadata) { m.NamedRecipients = []string{strings.Repeat("u", MaxUserIDLen+1)} }, Rules{}, []string{"named_recipients[0]:too_long"}},
		{"too many named recipients", func(m *Metadata) { m.NamedRecipients = numbered("u", MaxNamedRecipients+1) }, Rules{}, []string{"named_recipients:too_many"}},

		// Retention.
		{"retention both permanent and years", func(m *Metadata) { m.Retention = Retention{Permanent: true, Years: 10} }, Rules{}, []string{"retention:inconsistent"}},
		{"retention in years", func(m *Metadata) { m.Retention = Retention{Years: 20} }, Rules{}, nil},
		{"retention not yet appraised", func(m *Metadata) { m.Retention = Retention{} }, Rules{}, nil},
		{"retention too long", func(m *Metadata) { m.Retention = Retention{Years: MaxRetentionYears + 1} }, Rules{}, []string{"retention.years:out_of_range"}},
		{"retention negative", func(m *Metadata) { m.Retention = Retention{Years: -5} }, Rules{}, []string{"retention.years:out_of_range"}},

		// Protection period and the list of state secrets.
		{"protection default of the level", func(m *Metadata) { m.Protection = Protection{} }, Rules{}, nil},
		{"protection shorter than the default", func(m *Metadata) { m.Protection.Years = 5 }, Rules{}, nil},
		{"protection equal to the default", func(m *Metadata) { m.Protection.Years = 20 }, Rules{}, nil},
		{"protection longer than the default", func(m *Metadata) { m.Protection.Years = 21 }, Rules{}, []string{"protection.years:needs_decision"}},
		{"protection longer by decision", func(m *Metadata) { m.Protection = Protection{Years: 30, ExtensionDecision: "Quyết định 7-QĐ/TW"} }, Rules{}, nil},
		{"protection longer under configured rules", func(m *Metadata) { m.Protection.Years = 25 }, Rules{ProtectionYears: map[access.Level]int{access.Secret: 25}}, nil},
		{"protection shorter default under configured rules", func(m *Metadata) { m.Protection.Years = 15 }, Rules{ProtectionYears: map[access.Level]int{access.Secret: 10}}, []string{"protection.years:needs_decision"}},
		{"protection of Tuyệt mật 30 years", func(m *Metadata) { m.Level = access.TopSecret; m.Protection.Years = 30 }, Rules{}, nil},
		{"protection of Mật 11 years", func(m *Metadata) { m.Level = access.Confidential; m.Protection.Years = 11 }, Rules{}, []string{"protection.years:needs_decision"}},
		{"protection negative", func(m *Metadata) { m.Protection.Years = -1 }, Rules{}, []string{"protection.years:out_of_range"}},
		{"protection beyond any extension", func(m *Metadata) {
			m.Protection = Protection{Years: MaxProtectionYears + 1, ExtensionDecision: "QĐ 1"}
		}, Rules{}, []string{"protection.years:out_of_range"}},
		{"protection since the future", func(m *Metadata) { m.Protection.Since = Date{2025, time.March, 2} }, Rules{}, []string{"protection.since:in_future"}},
		{"protection since before issue", func(m *Metadata) { m.Protection.Since = Date{2024, time.May, 16} }, Rules{}, []string{"protection.since:too_early"}},
		{"protection since a later reclassification", func(m *Metadata) { m.Protection.Since = Date{2025, time.January, 10} }, Rules{}, nil},
		{"protection since impossible", func(m *Metadata) { m.Protection.Since = Date{2025, 13, 1} }, Rules{}, []string{"protection.since:invalid"}},
		{"extension decision with control char", func(m *Metadata) { m.Protection.ExtensionDecision = "QĐ\x07" }, Rules{}, []string{"protection.extension_decision:control_char"}},
		{"unclassified has no protection period", func(m *Metadata) { m.Level = access.Unclassified }, Rules{}, []string{"protection:not_allowed"}},
		{"unclassified without protection", func(m *Metadata) { m.Level = access.Unclassified; m.Protection = Protection{} }, Rules{}, nil},
		{"state secret reference required for Mật", func(m *Metadata) { m.Level = access.Confidential; m.Protection = Protection{}; m.StateSecretRef = "" }, Rules{}, []string{"state_secret_ref:required"}},
		{"state secret reference required for Tuyệt mật", func(m *Metadata) { m.Level = access.TopSecret; m.StateSecretRef = "" }, Rules{}, []string{"state_secret_ref:required"}},
		{"state secret reference not required when unclassified", func(m *Metadata) { m.Level = access.Unclassified; m.Protection = Protection{}; m.StateSecretRef = "" }, Rules{}, nil},
		{"state secret reference too long", func(m *Metadata) { m.StateSecretRef = strings.Repeat("m", MaxStateSecretRefLen+1) }, Rules{}, []string{"state_secret_ref:too_long"}},

		// Several problems at once are all reported.
		{"every problem reported", func(m *Metadata) { m.Title = ""; m.IssuingBody = ""; m.Pages = -1; m.Keywords = []string{"x", "x"} }, Rules{},
			[]string{"title:required", "issuing_body:required", "pages:out_of_range", "keywords[1]:duplicate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := valMetadata()
			tt.mut(&m)
			got := problems(t, m.Validate(valNow, tt.rules))
			if !sameProblems(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDocumentValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(d *Document)
		want []string
	}{
		{"id missing", func(d *Document) { d.ID = ID{} }, []string{"id:required"}},
		{"version zero", func(d *Document) { d.Version = 0 }, []string{"version:out_of_range"}},
		{"revision zero", func(d *Document) { d.Revision = 0 }, []string{"revision:out_of_range"}},
		{"content type missing", func(d *Document) { d.ContentType = "" }, []string{"content_type:required"}},
		{"content type malformed", func(d *Document) { d.ContentType = "pdf file" }, []string{"content_type:invalid"}},
		{"content type with parameters", func(d *Document) { d.ContentType = "text/plain; charset=utf-8" }, nil},
		{"content type too long", func(d *Document) { d.ContentType = "a/" + strings.Repeat("b", MaxContentTypeLen) }, []string{"content_type:too_long"}},
		{"size negative", func(d *Document) { d.Size = -1 }, []string{"size:out_of_range"}},
		{"size zero", func(d *Document) { d.Size = 0 }, nil},
		{"digest missing", func(d *Document) { d.SHA256 = Digest{} }, []string{"sha256:required"}},
		{"created by missing", func(d *Document) { d.CreatedBy = "" }, []string{"created_by:required"}},
		{"created at missing", func(d *Document) { d.CreatedAt = time.Time{} }, []string{"created_at:required"}},
		{"created at in the future", func(d *Document) { d.CreatedAt = valNow.Add(MaxClockSkew + time.Second) }, []string{"created_at:in_future", "updated_at:too_early", "classification_history[0].at:too_early"}},
		{"created at within clock skew", func(d *Document) {
			d.CreatedAt = valNow.Add(MaxClockSkew)
			d.UpdatedAt, d.History[0].At = d.CreatedAt, d.CreatedAt
		}, nil},
		{"updated before created", func(d *Document) { d.UpdatedAt = d.CreatedAt.Add(-time.Second) }, []string{"updated_at:too_early"}},
		{"updated at in the future", func(d *Document) { d.UpdatedAt = valNow.Add(time.Hour) }, []string{"updated_at:in_future"}},
		{"updated by with control char", func(d *Document) { d.UpdatedBy = "u\x00" }, []string{"updated_by:control_char"}},
		{"first version has no update", func(d *Document) { d.UpdatedBy, d.UpdatedAt = "", time.Time{} }, nil},

		{"no history", func(d *Document) { d.History = nil }, nil},
		{"history of two changes", func(d *Document) {
			d.Level, d.Protection = access.Confidential, Protection{}
			d.History = append(d.History, ClassificationChange{At: valNow.Add(-time.Hour), By: "u-0012", From: access.Secret, To: access.Confidential, DecisionRef: "QĐ 13"})
		}, nil},
		{"history change without a decision", func(d *Document) { d.History[0].DecisionRef = "" }, []string{"classification_history[0].decision_ref:required"}},
		{"history change without an author", func(d *Document) { d.History[0].By = "" }, []string{"classification_history[0].by:required"}},
		{"history change without a time", func(d *Document) { d.History[0].At = time.Time{} }, []string{"classification_history[0].at:required"}},
		{"history change in the future", func(d *Document) { d.History[0].At = valNow.Add(time.Hour) }, []string{"classification_history[0].at:in_future"}},
		{"history change before creation", func(d *Document) { d.History[0].At = d.CreatedAt.Add(-time.Minute) }, []string{"classification_history[0].at:too_early"}},
		{"history change to the same level", func(d *Document) { d.History[0].From = access.Secret }, []string{"classification_history[0].to:invalid"}},
		{"history change with unknown level", func(d *Document) { d.History[0].From = access.Level(8) }, []string{"classification_history[0].from:unknown"}},
		{"history not ending at the current level", func(d *Document) { d.Level = access.TopSecret }, []string{"classification_history:inconsistent"}},
		{"history chain broken", func(d *Document) {
			d.Level = access.Unclassified
			d.Protection, d.StateSecretRef = Protection{}, ""
			d.History = append(d.History, ClassificationChange{At: valNow.Add(-time.Hour), By: "u-0012", From: access.TopSecret, To: access.Unclassified, DecisionRef: "QĐ 14"})
		}, []string{"classification_history[1].from:inconsistent"}},
		{"history out of order", func(d *Document) {
			d.Level, d.Protection = access.Confidential, Protection{}
			d.History = append(d.History, ClassificationChange{At: d.History[0].At.Add(-time.Minute), By: "u-0012", From: access.Secret, To: access.Confidential, DecisionRef: "QĐ 13"})
		}, []string{"classification_history[1].at:too_early"}},
		{"automatic declassification", func(d *Document) {
			d.Level = access.Unclassified
			d.Protection, d.StateSecretRef = Protection{}, ""
			d.History = append(d.History, ClassificationChange{At: valNow.Add(-time.Hour), From: access.Secret, To: access.Unclassified, Automatic: true, Reason: "Hết thời hạn bảo vệ."})
		}, nil},
		{"automatic change that is not a declassification", func(d *Document) {
			d.Level, d.Protection = access.Confidential, Protection{}
			d.History = append(d.History, ClassificationChange{At: valNow.Add(-time.Hour), From: access.Secret, To: access.Confidential, Automatic: true})
		}, []string{"classification_history[1].automatic:invalid"}},
		{"history reason may span lines", func(d *Document) { d.History[0].Reason = "Một.\nHai." }, nil},
		{"history reason too long", func(d *Document) { d.History[0].Reason = strings.Repeat("l", MaxReasonLen+1) }, []string{"classification_history[0].reason:too_long"}},
		{"history too long", func(d *Document) {
			d.History = make([]ClassificationChange, MaxHistory+1)
		}, []string{"classification_history:too_many"}},

		{"metadata problems are reported too", func(d *Document) { d.Title = ""; d.Version = 0 }, []string{"title:required", "version:out_of_range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := valDocument()
			tt.mut(&d)
			got := problems(t, d.Validate(valNow, Rules{}))
			if !sameProblems(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	m := valMetadata()
	m.Title = ""
	m.Keywords = []string{"a", "a"}
	err := m.Validate(valNow, Rules{})
	const want = "invalid document metadata: title: is required; keywords[1]: repeats an earlier entry"
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
	var fes FieldErrors
	if !errors.As(err, &fes) || len(fes) != 2 || fes[0].MessageVI != "bắt buộc phải nhập" {
		t.Errorf("FieldErrors = %+v", fes)
	}
	if wrapped := errors.Join(errors.New("create"), err); !errors.Is(wrapped, ErrInvalidMetadata) {
		t.Error("wrapped FieldErrors does not match ErrInvalidMetadata")
	}
	if fes[0].Error() != "title: is required" {
		t.Errorf("FieldError.Error() = %q", fes[0].Error())
	}
}

func TestValidateLeavesMetadataAlone(t *testing.T) {
	t.Parallel()
	m := valMetadata()
	m.Title = " Ve\u0302\u0300 "
	before := m
	before.Keywords = slices.Clone(m.Keywords)
	_ = m.Validate(valNow, Rules{})
	if m.Title != before.Title || !slices.Equal(m.Keywords, before.Keywords) {
		t.Error("Validate modified the metadata")
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	m := valMetadata()
	m.Title = "  Ve\u0302\u0300 vie\u0302\u0323c ho\u0323p \n"
	m.IssuingBody = "\tVăn phòng Trung ương Đảng "
	m.Keywords = []string{" an ninh ", "quo\u0302\u0301c phòng"}
	m.Compartments = []string{" Kinh-Te ", "QUOC-PHONG"}
	m.Type = "Nghị quyết"
	m.NamedRecipients = []string{" u-0001"}
	m.Summary = "  dòng một\ndòng hai  "
	m.IssuingBody += ""
	m.SignerName = "Nguyễn\xff"
	m.Normalize()

	if m.Title != "Về việc họp" {
		t.Errorf("Title = %q", m.Title)
	}
	if m.IssuingBody != "Văn phòng Trung ương Đảng" {
		t.Errorf("IssuingBody = %q", m.IssuingBody)
	}
	if !slices.Equal(m.Keywords, []string{"an ninh", "quốc phòng"}) {
		t.Errorf("Keywords = %q", m.Keywords)
	}
	if !slices.Equal(m.Compartments, []string{"kinh-te", "quoc-phong"}) {
		t.Errorf("Compartments = %q", m.Compartments)
	}
	if m.Type != TypeResolution {
		t.Errorf("Type = %q", m.Type)
	}
	if m.NamedRecipients[0] != "u-0001" || m.Summary != "dòng một\ndòng hai" {
		t.Errorf("NamedRecipients %q, Summary %q", m.NamedRecipients, m.Summary)
	}
	if m.SignerName != "Nguyễn\xff" {
		t.Errorf("invalid UTF-8 was altered: %q", m.SignerName)
	}
	got := problems(t, m.Validate(valNow, Rules{}))
	if !sameProblems(got, []string{"signer_name:invalid_utf8"}) {
		t.Errorf("after Normalize: %v", got)
	}

	d := valDocument()
	d.CreatedBy = " u-0010 "
	d.History[0].DecisionRef = "Quye\u0302\u0301t đi\u0323nh 12 "
	d.Title = " x "
	d.Normalize()
	if d.CreatedBy != "u-0010" || d.History[0].DecisionRef != "Quyết định 12" || d.Title != "x" {
		t.Errorf("Document.Normalize: %q %q %q", d.CreatedBy, d.History[0].DecisionRef, d.Title)
	}
	if err := d.Validate(valNow, Rules{}); err != nil {
		t.Errorf("normalised document: %v", err)
	}
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + " " + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	return out
}

func labels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "c" + strings.Repeat("0", i)
	}
	return out
}
