package archive

import (
	"time"

	"khomat/archive/access"
)

// Metadata is what an archivist records about a document (Decree 30/2020,
// guide 36-HD/VPTW, and the archive's own fields). Everything here is as
// secret as the document: titles and summaries take the document's level
// everywhere, so Metadata is stored sealed and never written to object
// names, object-store metadata or logs.
//
// Call Normalize before Validate: Validate refuses text that is not in NFC
// or carries surrounding spaces, so that the same words always compare and
// index the same.
type Metadata struct {
	// IssuingBody is the issuing body (cơ quan ban hành), e.g. "Ban Chấp
	// hành Trung ương". Required.
	IssuingBody string `json:"issuing_body"`
	// NumberSymbol is the number and symbol (số, ký hiệu) as written on
	// the document: "15-NQ/TW", "234/VPTW".
	NumberSymbol string `json:"number_symbol,omitempty"`
	// PlaceIssued is the place name of the issue line (địa danh), e.g.
	// "Hà Nội".
	PlaceIssued string `json:"place_issued,omitempty"`
	// DateIssued is the date the document was issued (signed). Required,
	// not in the future.
	DateIssued Date `json:"date_issued"`
	// Type is the document type (loại văn bản). Required.
	Type DocType `json:"doc_type"`
	// Title is the summary line (trích yếu nội dung). Required.
	Title string `json:"title"`
	// Summary is an optional longer abstract; it may span several lines.
	Summary string `json:"summary,omitempty"`
	// SignerPosition is the signer's position or capacity (chức vụ, thẩm
	// quyền ký), e.g. "T/M Ban Thường vụ, Bí thư".
	SignerPosition string `json:"signer_position,omitempty"`
	// SignerName is the signer's full name.
	SignerName string `json:"signer_name,omitempty"`
	// Recipients are the addressees as listed under "Nơi nhận". They are
	// text, not accounts; who may open the document is NamedRecipients.
	Recipients []string `json:"recipients,omitempty"`
	// Level is the secrecy level the signer decided. Its zero value is
	// access.Unclassified, so an API that decodes Metadata must insist
	// the field is present rather than accept a missing level as
	// "unclassified".
	Level access.Level `json:"level"`
	// Urgency is the urgency (độ khẩn).
	Urgency access.Urgency `json:"urgency"`
	// DistributionScope restricts circulation, e.g. "Lưu hành nội bộ".
	DistributionScope string `json:"distribution_scope,omitempty"`
	// Pages is the number of pages (số trang); 0 when not recorded.
	Pages int `json:"pages,omitempty"`
	// Copies is the number of copies issued (số lượng bản); 0 when not
	// recorded.
	Copies int `json:"copies,omitempty"`
	// Language is the document's language as a BCP 47 tag ("vi", "en",
	// "fr"); empty when not recorded.
	Language string `json:"language,omitempty"`
	// DossierCode is the code of the dossier (hồ sơ) the document is
	// filed in.
	DossierCode string `json:"dossier_code,omitempty"`
	// Keywords (từ khóa) help search; each at most MaxKeywordLen
	// characters, at most MaxKeywords, no duplicates.
	Keywords []string `json:"keywords,omitempty"`
	// Retention is how long the archive keeps the record (thời hạn bảo
	// quản). The zero value means not yet appraised.
	Retention Retention `json:"retention,omitzero"`
	// Protection is the protection period of a classified document.
	Protection Protection `json:"protection,omitzero"`
	// StateSecretRef names the entry of the list of state secrets (danh
	// mục bí mật nhà nước) the level rests on, e.g. "Quyết định
	// 1234/QĐ-TTg, mục 5". Required for every classified level.
	StateSecretRef string `json:"state_secret_ref,omitempty"`
	// Compartments are need-to-know labels (access.ValidCompartment): only
	// users holding all of them may read the document.
	Compartments []string `json:"compartments,omitempty"`
	// NamedRecipients are the user IDs of the only people who may open the
	// document ("chỉ người có tên mới được bóc bì"). Empty means the
	// document carries no such marking. No clearance overrides the list.
	NamedRecipients []string `json:"named_recipients,omitempty"`
	// RecallDeadline is the date by which a recalled document ("tài liệu
	// thu hồi") must be returned; zero when it is not recalled.
	RecallDeadline Date `json:"recall_deadline,omitzero"`
}

// Retention is the retention period (thời hạn bảo quản) of a record:
// permanent (vĩnh viễn) or a number of years. At most one of the two is set;
// neither means the record has not been appraised yet.
type Retention struct {
	// Permanent means the record is kept for ever.
	Permanent bool `json:"permanent,omitempty"`
	// Years is a fixed retention term, 1 to MaxRetentionYears.
	Years int `json:"years,omitempty"`
}

// IsZero reports whether the retention is not set.
func (r Retention) IsZero() bool { return r == Retention{} }

// Protection is the period during which a classified document is protected
// (thời hạn bảo vệ bí mật nhà nước). When it ends the document is
// declassified automatically. Unclassified documents have none, and all of
// its fields stay zero. A change of level starts a new period: whoever
// reclassifies sets Since to the date of the decision and Years to what the
// decision says (or zero for the new level's default).
type Protection struct {
	// Years is the period written on the document. Zero means the default
	// of the level (Rules.DefaultProtectionYears). A shorter period is
	// always allowed; a longer one only with an ExtensionDecision.
	Years int `json:"years,omitempty"`
	// Since is the date the level was set, from which the period runs;
	// zero means DateIssued.
	Since Date `json:"since,omitzero"`
	// ExtensionDecision references the competent person's decision that
	// extended the period beyond the default (gia hạn).
	ExtensionDecision string `json:"extension_decision,omitempty"`
}

// IsZero reports whether no protection field is set.
func (p Protection) IsZero() bool { return p == Protection{} }

// Document is a stored document version: the archivist's Metadata plus the
// system fields the service sets. It is what the sealed "meta" object of a
// version holds. JSON inlines the Metadata fields beside the system fields.
type Document struct {
	// ID is the document's random identifier, shared by all its versions.
	ID ID `json:"id"`
	// Version numbers the content versions from 1.
	Version uint32 `json:"version"`
	// Revision numbers the metadata revisions from 1; editing metadata
	// (or reclassifying) writes a new revision and keeps the old ones.
	Revision uint32 `json:"revision"`
	// ContentType is the media type of the content ("application/pdf").
	ContentType string `json:"content_type"`
	// Size is the plaintext size of the content in bytes.
	Size int64 `json:"size"`
	// SHA256 is the digest of the plaintext content of this version.
	SHA256 Digest `json:"sha256"`
	// CreatedBy is the user ID of whoever created the document.
	CreatedBy string `json:"created_by"`
	// CreatedAt is when the document (its first version) was created.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedBy is the user ID of whoever wrote this version or
	// revision; empty for the first.
	UpdatedBy string `json:"updated_by,omitempty"`
	// UpdatedAt is when this version or revision was written; zero for
	// the first.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// History lists every change of level after creation, and every
	// extension of the protection period, oldest first. The first entry's
	// From is the level the document was created at; the last entry's To
	// is the current Level.
	History []ClassificationChange `json:"classification_history,omitempty"`
	// Destruction is the pending request to destroy the document, if any.
	Destruction *DestructionRequest `json:"destruction,omitempty"`
	// CopyRegister is the copy register (sổ đăng ký sao, chụp): every request
	// to take a copy of the document out of the archive, its approval and
	// its use, oldest first.
	CopyRegister []CopyRequest `json:"copy_register,omitempty"`

	Metadata
}

// DestructionRequest is a request to destroy a document. Destruction needs
// two people: the security officer who approves it must not be the one who
// asked.
type DestructionRequest struct {
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	Reason      string    `json:"reason,omitempty"`
	DecisionRef string    `json:"decision_ref,omitempty"` // the appraisal council's decision
}

// CopyRequest is one entry of a document's copy register: who asked to take
// a copy (a download) and why, who approved it, and when it was taken. An
// approval is good for one copy.
type CopyRequest struct {
	ID           string    `json:"id"`
	By           string    `json:"by"`
	At           time.Time `json:"at"`
	Reason       string    `json:"reason,omitempty"`
	ApprovedBy   string    `json:"approved_by,omitempty"`
	ApprovedAt   time.Time `json:"approved_at,omitzero"`
	TakenAt      time.Time `json:"taken_at,omitzero"`
	TakenVersion uint32    `json:"taken_version,omitempty"`
}

// ClassificationChange records one change of a document's level: raising,
// lowering, declassification by decision, or automatic declassification
// when the protection period ended. It also records an extension of the
// protection period (gia hạn), which keeps the level: From equals To, and
// OldEnd and NewEnd say how the end moved.
type ClassificationChange struct {
	// At is when the change was made.
	At time.Time `json:"at"`
	// By is the user ID of whoever made it; empty only when Automatic.
	By string `json:"by,omitempty"`
	// From and To are the levels before and after.
	From access.Level `json:"from"`
	To   access.Level `json:"to"`
	// Reason is a free-text explanation.
	Reason string `json:"reason,omitempty"`
	// DecisionRef references the decision that made the change (number
	// and date of the decision); required unless Automatic.
	DecisionRef string `json:"decision_ref,omitempty"`
	// Automatic marks a declassification that happened because the
	// protection period ended (giải mật đương nhiên), with no decision.
	Automatic bool `json:"automatic,omitempty"`
	// OldEnd and NewEnd are set on an extension of the protection period
	// only: the date the period was to end, and the date it ends now.
	OldEnd Date `json:"old_end,omitzero"`
	NewEnd Date `json:"new_end,omitzero"`
}

// IsExtension reports whether the entry records an extension of the
// protection period rather than a change of level.
func (h ClassificationChange) IsExtension() bool { return !h.OldEnd.IsZero() || !h.NewEnd.IsZero() }

// Resource returns what access.Decide needs to know about the document
// described by m. Callers add Target, RequestedBy or CopyApproved for the
// actions that use them. The slices are shared with m, which Decide does
// not modify.
func (m *Metadata) Resource() access.Resource {
	return access.Resource{
		Level:           m.Level,
		Compartments:    m.Compartments,
		NamedRecipients: m.NamedRecipients,
	}
}

// ProtectionYears returns the length of m's protection period under rules:
// the period written on the document, or the level's default. It is 0 for
// unclassified documents.
func (m *Metadata) ProtectionYears(rules Rules) int {
	if !m.Level.Classified() {
		return 0
	}
	if m.Protection.Years > 0 {
		return m.Protection.Years
	}
	return rules.DefaultProtectionYears(m.Level)
}

// ProtectionEnd returns the date m's protection period ends, when the
// document is declassified automatically: Protection.Since (or DateIssued)
// plus ProtectionYears. ok is false for unclassified documents and when no
// start date is known.
func (m *Metadata) ProtectionEnd(rules Rules) (end Date, ok bool) {
	years := m.ProtectionYears(rules)
	start := m.Protection.Since
	if start.IsZero() {
		start = m.DateIssued
	}
	if years == 0 || start.IsZero() {
		return Date{}, false
	}
	return start.AddYears(years), true
}

// Rules are the configurable parts of the archive's rules that DOMAIN.md
// marks "verify": they come from configuration and are passed in, never read
// from a global. The zero Rules apply the defaults.
type Rules struct {
	// CopyApprovalFrom is the lowest level at which a download (a copy)
	// needs a security officer's approval first. Zero (Unclassified, which
	// never needs one) means the default, Tuyệt mật. Every download of a
	// classified document is registered whatever this says.
	CopyApprovalFrom access.Level
	// ProtectionYears overrides the default protection period of a level
	// (access.Level.DefaultProtectionYears: 30/20/10 years under the 2018
	// law). Levels absent from the map, or mapped to 0 or less, keep the
	// default.
	ProtectionYears map[access.Level]int
	// Location is the time zone in which "today" is reckoned for dates
	// such as DateIssued. Nil means Việt Nam's UTC+7, which has no
	// daylight saving time, so no time zone database is needed.
	Location *time.Location
}

// copyApprovalFrom returns the level from which downloads need approval.
func (r Rules) copyApprovalFrom() access.Level {
	if r.CopyApprovalFrom == access.Unclassified {
		return access.TopSecret
	}
	return r.CopyApprovalFrom
}

// DefaultProtectionYears returns the protection period of level l under r.
func (r Rules) DefaultProtectionYears(l access.Level) int {
	if y := r.ProtectionYears[l]; y > 0 && l.Classified() {
		return y
	}
	return l.DefaultProtectionYears()
}

// Today returns the calendar date of now in r's time zone.
func (r Rules) Today(now time.Time) Date {
	loc := r.Location
	if loc == nil {
		loc = time.FixedZone("ICT", 7*60*60)
	}
	return DateOf(now.In(loc))
}
