package access

import "slices"

// Resource is what Decide needs to know about the object of an action. For
// document actions it describes the document as stored (for Create, as it
// will be stored); for user actions, the account concerned. Fields an action
// does not use are ignored — see the comment of each Action.
type Resource struct {
	// Level is the document's current secrecy level; for Create, the level
	// the new document will have.
	Level Level
	// Target is the level asked for: the new level for RaiseLevel and
	// LowerLevel; the clearance granted for GrantClearance; the current
	// (or, for a new account, initial) clearance of the account for
	// ManageUsers.
	Target Level
	// Compartments are the document's need-to-know labels (for Create,
	// those it will have). For GrantClearance and ManageUsers, the
	// compartments the account is given or already holds.
	Compartments []string
	// NamedRecipients lists the subject IDs of the only people who may
	// open a document marked "chỉ người có tên mới được bóc bì". Empty
	// means the document carries no such marking.
	NamedRecipients []string
	// RequestedBy is the subject ID of whoever asked for what is being
	// approved (ApproveDestruction, ApproveCopy); empty when there is no
	// pending request.
	RequestedBy string
	// CopyApproved reports that an approved copy request of this subject
	// for this document is on record, or that the archive's rules need no
	// approval at this level (Download at CopyApprovalFrom and above; the
	// archive raises the threshold by configuration, by default to Tuyệt
	// mật). Finding and consuming that approval is the service's job.
	CopyApproved bool
	// ProtectionEnded reports that the document's protection period (and
	// any extension of it) has ended, so that it is declassified already
	// or about to be (ExtendProtection). Working out the end from the
	// metadata and the archive's rules is the service's job.
	ProtectionEnded bool
}

// Reason is the stable, machine-readable code of a Decision. It is written
// to the audit log and used in tests; it is never shown to the user, who
// sees a plain "not found" for any document they may not read.
type Reason string

// The reason codes of Decide. Only ReasonOK comes with Allow.
const (
	// ReasonOK: the action is allowed.
	ReasonOK Reason = "ok"
	// ReasonNoSubject: the subject has no ID (not authenticated).
	ReasonNoSubject Reason = "no_subject"
	// ReasonInvalidSubject: the subject's clearance is not a level.
	ReasonInvalidSubject Reason = "invalid_subject"
	// ReasonInvalidResource: a level of the resource is not a level.
	ReasonInvalidResource Reason = "invalid_resource"
	// ReasonUnknownAction: the action is not one Decide knows.
	ReasonUnknownAction Reason = "unknown_action"
	// ReasonNoRole: none of the subject's roles permits the action.
	ReasonNoRole Reason = "no_role"
	// ReasonClearance: the document's level is above the subject's
	// clearance.
	ReasonClearance Reason = "clearance"
	// ReasonCompartment: the document (or the created document, or the
	// account managed) has a compartment the subject does not hold.
	ReasonCompartment Reason = "compartment"
	// ReasonNotNamed: the document is for named recipients only and the
	// subject is not one of them.
	ReasonNotNamed Reason = "not_named"
	// ReasonAboveOwnClearance: the level asked for (a new document, a
	// raised level, a granted or managed clearance) is above the
	// subject's own clearance.
	ReasonAboveOwnClearance Reason = "above_own_clearance"
	// ReasonNotRaising: RaiseLevel to a level that is not higher.
	ReasonNotRaising Reason = "not_raising"
	// ReasonNotLowering: LowerLevel to a level that is not lower.
	ReasonNotLowering Reason = "not_lowering"
	// ReasonNoRequest: an approval with no pending request to approve.
	ReasonNoRequest Reason = "no_request"
	// ReasonSamePerson: the approver is the requester; approvals need a
	// second person.
	ReasonSamePerson Reason = "same_person"
	// ReasonCopyNotApproved: a download at CopyApprovalFrom or above
	// without an approved copy request.
	ReasonCopyNotApproved Reason = "copy_not_approved"
	// ReasonProtectionEnded: ExtendProtection of a document whose
	// protection period has ended, or which has none (unclassified): a
	// period is extended only before it ends.
	ReasonProtectionEnded Reason = "protection_ended"
)

// Decision is the outcome of Decide. The zero Decision denies.
type Decision struct {
	// Allow is true only when the action is permitted.
	Allow bool
	// Reason says why; ReasonOK when allowed.
	Reason Reason
}

// String returns "allow" or "deny: <reason>", for logs and test output.
func (d Decision) String() string {
	if d.Allow {
		return "allow"
	}
	return "deny: " + string(d.Reason)
}

// Decide says whether subject s may perform action a on resource r. It is
// the single access decision of Khomat: pure, deterministic, and deny by
// default. The checks run in a fixed order — subject, action, role, the
// resource's values, the read conditions, then what is particular to the
// action — and the first that fails names the Reason.
func Decide(s Subject, a Action, r Resource) Decision {
	if s.ID == "" {
		return deny(ReasonNoSubject)
	}
	if !s.Clearance.Valid() {
		return deny(ReasonInvalidSubject)
	}
	switch a {
	// Auditor and Admin are absent from every list of roles that reaches
	// a document: those roles see the log and the accounts, not what is
	// archived.
	case ViewMetadata, Read:
		return readDocument(s, r, Reader, Archivist, SecurityOfficer)

	case Download:
		if d := readDocument(s, r, Reader, Archivist, SecurityOfficer); !d.Allow {
			return d
		}
		if r.Level >= CopyApprovalFrom && !r.CopyApproved {
			return deny(ReasonCopyNotApproved)
		}
		return allow()

	case ApproveCopy, ApproveDestruction:
		if d := readDocument(s, r, SecurityOfficer); !d.Allow {
			return d
		}
		switch r.RequestedBy {
		case "":
			return deny(ReasonNoRequest)
		case s.ID:
			return deny(ReasonSamePerson)
		}
		return allow()

	case Create:
		if !s.HasAny(Archivist) {
			return deny(ReasonNoRole)
		}
		if !r.Level.Valid() {
			return deny(ReasonInvalidResource)
		}
		if r.Level > s.Clearance {
			return deny(ReasonAboveOwnClearance)
		}
		if !subset(r.Compartments, s.Compartments) {
			return deny(ReasonCompartment)
		}
		return allow()

	case AddVersion, UpdateMetadata:
		return readDocument(s, r, Archivist)

	case RaiseLevel:
		if d := readDocument(s, r, Archivist, SecurityOfficer); !d.Allow {
			return d
		}
		switch {
		case !r.Target.Valid():
			return deny(ReasonInvalidResource)
		case r.Target <= r.Level:
			return deny(ReasonNotRaising)
		case r.Target > s.Clearance:
			return deny(ReasonAboveOwnClearance)
		}
		return allow()

	case LowerLevel:
		if d := readDocument(s, r, SecurityOfficer); !d.Allow {
			return d
		}
		switch {
		case !r.Target.Valid():
			return deny(ReasonInvalidResource)
		case r.Target >= r.Level:
			return deny(ReasonNotLowering)
		}
		return allow()

	case ExtendProtection:
		if d := readDocument(s, r, SecurityOfficer); !d.Allow {
			return d
		}
		if !r.Level.Classified() || r.ProtectionEnded {
			return deny(ReasonProtectionEnded)
		}
		return allow()

	case RequestDestruction:
		return readDocument(s, r, Archivist, SecurityOfficer)

	case List:
		if !s.HasAny(Reader, Archivist, SecurityOfficer) {
			return deny(ReasonNoRole)
		}
		return allow()

	case ReadAudit, ExportAudit:
		if !s.HasAny(Auditor) {
			return deny(ReasonNoRole)
		}
		return allow()

	case ManageUsers, GrantClearance:
		if !s.HasAny(Admin) {
			return deny(ReasonNoRole)
		}
		switch {
		case !r.Target.Valid():
			return deny(ReasonInvalidResource)
		case r.Target > s.Clearance:
			return deny(ReasonAboveOwnClearance)
		case !subset(r.Compartments, s.Compartments):
			return deny(ReasonCompartment)
		}
		return allow()

	case RotateKeys:
		if !s.HasAny(Admin) {
			return deny(ReasonNoRole)
		}
		return allow()
	}
	return deny(ReasonUnknownAction)
}

// readDocument applies the read conditions for a subject holding one of
// roles. Every role passed in is a content role, so "can read" and "may do
// this to what one can read" collapse into one check.
func readDocument(s Subject, r Resource, roles ...Role) Decision {
	switch {
	case !s.HasAny(roles...):
		return deny(ReasonNoRole)
	case !r.Level.Valid():
		return deny(ReasonInvalidResource)
	case r.Level > s.Clearance:
		return deny(ReasonClearance)
	case !subset(r.Compartments, s.Compartments):
		return deny(ReasonCompartment)
	case len(r.NamedRecipients) > 0 && !slices.Contains(r.NamedRecipients, s.ID):
		return deny(ReasonNotNamed)
	}
	return allow()
}

// subset reports whether every label of need is in have.
func subset(need, have []string) bool {
	for _, c := range need {
		if !slices.Contains(have, c) {
			return false
		}
	}
	return true
}

func allow() Decision { return Decision{Allow: true, Reason: ReasonOK} }

func deny(r Reason) Decision { return Decision{Reason: r} }
