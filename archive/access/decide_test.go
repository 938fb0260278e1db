package access

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// This file checks Decide against the rules as DESIGN.md states them. The
// expectation below is written from the design, not from decide.go: it is
// a table of who may do what plus a function that reads the situation's
// labels ("the document has a compartment the subject lacks") rather than
// the data Decide sees, so the two can disagree and the test can fail.

// extra names the one condition, beyond roles and the read conditions, that
// an action adds.
type extra int

const (
	nothingMore     extra = iota
	copyApproval          // Download: Secret and TopSecret need an approved copy request
	secondPerson          // approvals: a pending request, by somebody else
	createWithinOwn       // Create: level ≤ own clearance, compartments held
	raiseWithinOwn        // RaiseLevel: target above the level, at most own clearance
	lowerOnly             // LowerLevel: target below the level
	withinAdminsOwn       // ManageUsers, GrantClearance: account's clearance ≤ own, compartments held
	periodRunning         // ExtendProtection: a classified document whose protection period has not ended
)

// rule is one row of the policy: who may ask, whether they must be able to
// read the document, and what else is checked.
type rule struct {
	roles    []Role
	mustRead bool
	extra    extra
}

// contentReaders are the roles that may read documents at all (DESIGN.md:
// auditors and admins read none unless they also hold one of these).
var contentReaders = []Role{Reader, Archivist, SecurityOfficer}

// policy is the access rule of every action, written out.
var policy = map[Action]rule{
	ViewMetadata:       {roles: contentReaders, mustRead: true},
	Read:               {roles: contentReaders, mustRead: true},
	Download:           {roles: contentReaders, mustRead: true, extra: copyApproval},
	ApproveCopy:        {roles: []Role{SecurityOfficer}, mustRead: true, extra: secondPerson},
	Create:             {roles: []Role{Archivist}, extra: createWithinOwn},
	AddVersion:         {roles: []Role{Archivist}, mustRead: true},
	UpdateMetadata:     {roles: []Role{Archivist}, mustRead: true},
	RaiseLevel:         {roles: []Role{Archivist, SecurityOfficer}, mustRead: true, extra: raiseWithinOwn},
	LowerLevel:         {roles: []Role{SecurityOfficer}, mustRead: true, extra: lowerOnly},
	ExtendProtection:   {roles: []Role{SecurityOfficer}, mustRead: true, extra: periodRunning},
	RequestDestruction: {roles: []Role{Archivist, SecurityOfficer}, mustRead: true},
	ApproveDestruction: {roles: []Role{SecurityOfficer}, mustRead: true, extra: secondPerson},
	List:               {roles: contentReaders},
	ReadAudit:          {roles: []Role{Auditor}},
	ExportAudit:        {roles: []Role{Auditor}},
	ManageUsers:        {roles: []Role{Admin}, extra: withinAdminsOwn},
	GrantClearance:     {roles: []Role{Admin}, extra: withinAdminsOwn},
	RotateKeys:         {roles: []Role{Admin}},
}

// The cases of each dimension of the product, as labels.
type compCase int

const (
	compNone      compCase = iota // the document has no compartment
	compSubset                    // its compartments are all held by the subject
	compNotSubset                 // one of them is not held
)

type namedCase int

const (
	namedUnmarked namedCase = iota // not marked for named recipients
	namedIn                        // marked, and the subject is named
	namedOut                       // marked, and the subject is not named
)

type requesterCase int

const (
	requestNone  requesterCase = iota // nothing pending
	requestSelf                       // the subject asked
	requestOther                      // somebody else asked
)

// situation is one point of the product.
type situation struct {
	action       Action
	roles        []Role
	clearance    Level
	level        Level
	target       Level
	comp         compCase
	named        namedCase
	requester    requesterCase
	copyApproved bool
	ended        bool // the protection period has ended
}

func (c situation) String() string {
	return fmt.Sprintf("%v roles=%v clearance=%v level=%v target=%v comp=%d named=%d requester=%d copyApproved=%v ended=%v",
		c.action, c.roles, c.clearance, c.level, c.target, c.comp, c.named, c.requester, c.copyApproved, c.ended)
}

const me, other = "u-me", "u-other"

// build turns the labels into the Subject and Resource that Decide sees.
func (c situation) build() (Subject, Resource) {
	s := Subject{ID: me, Roles: c.roles, Clearance: c.clearance, Compartments: []string{"kinh-te", "quoc-phong"}, OrgUnit: "vp"}
	r := Resource{Level: c.level, Target: c.target, CopyApproved: c.copyApproved, ProtectionEnded: c.ended}
	switch c.comp {
	case compSubset:
		r.Compartments = []string{"kinh-te"}
	case compNotSubset:
		r.Compartments = []string{"kinh-te", "doi-ngoai"}
	}
	switch c.named {
	case namedIn:
		r.NamedRecipients = []string{other, me}
	case namedOut:
		r.NamedRecipients = []string{other}
	}
	switch c.requester {
	case requestSelf:
		r.RequestedBy = me
	case requestOther:
		r.RequestedBy = other
	}
	return s, r
}

// expect is the decision the design asks for in situation c. Where several
// conditions fail, the first in this order names the reason: role, then the
// read conditions (clearance, compartments, named list), then the action's
// own condition.
func expect(c situation) Decision {
	rule, known := policy[c.action]
	if !known {
		return Decision{Reason: ReasonUnknownAction}
	}
	holdsOne := false
	for _, r := range rule.roles {
		holdsOne = holdsOne || slices.Contains(c.roles, r)
	}
	if !holdsOne {
		return Decision{Reason: ReasonNoRole}
	}
	if rule.mustRead {
		if c.level > c.clearance {
			return Decision{Reason: ReasonClearance}
		}
		if c.comp == compNotSubset {
			return Decision{Reason: ReasonCompartment}
		}
		if c.named == namedOut {
			return Decision{Reason: ReasonNotNamed}
		}
	}
	switch rule.extra {
	case copyApproval:
		if (c.level == Secret || c.level == TopSecret) && !c.copyApproved {
			return Decision{Reason: ReasonCopyNotApproved}
		}
	case secondPerson:
		if c.requester == requestNone {
			return Decision{Reason: ReasonNoRequest}
		}
		if c.requester == requestSelf {
			return Decision{Reason: ReasonSamePerson}
		}
	case createWithinOwn:
		if c.level > c.clearance {
			return Decision{Reason: ReasonAboveOwnClearance}
		}
		if c.comp == compNotSubset {
			return Decision{Reason: ReasonCompartment}
		}
	case raiseWithinOwn:
		if c.target <= c.level {
			return Decision{Reason: ReasonNotRaising}
		}
		if c.target > c.clearance {
			return Decision{Reason: ReasonAboveOwnClearance}
		}
	case lowerOnly:
		if c.target >= c.level {
			return Decision{Reason: ReasonNotLowering}
		}
	case withinAdminsOwn:
		if c.target > c.clearance {
			return Decision{Reason: ReasonAboveOwnClearance}
		}
		if c.comp == compNotSubset {
			return Decision{Reason: ReasonCompartment}
		}
	case periodRunning:
		// An unclassified document has no period to extend.
		if c.level == Unclassified || c.ended {
			return Decision{Reason: ReasonProtectionEnded}
		}
	}
	return Decision{Allow: true, Reason: ReasonOK}
}

// roleSets are the role combinations of the product: none, each role alone,
// and the combinations where one role might wrongly lend another its rights.
var roleSets = [][]Role{
	nil,
	{Reader},
	{Archivist},
	{SecurityOfficer},
	{Auditor},
	{Admin},
	{Auditor, Reader},
	{Admin, Reader},
	{Auditor, Admin},
	{Archivist, SecurityOfficer},
	{Reader, Archivist, SecurityOfficer, Auditor, Admin},
	{Role(0), Role(99)},
}

func TestPolicyCoversEveryAction(t *testing.T) {
	for _, a := range Actions() {
		if _, ok := policy[a]; !ok {
			t.Errorf("action %v has no row in the expected policy", a)
		}
	}
	if len(policy) != len(Actions()) {
		t.Errorf("policy has %d rows, there are %d actions", len(policy), len(Actions()))
	}
}

// TestDecideExhaustive runs every action (and three unknown ones) × role
// set × clearance × document level × target level × compartment case ×
// named-recipient case × requester × copy approval × protection period
// ended or running, and compares Decide with
// expect. Clearance and level each range over all four levels, so the level
// is below, equal to and above the clearance in turn.
func TestDecideExhaustive(t *testing.T) {
	actions := append(Actions(), Action(0), RotateKeys+1, Action(255))
	var n, failures int
	for _, a := range actions {
		for _, roles := range roleSets {
			for _, clearance := range Levels() {
				for _, level := range Levels() {
					for _, target := range Levels() {
						for comp := compNone; comp <= compNotSubset; comp++ {
							for named := namedUnmarked; named <= namedOut; named++ {
								for req := requestNone; req <= requestOther; req++ {
									for _, approved := range []bool{false, true} {
										for _, ended := range []bool{false, true} {
											c := situation{a, roles, clearance, level, target, comp, named, req, approved, ended}
											s, r := c.build()
											got, want := Decide(s, a, r), expect(c)
											n++
											if got != want {
												failures++
												if failures <= 25 {
													t.Errorf("%v: got %v, want %v", c, got, want)
												}
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d cases disagree with the written policy", failures, n)
	}
	t.Logf("%d cases", n)
}

// TestDecideRules names one case per rule of DESIGN.md, with subject,
// resource and decision written out in full.
func TestDecideRules(t *testing.T) {
	reader := func(clearance Level, comps ...string) Subject {
		return Subject{ID: "cb-01", Roles: []Role{Reader}, Clearance: clearance, Compartments: comps}
	}
	archivist := Subject{ID: "vt-01", Roles: []Role{Archivist}, Clearance: Secret, Compartments: []string{"kinh-te"}}
	officer := Subject{ID: "nctq-01", Roles: []Role{SecurityOfficer}, Clearance: TopSecret}
	officer2 := Subject{ID: "nctq-02", Roles: []Role{SecurityOfficer}, Clearance: TopSecret}
	auditor := Subject{ID: "kt-01", Roles: []Role{Auditor}, Clearance: TopSecret}
	admin := Subject{ID: "qt-01", Roles: []Role{Admin}, Clearance: Secret, Compartments: []string{"kinh-te"}}
	ok := Decision{Allow: true, Reason: ReasonOK}
	no := func(r Reason) Decision { return Decision{Reason: r} }

	tests := []struct {
		name string
		s    Subject
		a    Action
		r    Resource
		want Decision
	}{
		// Reading: clearance, compartments and the named list, all three.
		{"reader reads at own clearance", reader(Secret), Read, Resource{Level: Secret}, ok},
		{"reader reads below own clearance", reader(Secret), Read, Resource{Level: Confidential}, ok},
		{"no read up", reader(Secret), Read, Resource{Level: TopSecret}, no(ReasonClearance)},
		{"unclassified clearance reads unclassified", reader(Unclassified), Read, Resource{Level: Unclassified}, ok},
		{"unclassified clearance reads no Mật", reader(Unclassified), Read, Resource{Level: Confidential}, no(ReasonClearance)},
		{"compartments held", reader(Secret, "kinh-te", "quoc-phong"), Read, Resource{Level: Secret, Compartments: []string{"quoc-phong"}}, ok},
		{"compartment missing", reader(TopSecret, "kinh-te"), Read, Resource{Level: Secret, Compartments: []string{"kinh-te", "doi-ngoai"}}, no(ReasonCompartment)},
		{"compartment labels compare exactly", reader(TopSecret, "kinh-te"), Read, Resource{Level: Secret, Compartments: []string{"Kinh-Te"}}, no(ReasonCompartment)},
		{"named recipient reads", reader(Secret), Read, Resource{Level: Secret, NamedRecipients: []string{"cb-01"}}, ok},
		{"top secret clearance does not override the named list", reader(TopSecret), Read, Resource{Level: Confidential, NamedRecipients: []string{"cb-99"}}, no(ReasonNotNamed)},
		{"security officer is not named either", officer, Read, Resource{Level: Confidential, NamedRecipients: []string{"cb-99"}}, no(ReasonNotNamed)},
		{"being named does not override clearance", reader(Confidential), Read, Resource{Level: TopSecret, NamedRecipients: []string{"cb-01"}}, no(ReasonClearance)},
		{"being named does not override compartments", reader(TopSecret), Read, Resource{Level: Secret, Compartments: []string{"doi-ngoai"}, NamedRecipients: []string{"cb-01"}}, no(ReasonCompartment)},
		{"metadata follows the read rule", reader(Confidential), ViewMetadata, Resource{Level: Secret}, no(ReasonClearance)},
		{"metadata of a named-only document", reader(Secret), ViewMetadata, Resource{Level: Secret, NamedRecipients: []string{"cb-02"}}, no(ReasonNotNamed)},

		// Auditors and admins read no document by their role alone.
		{"auditor alone reads no document", auditor, Read, Resource{Level: Unclassified}, no(ReasonNoRole)},
		{"auditor alone sees no metadata", auditor, ViewMetadata, Resource{Level: Unclassified}, no(ReasonNoRole)},
		{"auditor who is also a reader reads", Subject{ID: "kt-02", Roles: []Role{Auditor, Reader}, Clearance: Secret}, Read, Resource{Level: Secret}, ok},
		{"admin alone reads no document", admin, Read, Resource{Level: Unclassified}, no(ReasonNoRole)},
		{"admin alone does not search", admin, List, Resource{}, no(ReasonNoRole)},
		{"auditor alone does not search", auditor, List, Resource{}, no(ReasonNoRole)},
		{"reader searches", reader(Unclassified), List, Resource{}, ok},

		// Downloads are copies.
		{"download of Mật without approval", reader(Secret), Download, Resource{Level: Confidential}, ok},
		{"download of unclassified", reader(Unclassified), Download, Resource{Level: Unclassified}, ok},
		{"download of Tối mật needs an approval", reader(Secret), Download, Resource{Level: Secret}, no(ReasonCopyNotApproved)},
		{"download of Tuyệt mật with approval", reader(TopSecret), Download, Resource{Level: TopSecret, CopyApproved: true}, ok},
		{"approval does not lift clearance", reader(Secret), Download, Resource{Level: TopSecret, CopyApproved: true}, no(ReasonClearance)},
		{"officer approves another's copy", officer, ApproveCopy, Resource{Level: TopSecret, RequestedBy: "cb-01"}, ok},
		{"officer does not approve own copy", officer, ApproveCopy, Resource{Level: TopSecret, RequestedBy: "nctq-01"}, no(ReasonSamePerson)},
		{"archivist does not approve copies", archivist, ApproveCopy, Resource{Level: Secret, RequestedBy: "cb-01"}, no(ReasonNoRole)},

		// Create: never above one's own clearance.
		{"archivist creates at own clearance", archivist, Create, Resource{Level: Secret}, ok},
		{"archivist creates unclassified", archivist, Create, Resource{Level: Unclassified}, ok},
		{"archivist does not create above own clearance", archivist, Create, Resource{Level: TopSecret}, no(ReasonAboveOwnClearance)},
		{"archivist creates in a compartment held", archivist, Create, Resource{Level: Secret, Compartments: []string{"kinh-te"}}, ok},
		{"archivist does not create in a compartment not held", archivist, Create, Resource{Level: Secret, Compartments: []string{"quoc-phong"}}, no(ReasonCompartment)},
		{"archivist may create for named recipients other than self", archivist, Create, Resource{Level: Secret, NamedRecipients: []string{"cb-01"}}, ok},
		{"reader does not create", reader(TopSecret), Create, Resource{Level: Unclassified}, no(ReasonNoRole)},
		{"officer does not create", officer, Create, Resource{Level: Unclassified}, no(ReasonNoRole)},

		// Versions and metadata.
		{"archivist adds a version", archivist, AddVersion, Resource{Level: Confidential}, ok},
		{"archivist adds no version above clearance", archivist, AddVersion, Resource{Level: TopSecret}, no(ReasonClearance)},
		{"archivist edits metadata", archivist, UpdateMetadata, Resource{Level: Secret, Compartments: []string{"kinh-te"}}, ok},
		{"archivist edits no named-only document", archivist, UpdateMetadata, Resource{Level: Secret, NamedRecipients: []string{"cb-01"}}, no(ReasonNotNamed)},
		{"reader edits no metadata", reader(TopSecret), UpdateMetadata, Resource{Level: Secret}, no(ReasonNoRole)},

		// Raising a level.
		{"archivist raises Mật to Tối mật", archivist, RaiseLevel, Resource{Level: Confidential, Target: Secret}, ok},
		{"archivist raises no higher than own clearance", archivist, RaiseLevel, Resource{Level: Confidential, Target: TopSecret}, no(ReasonAboveOwnClearance)},
		{"raising to the same level is not raising", archivist, RaiseLevel, Resource{Level: Secret, Target: Secret}, no(ReasonNotRaising)},
		{"raising to a lower level is not raising", officer, RaiseLevel, Resource{Level: Secret, Target: Confidential}, no(ReasonNotRaising)},
		{"officer raises to Tuyệt mật", officer, RaiseLevel, Resource{Level: Secret, Target: TopSecret}, ok},
		{"reader does not raise", reader(TopSecret), RaiseLevel, Resource{Level: Confidential, Target: Secret}, no(ReasonNoRole)},

		// Lowering and declassifying: the security officer only.
		{"officer lowers Tuyệt mật to Mật", officer, LowerLevel, Resource{Level: TopSecret, Target: Confidential}, ok},
		{"officer declassifies", officer, LowerLevel, Resource{Level: Secret, Target: Unclassified}, ok},
		{"archivist does not lower", archivist, LowerLevel, Resource{Level: Secret, Target: Confidential}, no(ReasonNoRole)},
		{"admin does not lower", admin, LowerLevel, Resource{Level: Secret, Target: Confidential}, no(ReasonNoRole)},
		{"lowering to the same level is not lowering", officer, LowerLevel, Resource{Level: Secret, Target: Secret}, no(ReasonNotLowering)},
		{"lowering upwards is not lowering", officer, LowerLevel, Resource{Level: Confidential, Target: Secret}, no(ReasonNotLowering)},
		{"officer lowers nothing above own clearance", Subject{ID: "nctq-03", Roles: []Role{SecurityOfficer}, Clearance: Secret}, LowerLevel, Resource{Level: TopSecret, Target: Unclassified}, no(ReasonClearance)},
		{"officer lowers nothing outside own compartments", officer, LowerLevel, Resource{Level: Secret, Target: Confidential, Compartments: []string{"kinh-te"}}, no(ReasonCompartment)},
		{"officer extends protection", officer, ExtendProtection, Resource{Level: TopSecret}, ok},
		{"archivist does not extend protection", archivist, ExtendProtection, Resource{Level: Confidential}, no(ReasonNoRole)},
		{"no extension once the period has ended", officer, ExtendProtection, Resource{Level: Secret, ProtectionEnded: true}, no(ReasonProtectionEnded)},
		{"no extension of an unclassified document", officer, ExtendProtection, Resource{Level: Unclassified}, no(ReasonProtectionEnded)},
		{"officer extends nothing above own clearance", Subject{ID: "nctq-03", Roles: []Role{SecurityOfficer}, Clearance: Secret}, ExtendProtection, Resource{Level: TopSecret}, no(ReasonClearance)},
		{"officer extends nothing outside own compartments", officer, ExtendProtection, Resource{Level: Secret, Compartments: []string{"kinh-te"}}, no(ReasonCompartment)},
		{"officer extends no named-only document unnamed", officer, ExtendProtection, Resource{Level: Secret, NamedRecipients: []string{"cb-99"}}, no(ReasonNotNamed)},
		{"an ended period hides nothing from one who cannot read", reader(TopSecret), ExtendProtection, Resource{Level: Secret, ProtectionEnded: true}, no(ReasonNoRole)},

		// Destruction: two different people.
		{"archivist requests destruction", archivist, RequestDestruction, Resource{Level: Secret}, ok},
		{"officer requests destruction", officer, RequestDestruction, Resource{Level: Secret}, ok},
		{"reader requests no destruction", reader(TopSecret), RequestDestruction, Resource{Level: Secret}, no(ReasonNoRole)},
		{"another officer approves destruction", officer2, ApproveDestruction, Resource{Level: Secret, RequestedBy: "nctq-01"}, ok},
		{"officer approves an archivist's request", officer, ApproveDestruction, Resource{Level: Secret, RequestedBy: "vt-01"}, ok},
		{"requester does not approve own destruction", officer, ApproveDestruction, Resource{Level: Secret, RequestedBy: "nctq-01"}, no(ReasonSamePerson)},
		{"no approval without a request", officer, ApproveDestruction, Resource{Level: Secret}, no(ReasonNoRequest)},
		{"archivist does not approve destruction", archivist, ApproveDestruction, Resource{Level: Secret, RequestedBy: "nctq-01"}, no(ReasonNoRole)},
		{"approver must be able to read it", Subject{ID: "nctq-04", Roles: []Role{SecurityOfficer}, Clearance: Confidential}, ApproveDestruction, Resource{Level: Secret, RequestedBy: "nctq-01"}, no(ReasonClearance)},

		// The audit log.
		{"auditor reads the log", auditor, ReadAudit, Resource{}, ok},
		{"auditor exports the log", auditor, ExportAudit, Resource{}, ok},
		{"reader does not read the log", reader(TopSecret), ReadAudit, Resource{}, no(ReasonNoRole)},
		{"admin does not read the log", admin, ReadAudit, Resource{}, no(ReasonNoRole)},
		{"officer does not export the log", officer, ExportAudit, Resource{}, no(ReasonNoRole)},

		// Administration.
		{"admin grants own clearance", admin, GrantClearance, Resource{Target: Secret}, ok},
		{"admin grants below own clearance", admin, GrantClearance, Resource{Target: Confidential, Compartments: []string{"kinh-te"}}, ok},
		{"admin grants no clearance above own", admin, GrantClearance, Resource{Target: TopSecret}, no(ReasonAboveOwnClearance)},
		{"admin grants no compartment not held", admin, GrantClearance, Resource{Target: Confidential, Compartments: []string{"quoc-phong"}}, no(ReasonCompartment)},
		{"officer grants no clearance", officer, GrantClearance, Resource{Target: Confidential}, no(ReasonNoRole)},
		{"admin manages an account within own clearance", admin, ManageUsers, Resource{Target: Confidential}, ok},
		{"admin manages no account cleared above own", admin, ManageUsers, Resource{Target: TopSecret}, no(ReasonAboveOwnClearance)},
		{"reader manages no account", reader(TopSecret), ManageUsers, Resource{Target: Unclassified}, no(ReasonNoRole)},
		{"admin rotates keys", admin, RotateKeys, Resource{}, ok},
		{"officer rotates no keys", officer, RotateKeys, Resource{}, no(ReasonNoRole)},

		// Default deny.
		{"zero subject", Subject{}, List, Resource{}, no(ReasonNoSubject)},
		{"subject without ID but with roles", Subject{Roles: []Role{Reader, Admin}, Clearance: TopSecret}, Read, Resource{Level: Unclassified}, no(ReasonNoSubject)},
		{"zero action", reader(TopSecret), Action(0), Resource{}, no(ReasonUnknownAction)},
		{"action past the last", Subject{ID: "all", Roles: Roles(), Clearance: TopSecret}, RotateKeys + 1, Resource{}, no(ReasonUnknownAction)},
		{"subject without roles", Subject{ID: "x", Clearance: TopSecret}, Read, Resource{Level: Unclassified}, no(ReasonNoRole)},
		{"unknown role values grant nothing", Subject{ID: "x", Roles: []Role{0, 6, 255}, Clearance: TopSecret}, Read, Resource{Level: Unclassified}, no(ReasonNoRole)},
		{"invalid clearance", Subject{ID: "x", Roles: []Role{Reader}, Clearance: Level(9)}, Read, Resource{Level: Unclassified}, no(ReasonInvalidSubject)},
		{"invalid document level", reader(TopSecret), Read, Resource{Level: Level(4)}, no(ReasonInvalidResource)},
		{"invalid level to create", archivist, Create, Resource{Level: Level(200)}, no(ReasonInvalidResource)},
		{"invalid target to raise", officer, RaiseLevel, Resource{Level: Secret, Target: Level(4)}, no(ReasonInvalidResource)},
		{"invalid target to lower", officer, LowerLevel, Resource{Level: Secret, Target: Level(255)}, no(ReasonInvalidResource)},
		{"invalid clearance to grant", admin, GrantClearance, Resource{Target: Level(7)}, no(ReasonInvalidResource)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Decide(tt.s, tt.a, tt.r); got != tt.want {
				t.Errorf("Decide(%+v, %v, %+v) = %v, want %v", tt.s, tt.a, tt.r, got, tt.want)
			}
		})
	}
}

func TestDecideLeavesInputsAlone(t *testing.T) {
	s := Subject{ID: "a", Roles: []Role{Reader, SecurityOfficer}, Clearance: Secret, Compartments: []string{"b", "a"}}
	r := Resource{Level: Secret, Target: Confidential, Compartments: []string{"a"}, NamedRecipients: []string{"z", "a"}, RequestedBy: "q"}
	for _, a := range Actions() {
		Decide(s, a, r)
	}
	if !slices.Equal(s.Roles, []Role{Reader, SecurityOfficer}) || !slices.Equal(s.Compartments, []string{"b", "a"}) ||
		!slices.Equal(r.Compartments, []string{"a"}) || !slices.Equal(r.NamedRecipients, []string{"z", "a"}) {
		t.Errorf("Decide modified its inputs: %+v %+v", s, r)
	}
}

func TestDecisionZeroDenies(t *testing.T) {
	var d Decision
	if d.Allow {
		t.Fatal("zero Decision allows")
	}
	if got := (Decision{Allow: true, Reason: ReasonOK}).String(); got != "allow" {
		t.Errorf("String = %q", got)
	}
	if got := (Decision{Reason: ReasonNotNamed}).String(); got != "deny: not_named" {
		t.Errorf("String = %q", got)
	}
}

// TestReasonCodesStable pins the reason codes: they are written into the
// audit log, so renaming one breaks every query over old events.
func TestReasonCodesStable(t *testing.T) {
	want := map[Reason]string{
		ReasonOK: "ok", ReasonNoSubject: "no_subject", ReasonInvalidSubject: "invalid_subject",
		ReasonInvalidResource: "invalid_resource", ReasonUnknownAction: "unknown_action",
		ReasonNoRole: "no_role", ReasonClearance: "clearance", ReasonCompartment: "compartment",
		ReasonNotNamed: "not_named", ReasonAboveOwnClearance: "above_own_clearance",
		ReasonNotRaising: "not_raising", ReasonNotLowering: "not_lowering",
		ReasonNoRequest: "no_request", ReasonSamePerson: "same_person",
		ReasonCopyNotApproved: "copy_not_approved", ReasonProtectionEnded: "protection_ended",
	}
	for r, code := range want {
		if string(r) != code || strings.ToLower(code) != code {
			t.Errorf("reason %q, want %q", r, code)
		}
	}
}
