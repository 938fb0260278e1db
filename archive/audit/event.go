package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"khomat/archive/access"
)

// Event is one audited action: who asked for what, on which object, and how
// it ended. It maps field for field to the archive service's audit event,
// plus QueryHash and Detail. It never holds a title, a summary, the text of a
// query or any content: codes and identifiers only.
type Event struct {
	// Time is when the action was decided. A zero Time, or one ahead of
	// the log's clock, is replaced by the clock's reading. The log keeps
	// times non-decreasing in sequence order (a time earlier than its
	// predecessor's is raised to it), so a time range is a contiguous
	// range of events. Stored in UTC to the nanosecond.
	Time time.Time `json:"time"`
	// Actor is the acting subject's id, or SystemActor for the log itself.
	Actor string `json:"actor"`
	// Roles are the actor's roles when the action was decided.
	Roles []access.Role `json:"roles"`
	// Clearance is the actor's clearance when the action was decided.
	Clearance access.Level `json:"clearance"`
	// OrgUnit is the actor's organisation unit.
	OrgUnit string `json:"org_unit"`
	// Action is an access.Action code ("read", "download", "lower_level",
	// ...) or one of the Action constants of this package ("login",
	// "search", "user_create", ...).
	Action string `json:"action"`
	// Object is the id of the document (hex) or user concerned; "" when
	// none.
	Object string `json:"object"`
	// Version is the document version concerned; 0 when none.
	Version uint32 `json:"version"`
	// Level is the document's secrecy level at decision time.
	Level access.Level `json:"level"`
	// Target is the new level of a reclassification, or the clearance
	// granted by a user change.
	Target access.Level `json:"target"`
	// Outcome is how the action ended.
	Outcome Outcome `json:"outcome"`
	// Reason is a reason code: the access.Reason of a decision, or an error
	// code for a failure. Never free text from a user.
	Reason string `json:"reason"`
	// ClientIP is the client's address.
	ClientIP string `json:"client_ip"`
	// Request is the request id, to join with the operational log.
	Request string `json:"request"`
	// QueryHash is QueryHasher.Hash of a search query, so repeats of one
	// query can be matched without the query text being stored; "" when
	// the action is not a search.
	QueryHash string `json:"query_hash"`
	// Detail holds codes that qualify the action, as "key=value" pairs
	// separated by spaces (for example "roles=reader,auditor" for a role
	// change, "kek=secret/4" for a key rotation). Never free text, never a
	// title or a secret.
	Detail string `json:"detail"`
}

// Entry is an event as the log stores it: its sequence number (its leaf
// index in the Merkle tree, from 0), the leaf hash of the event before it
// (zero for the first), and the event.
type Entry struct {
	Seq  uint64    `json:"seq"`
	Prev tlog.Hash `json:"prev"`
	Event
}

// Outcome is how an audited action ended.
type Outcome string

// The three outcomes.
const (
	// Allowed: the policy allowed the action and it took effect.
	Allowed Outcome = "allowed"
	// Denied: the policy refused the action; nothing happened.
	Denied Outcome = "denied"
	// Failed: the action was allowed but did not complete.
	Failed Outcome = "failed"
)

// Valid reports whether o is one of the three outcomes.
func (o Outcome) Valid() bool { return o == Allowed || o == Denied || o == Failed }

// Actions that are not document actions. Document actions use the codes of
// access.Action.String().
const (
	ActionLogin        = "login"
	ActionLoginFailed  = "login_failed"
	ActionLogout       = "logout"
	ActionSearch       = "search"
	ActionUserCreate   = "user_create"
	ActionUserUpdate   = "user_update"
	ActionUserDisable  = "user_disable"
	ActionRoleChange   = "role_change"
	ActionClearance    = "clearance_change"
	ActionPasswordSet  = "password_reset"
	ActionKeyRotate    = "key_rotate"
	ActionAuditRead    = "audit_read"
	ActionAuditExport  = "audit_export"
	ActionAuditVerify  = "audit_verify"
	ActionAuditProve   = "audit_prove"
	ActionAuditRecover = "audit_recover" // written by the log itself after it cut a torn tail
)

// SystemActor is the actor of events the log writes about itself.
const SystemActor = "system"

// MaxField is the longest string field of an event, in bytes. Events hold
// ids and codes, never text, so a longer field is a caller's bug.
const MaxField = 1024

// ErrInvalidEvent is returned (wrapped) by Append for an event that cannot be
// recorded as given.
var ErrInvalidEvent = errors.New("invalid audit event")

// The canonical encoding (docs/FORMAT.md, "Audit log").
const (
	encodingV1 = 1
	headLen    = 1 + 8 + 32 + 8 // version, seq, prev, time
)

// validate checks what encode needs and what an auditor relies on: known
// vocabularies and printable, bounded strings.
func (e *Event) validate() error {
	if e.Action == "" {
		return fmt.Errorf("%w: no action", ErrInvalidEvent)
	}
	if !e.Outcome.Valid() {
		return fmt.Errorf("%w: outcome %q", ErrInvalidEvent, e.Outcome)
	}
	if !e.Clearance.Valid() || !e.Level.Valid() || !e.Target.Valid() {
		return fmt.Errorf("%w: unknown level", ErrInvalidEvent)
	}
	if len(e.Roles) > math.MaxUint8 {
		return fmt.Errorf("%w: %d roles", ErrInvalidEvent, len(e.Roles))
	}
	for _, r := range e.Roles {
		if !r.Valid() {
			return fmt.Errorf("%w: unknown role %d", ErrInvalidEvent, r)
		}
	}
	for _, f := range e.strings() {
		if err := checkField(f.value); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidEvent, f.name, err)
		}
	}
	return nil
}

type field struct{ name, value string }

// strings lists the string fields in encoding order, after Actor.
func (e *Event) strings() []field {
	return []field{
		{"actor", e.Actor}, {"org_unit", e.OrgUnit}, {"action", e.Action},
		{"object", e.Object}, {"outcome", string(e.Outcome)}, {"reason", e.Reason},
		{"client_ip", e.ClientIP}, {"request", e.Request},
		{"query_hash", e.QueryHash}, {"detail", e.Detail},
	}
}

// checkField refuses what would let a field forge lines of an export or a
// log: control characters and invalid UTF-8.
func checkField(s string) error {
	if len(s) > MaxField {
		return fmt.Errorf("longer than %d bytes", MaxField)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errors.New("control character")
		}
	}
	return nil
}

// MarshalBinary returns the canonical encoding of the entry: the bytes whose
// tlog.RecordHash is its leaf hash. It fails for an event Append would
// refuse.
func (en *Entry) MarshalBinary() ([]byte, error) {
	if err := en.validate(); err != nil {
		return nil, err
	}
	if en.Time.IsZero() {
		return nil, fmt.Errorf("%w: no time", ErrInvalidEvent)
	}
	return en.appendEncoding(nil), nil
}

// Hash returns the entry's leaf hash.
func (en *Entry) Hash() (tlog.Hash, error) {
	b, err := en.MarshalBinary()
	if err != nil {
		return tlog.Hash{}, err
	}
	return tlog.RecordHash(b), nil
}

// appendEncoding appends the canonical encoding; the event must be valid.
func (en *Entry) appendEncoding(b []byte) []byte {
	e := &en.Event
	b = append(b, encodingV1)
	b = binary.BigEndian.AppendUint64(b, en.Seq)
	b = append(b, en.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	b = appendString(b, e.Actor)
	b = append(b, byte(len(e.Roles)))
	for _, r := range e.Roles {
		b = append(b, byte(r))
	}
	b = append(b, byte(e.Clearance))
	b = appendString(b, e.OrgUnit)
	b = appendString(b, e.Action)
	b = appendString(b, e.Object)
	b = binary.BigEndian.AppendUint32(b, e.Version)
	b = append(b, byte(e.Level), byte(e.Target))
	b = appendString(b, string(e.Outcome))
	b = appendString(b, e.Reason)
	b = appendString(b, e.ClientIP)
	b = appendString(b, e.Request)
	b = appendString(b, e.QueryHash)
	b = appendString(b, e.Detail)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// errEncoding is what a payload that is not a canonical encoding gives.
var errEncoding = errors.New("not a canonical event encoding")

// UnmarshalBinary decodes a canonical encoding. It accepts exactly the bytes
// MarshalBinary produces: any other byte string is refused, so one entry has
// one encoding and one leaf hash.
func (en *Entry) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	if d.byte() != encodingV1 {
		return fmt.Errorf("%w: unknown version", errEncoding)
	}
	var out Entry
	out.Seq = d.uint64()
	copy(out.Prev[:], d.bytes(32))
	nanos := int64(d.uint64())
	out.Actor = d.string()
	if n := int(d.byte()); n > 0 {
		out.Roles = make([]access.Role, n)
		for i := range out.Roles {
			out.Roles[i] = access.Role(d.byte())
		}
	}
	out.Clearance = access.Level(d.byte())
	out.OrgUnit = d.string()
	out.Action = d.string()
	out.Object = d.string()
	out.Version = d.uint32()
	out.Level = access.Level(d.byte())
	out.Target = access.Level(d.byte())
	out.Outcome = Outcome(d.string())
	out.Reason = d.string()
	out.ClientIP = d.string()
	out.Request = d.string()
	out.QueryHash = d.string()
	out.Detail = d.string()
	if d.bad || len(d.b) != 0 {
		return fmt.Errorf("%w: bad length", errEncoding)
	}
	out.Time = time.Unix(0, nanos).UTC()
	if err := out.validate(); err != nil {
		return fmt.Errorf("%w: %w", errEncoding, err)
	}
	*en = out
	return nil
}

// decoder reads big-endian fields; a short read sets bad and yields zeros.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) bytes(n int) []byte {
	if d.bad || len(d.b) < n {
		d.bad = true
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte     { return d.bytes(1)[0] }
func (d *decoder) uint32() uint32 { return binary.BigEndian.Uint32(d.bytes(4)) }
func (d *decoder) uint64() uint64 { return binary.BigEndian.Uint64(d.bytes(8)) }
func (d *decoder) string() string { return string(d.bytes(int(binary.BigEndian.Uint16(d.bytes(2))))) }
