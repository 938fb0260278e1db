package access

import (
	"errors"
	"fmt"
	"strconv"
)

// Action is something a subject asks the archive to do. Every request that
// touches a document, a user, a key or the audit log maps to exactly one
// Action and goes through Decide. The zero Action is no action and is
// denied.
type Action uint8

// The actions of the archive. The comment of each says which roles Decide
// allows and what else it checks; "can read" means the read conditions of
// Read (clearance ≥ level, compartments ⊆, named if marked).
const (
	// ViewMetadata shows a document's metadata: title, summary, number,
	// signer. Titles and summaries take the document's level, so the rule
	// is Read's, and a document that fails it does not exist for the
	// subject (no title, no count, no facet).
	ViewMetadata Action = iota + 1
	// Read opens a document's content for viewing.
	// Reader, archivist or security officer who can read it.
	Read
	// Download takes a copy of the content out of the archive (printing
	// is a download too). As Read, and for Secret and TopSecret documents
	// (CopyApprovalFrom and above) Resource.CopyApproved must be true: a
	// download of a classified document is a copy (sao, chụp), which the
	// highest levels may only take with a competent person's approval.
	// The service registers every copy.
	Download
	// ApproveCopy approves another user's request to copy (download) a
	// document. Security officer who can read it, not the requester.
	ApproveCopy
	// Create registers a new document. Archivist, at a level ≤ own
	// clearance and with compartments the archivist holds: no one writes
	// what they could not read back.
	Create
	// AddVersion uploads a new version of a document's content.
	// Archivist who can read it.
	AddVersion
	// UpdateMetadata edits a document's metadata (a new metadata revision)
	// other than its level. Archivist who can read it.
	UpdateMetadata
	// RaiseLevel reclassifies a document to a higher level
	// (Resource.Target > Resource.Level). Archivist or security officer
	// who can read it, with Target ≤ own clearance.
	RaiseLevel
	// LowerLevel reclassifies a document to a lower level, or declassifies
	// it (Target = Unclassified): hạ độ mật, giải mật. Security officer who
	// can read it, with Target < Level.
	LowerLevel
	// ExtendProtection extends a classified document's protection period
	// (gia hạn thời hạn bảo vệ). Security officer who can read it, while
	// the period runs: not once Resource.ProtectionEnded, nor for an
	// unclassified document, which has no period.
	ExtendProtection
	// RequestDestruction asks for a document to be destroyed (its data
	// keys shredded). Archivist or security officer who can read it.
	RequestDestruction
	// ApproveDestruction approves a pending destruction request.
	// Security officer who can read it and is not the requester
	// (Resource.RequestedBy): destruction needs two people.
	ApproveDestruction
	// List searches or lists documents. Reader, archivist or security
	// officer. The Resource is ignored: the result is filtered document by
	// document with ViewMetadata.
	List
	// ReadAudit searches and reads the audit log. Auditor.
	ReadAudit
	// ExportAudit exports the audit log (and its proofs) for offline
	// verification. Auditor.
	ExportAudit
	// ManageUsers creates, edits, disables and resets the credentials of a
	// user account, including its roles. Admin, and the account's
	// clearance (Resource.Target) and compartments (Resource.Compartments)
	// must not exceed the admin's own: whoever can reset a password can
	// become that user.
	ManageUsers
	// GrantClearance sets a user's clearance to Resource.Target and
	// compartments to Resource.Compartments. Admin, never above the admin's
	// own clearance nor with a compartment the admin lacks.
	GrantClearance
	// RotateKeys rotates a level's key-encryption key and rewraps the
	// envelopes. Admin. The admin never sees a key or a document: the
	// keyring does the work.
	RotateKeys
)

// CopyApprovalFrom is the lowest level at which a Download needs an approved
// copy request (DOMAIN.md: "approval for the highest levels").
const CopyApprovalFrom = Secret

// ErrUnknownAction is returned (wrapped) when a name is not an action.
var ErrUnknownAction = errors.New("unknown action")

// Actions returns every action in a new slice.
func Actions() []Action {
	all := make([]Action, 0, int(RotateKeys))
	for a := ViewMetadata; a <= RotateKeys; a++ {
		all = append(all, a)
	}
	return all
}

// Valid reports whether a is a known action.
func (a Action) Valid() bool { return a >= ViewMetadata && a <= RotateKeys }

// String returns the stable English code of the action used in audit
// events ("view_metadata", "read", …), or "Action(n)" for an invalid value.
func (a Action) String() string {
	if n := a.names(); n.code != "" {
		return n.code
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// NameVI returns the Vietnamese display name, for the audit views; "" if
// invalid.
func (a Action) NameVI() string { return a.names().vi }

// NameEN returns the English display name; "" if invalid.
func (a Action) NameEN() string { return a.names().en }

type actionNames struct{ code, vi, en string }

func (a Action) names() actionNames {
	switch a {
	case ViewMetadata:
		return actionNames{"view_metadata", "Xem thông tin tài liệu", "View metadata"}
	case Read:
		return actionNames{"read", "Đọc tài liệu", "Read"}
	case Download:
		return actionNames{"download", "Tải xuống (sao tài liệu)", "Download (copy)"}
	case ApproveCopy:
		return actionNames{"approve_copy", "Duyệt sao, chụp", "Approve copy"}
	case Create:
		return actionNames{"create", "Tạo tài liệu", "Create"}
	case AddVersion:
		return actionNames{"add_version", "Thêm phiên bản", "Add version"}
	case UpdateMetadata:
		return actionNames{"update_metadata", "Sửa thông tin tài liệu", "Update metadata"}
	case RaiseLevel:
		return actionNames{"raise_level", "Tăng độ mật", "Raise level"}
	case LowerLevel:
		return actionNames{"lower_level", "Giảm độ mật, giải mật", "Lower level or declassify"}
	case ExtendProtection:
		return actionNames{"extend_protection", "Gia hạn thời hạn bảo vệ", "Extend protection period"}
	case RequestDestruction:
		return actionNames{"request_destruction", "Đề nghị tiêu hủy", "Request destruction"}
	case ApproveDestruction:
		return actionNames{"approve_destruction", "Duyệt tiêu hủy", "Approve destruction"}
	case List:
		return actionNames{"list", "Tìm kiếm, liệt kê", "List and search"}
	case ReadAudit:
		return actionNames{"read_audit", "Xem nhật ký", "Read audit log"}
	case ExportAudit:
		return actionNames{"export_audit", "Xuất nhật ký", "Export audit log"}
	case ManageUsers:
		return actionNames{"manage_users", "Quản lý người dùng", "Manage users"}
	case GrantClearance:
		return actionNames{"grant_clearance", "Cấp quyền tiếp cận bí mật", "Grant clearance"}
	case RotateKeys:
		return actionNames{"rotate_keys", "Thay khóa mã hóa", "Rotate keys"}
	}
	return actionNames{}
}

// ParseAction reads an action from its English code, in any case, with
// space, '-' or '_' between words. Actions are a machine vocabulary (audit
// filters, tests), so Vietnamese names are for display only.
func ParseAction(s string) (Action, error) {
	if key, ok := nameKey(s); ok && key != "" {
		for _, a := range Actions() {
			if k, _ := nameKey(a.String()); k == key {
				return a, nil
			}
		}
	}
	return 0, fmt.Errorf("parse action %s: %w", quoteInput(s), ErrUnknownAction)
}

// MarshalText encodes the action as its English code.
func (a Action) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("marshal action %d: %w", a, ErrUnknownAction)
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes any spelling ParseAction accepts.
func (a *Action) UnmarshalText(text []byte) error {
	v, err := ParseAction(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
