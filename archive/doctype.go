package archive

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// DocType is the type of an administrative document (loại văn bản), stored
// as a stable English code such as "resolution". The known types are those
// of the Party's document system (Quy định 66-QĐ/TW, guide 36-HD/VPTW) and
// Decree 30/2020; TypeOther covers the rest.
//
// DocType is a plain string so that decoding never fails on an unknown type:
// Validate reports it as a field error instead, and Normalize turns a
// Vietnamese name ("Nghị quyết", "nghi quyet") into its code.
type DocType string

// The known document types.
const (
	TypeResolution     DocType = "resolution"      // Nghị quyết
	TypeDecision       DocType = "decision"        // Quyết định
	TypeDirective      DocType = "directive"       // Chỉ thị
	TypeConclusion     DocType = "conclusion"      // Kết luận
	TypeRegulation     DocType = "regulation"      // Quy định
	TypeRules          DocType = "rules"           // Quy chế
	TypeCircular       DocType = "circular"        // Thông tri
	TypeGuidance       DocType = "guidance"        // Hướng dẫn
	TypeNotice         DocType = "notice"          // Thông báo
	TypeCommunique     DocType = "communique"      // Thông cáo
	TypeDeclaration    DocType = "declaration"     // Tuyên bố
	TypeAppeal         DocType = "appeal"          // Lời kêu gọi
	TypeReport         DocType = "report"          // Báo cáo
	TypeSubmission     DocType = "submission"      // Tờ trình
	TypeScheme         DocType = "scheme"          // Đề án
	TypeProgramme      DocType = "programme"       // Chương trình
	TypePlan           DocType = "plan"            // Kế hoạch
	TypeOfficialLetter DocType = "official_letter" // Công văn
	TypeTelegram       DocType = "telegram"        // Công điện
	TypeMinutes        DocType = "minutes"         // Biên bản
	TypeCharter        DocType = "charter"         // Điều lệ
	TypeOther          DocType = "other"           // Khác
)

// ErrUnknownDocType is returned (wrapped) by ParseDocType.
var ErrUnknownDocType = errors.New("unknown document type")

// DocTypes returns every known type in display order, in a new slice.
func DocTypes() []DocType {
	return []DocType{
		TypeResolution, TypeDecision, TypeDirective, TypeConclusion, TypeRegulation,
		TypeRules, TypeCircular, TypeGuidance, TypeNotice, TypeCommunique,
		TypeDeclaration, TypeAppeal, TypeReport, TypeSubmission, TypeScheme,
		TypeProgramme, TypePlan, TypeOfficialLetter, TypeTelegram, TypeMinutes,
		TypeCharter, TypeOther,
	}
}

// Valid reports whether t is a known type.
func (t DocType) Valid() bool { return t.NameVI() != "" }

// String returns the code.
func (t DocType) String() string { return string(t) }

// NameVI returns the Vietnamese name ("Nghị quyết"), or "" for an unknown
// type.
func (t DocType) NameVI() string { vi, _ := t.names(); return vi }

// NameEN returns the English name ("Resolution"), or "" for an unknown type.
func (t DocType) NameEN() string { _, en := t.names(); return en }

func (t DocType) names() (vi, en string) {
	switch t {
	case TypeResolution:
		return "Nghị quyết", "Resolution"
	case TypeDecision:
		return "Quyết định", "Decision"
	case TypeDirective:
		return "Chỉ thị", "Directive"
	case TypeConclusion:
		return "Kết luận", "Conclusion"
	case TypeRegulation:
		return "Quy định", "Regulation"
	case TypeRules:
		return "Quy chế", "Rules"
	case TypeCircular:
		return "Thông tri", "Circular"
	case TypeGuidance:
		return "Hướng dẫn", "Guidance"
	case TypeNotice:
		return "Thông báo", "Notice"
	case TypeCommunique:
		return "Thông cáo", "Communiqué"
	case TypeDeclaration:
		return "Tuyên bố", "Declaration"
	case TypeAppeal:
		return "Lời kêu gọi", "Appeal"
	case TypeReport:
		return "Báo cáo", "Report"
	case TypeSubmission:
		return "Tờ trình", "Submission"
	case TypeScheme:
		return "Đề án", "Scheme"
	case TypeProgramme:
		return "Chương trình", "Programme"
	case TypePlan:
		return "Kế hoạch", "Plan"
	case TypeOfficialLetter:
		return "Công văn", "Official letter"
	case TypeTelegram:
		return "Công điện", "Telegram"
	case TypeMinutes:
		return "Biên bản", "Minutes"
	case TypeCharter:
		return "Điều lệ", "Charter"
	case TypeOther:
		return "Khác", "Other"
	}
	return "", ""
}

// ParseDocType reads a document type from its code, its English name or its
// Vietnamese name, in any case, with or without diacritics, NFC or NFD:
// "official_letter", "Official letter", "Công văn", "cong van", "CONG-VAN".
func ParseDocType(s string) (DocType, error) {
	if key := foldKey(s); key != "" {
		for _, t := range DocTypes() {
			if key == foldKey(string(t)) || key == foldKey(t.NameVI()) || key == foldKey(t.NameEN()) {
				return t, nil
			}
		}
	}
	return "", fmt.Errorf("parse %q: %w", truncate(s), ErrUnknownDocType)
}

// foldKey reduces a name to a comparison key: decomposed (NFD), combining
// marks dropped, đ folded to d, lower case, and spaces, '-' and '_' removed.
// "Công văn", "cong van" and "CONG_VAN" share the key "congvan".
func foldKey(s string) string {
	const maxKey = 128 // longer than any type name; bounds the work on hostile input
	if len(s) > maxKey {
		return ""
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r), r == '-', r == '_', unicode.IsSpace(r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
