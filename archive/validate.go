package archive

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"khomat/archive/access"
)

// Limits on metadata. Lengths count characters (runes), not bytes, so a
// Vietnamese title gets the same room as an ASCII one. They are generous
// for real documents and small enough that one document's metadata stays a
// few hundred KiB at most.
const (
	MaxNameLen           = 300    // issuing body, place, signer, distribution scope
	MaxNumberSymbolLen   = 64     // "15-NQ/TW"
	MaxTitleLen          = 1000   // trích yếu
	MaxSummaryLen        = 10000  // abstract
	MaxRecipients        = 200    // entries of "Nơi nhận"
	MaxRecipientLen      = 300    // one entry of "Nơi nhận"
	MaxKeywords          = 50     // keywords per document
	MaxKeywordLen        = 100    // one keyword
	MaxCompartments      = 32     // compartments per document
	MaxNamedRecipients   = 100    // named recipients per document
	MaxUserIDLen         = 128    // a user ID (named recipients, created by, …)
	MaxPages             = 100000 // pages of one document
	MaxCopies            = 10000  // copies issued
	MaxLanguageLen       = 35     // a BCP 47 tag
	MaxDossierCodeLen    = 100    // dossier code
	MaxStateSecretRefLen = 500    // reference to the list of state secrets
	MaxDecisionRefLen    = 300    // reference to a decision
	MaxReasonLen         = 2000   // reason of a classification change
	MaxContentTypeLen    = 255    // media type
	MaxRetentionYears    = 100    // fixed retention term
	MaxProtectionYears   = 100    // protection period, extensions included
	MaxHistory           = 1000   // classification changes of one document
	MinYear              = 1900   // earliest year of a date issued
)

// MaxClockSkew is how far in the future a system timestamp (CreatedAt,
// UpdatedAt, a change's At) may lie before Validate refuses it: nodes that
// share a bucket do not share a clock.
const MaxClockSkew = 5 * time.Minute

// The codes of FieldError. They are stable: the API passes them to clients,
// which may key translations or form hints on them.
const (
	CodeRequired      = "required"       // the field is empty
	CodeInvalidUTF8   = "invalid_utf8"   // text that is not UTF-8
	CodeControlChar   = "control_char"   // a control or invisible formatting character
	CodeNotNormalized = "not_normalized" // not NFC, or surrounding spaces (call Normalize)
	CodeTooLong       = "too_long"       // more characters than allowed
	CodeTooMany       = "too_many"       // more entries than allowed
	CodeDuplicate     = "duplicate"      // an entry repeats an earlier one
	CodeInvalid       = "invalid"        // malformed value
	CodeUnknown       = "unknown"        // not one of the known values
	CodeInFuture      = "in_future"      // a date or time after now
	CodeTooEarly      = "too_early"      // a date before what it must follow
	CodeOutOfRange    = "out_of_range"   // a number outside its bounds
	CodeNotAllowed    = "not_allowed"    // a field that must be empty here
	CodeNeedsDecision = "needs_decision" // allowed only with a decision reference
	CodeInconsistent  = "inconsistent"   // contradicts another field
	CodeExpired       = "expired"        // a period that has already ended
)

// ErrInvalidMetadata matches (errors.Is) every FieldErrors.
var ErrInvalidMetadata = errors.New("invalid document metadata")

// FieldError is one problem with one field. Field is the JSON path of the
// field ("title", "keywords[2]", "protection.years",
// "classification_history[0].decision_ref"), so the interface can put the
// message beside the input it concerns.
type FieldError struct {
	Field     string `json:"field"`
	Code      string `json:"code"`
	Message   string `json:"message"`    // English
	MessageVI string `json:"message_vi"` // Vietnamese
}

// Error returns "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is the list of every problem Validate found. It is an error;
// errors.Is(err, ErrInvalidMetadata) holds, and errors.As recovers the list.
type FieldErrors []FieldError

// Error joins the problems: "invalid document metadata: title: is
// required; keywords[2]: repeats an earlier entry".
func (es FieldErrors) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidMetadata.Error())
	for i, e := range es {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalidMetadata) true.
func (es FieldErrors) Is(target error) bool { return target == ErrInvalidMetadata }

// Normalize puts m's text in the form Validate expects: NFC, without
// surrounding white space; compartment labels in lower case; a document
// type given by name ("Nghị quyết") turned into its code. Text that is not
// valid UTF-8 is left alone for Validate to report.
func (m *Metadata) Normalize() {
	for _, p := range []*string{
		&m.IssuingBody, &m.NumberSymbol, &m.PlaceIssued, &m.Title, &m.Summary,
		&m.SignerPosition, &m.SignerName, &m.DistributionScope, &m.Language,
		&m.DossierCode, &m.StateSecretRef, &m.Protection.ExtensionDecision,
	} {
		*p = normalizeText(*p)
	}
	for _, list := range [][]string{m.Recipients, m.Keywords, m.NamedRecipients} {
		for i := range list {
			list[i] = normalizeText(list[i])
		}
	}
	for i, c := range m.Compartments {
		m.Compartments[i] = strings.ToLower(normalizeText(c))
	}
	if t, err := ParseDocType(string(m.Type)); err == nil {
		m.Type = t
	}
}

// Normalize normalises the metadata (Metadata.Normalize) and the system
// text fields.
func (d *Document) Normalize() {
	d.Metadata.Normalize()
	d.ContentType = normalizeText(d.ContentType)
	d.CreatedBy = normalizeText(d.CreatedBy)
	d.UpdatedBy = normalizeText(d.UpdatedBy)
	for i := range d.History {
		h := &d.History[i]
		h.By = normalizeText(h.By)
		h.Reason = normalizeText(h.Reason)
		h.DecisionRef = normalizeText(h.DecisionRef)
	}
}

func normalizeText(s string) string {
	if !utf8.ValidString(s) {
		return s
	}
	return strings.TrimSpace(norm.NFC.String(s))
}

// Validate checks the metadata an archivist supplies and returns nil or a
// FieldErrors listing every problem found. now is the current time (passed
// in so that tests control the clock); rules supplies the configurable
// protection periods and the time zone in which "today" is reckoned.
// Validate does not modify m; call Normalize first.
func (m *Metadata) Validate(now time.Time, rules Rules) error {
	var c checker
	m.validate(&c, now, rules)
	return c.result()
}

// Validate checks a stored document: its Metadata and the system fields
// (id, version, revision, content type, size, digest, creation, history).
// The service runs it before sealing a "meta" object and after opening one.
func (d *Document) Validate(now time.Time, rules Rules) error {
	var c checker
	d.Metadata.validate(&c, now, rules)
	d.validateSystem(&c, now)
	return c.result()
}

func (m *Metadata) validate(c *checker, now time.Time, rules Rules) {
	today := rules.Today(now)

	c.text("issuing_body", m.IssuingBody, MaxNameLen, required)
	c.text("number_symbol", m.NumberSymbol, MaxNumberSymbolLen, optional)
	c.text("place_issued", m.PlaceIssued, MaxNameLen, optional)
	if c.date("date_issued", m.DateIssued, required) {
		switch {
		case m.DateIssued.Year < MinYear:
			c.add("date_issued", CodeTooEarly,
				fmt.Sprintf("must not be before %d", MinYear),
				fmt.Sprintf("không được trước năm %d", MinYear))
		case m.DateIssued.After(today):
			c.add("date_issued", CodeInFuture,
				"must not be in the future",
				"không được là ngày trong tương lai")
		}
	}
	switch {
	case m.Type == "":
		c.required("doc_type")
	case !m.Type.Valid():
		c.add("doc_type", CodeUnknown,
			"is not a known document type",
			"không phải loại văn bản đã biết")
	}
	c.text("title", m.Title, MaxTitleLen, required)
	c.text("summary", m.Summary, MaxSummaryLen, optional|multiline)
	c.text("signer_position", m.SignerPosition, MaxNameLen, optional)
	c.text("signer_name", m.SignerName, MaxNameLen, optional)
	c.list("recipients", m.Recipients, MaxRecipients, MaxRecipientLen, strings.ToLower)

	if !m.Level.Valid() {
		c.add("level", CodeUnknown,
			"is not a known secrecy level",
			"không phải độ mật hợp lệ")
	}
	if !m.Urgency.Valid() {
		c.add("urgency", CodeUnknown,
			"is not a known urgency",
			"không phải độ khẩn hợp lệ")
	}
	c.text("distribution_scope", m.DistributionScope, MaxNameLen, optional)
	c.count("pages", m.Pages, 0, MaxPages)
	c.count("copies", m.Copies, 0, MaxCopies)
	if c.text("language", m.Language, MaxLanguageLen, optional) && m.Language != "" && !validLanguageTag(m.Language) {
		c.add("language", CodeInvalid,
			`is not a language tag such as "vi" or "en"`,
			`không phải mã ngôn ngữ như "vi" hoặc "en"`)
	}
	c.text("dossier_code", m.DossierCode, MaxDossierCodeLen, optional)
	c.list("keywords", m.Keywords, MaxKeywords, MaxKeywordLen, strings.ToLower)

	switch r := m.Retention; {
	case r.Permanent && r.Years != 0:
		c.add("retention", CodeInconsistent,
			"is either permanent or a number of years, not both",
			"chỉ được là vĩnh viễn hoặc một số năm, không được cả hai")
	case !r.Permanent && r.Years != 0:
		c.count("retention.years", r.Years, 1, MaxRetentionYears)
	}

	m.validateProtection(c, today, rules)

	if m.Level.Classified() {
		c.text("state_secret_ref", m.StateSecretRef, MaxStateSecretRefLen, required)
	} else {
		c.text("state_secret_ref", m.StateSecretRef, MaxStateSecretRefLen, optional)
	}

	c.compartments("compartments", m.Compartments)
	c.list("named_recipients", m.NamedRecipients, MaxNamedRecipients, MaxUserIDLen, nil)

	if c.date("recall_deadline", m.RecallDeadline, optional) && !m.RecallDeadline.IsZero() &&
		m.DateIssued.Valid() && m.RecallDeadline.Before(m.DateIssued) {
		c.add("recall_deadline", CodeTooEarly,
			"must not be before the date issued",
			"không được trước ngày ban hành")
	}
}

func (m *Metadata) validateProtection(c *checker, today Date, rules Rules) {
	p := m.Protection
	if !m.Level.Classified() {
		if !p.IsZero() {
			c.add("protection", CodeNotAllowed,
				"must be empty: only a classified document has a protection period",
				"phải để trống: chỉ tài liệu mật mới có thời hạn bảo vệ")
		}
		return
	}
	def := rules.DefaultProtectionYears(m.Level)
	switch {
	case p.Years < 0 || p.Years > MaxProtectionYears:
		c.count("protection.years", p.Years, 0, MaxProtectionYears)
	case p.Years > def && p.ExtensionDecision == "":
		c.add("protection.years", CodeNeedsDecision,
			fmt.Sprintf("is longer than the %d years of %s; a longer period needs an extension decision (protection.extension_decision)", def, m.Level.NameEN()),
			fmt.Sprintf("dài hơn %d năm của độ %s; thời hạn dài hơn cần có quyết định gia hạn", def, m.Level.NameVI()))
	}
	if c.date("protection.since", p.Since, optional) && !p.Since.IsZero() {
		switch {
		case p.Since.After(today):
			c.add("protection.since", CodeInFuture,
				"must not be in the future",
				"không được là ngày trong tương lai")
		case m.DateIssued.Valid() && p.Since.Before(m.DateIssued):
			c.add("protection.since", CodeTooEarly,
				"must not be before the date issued",
				"không được trước ngày ban hành")
		}
	}
	c.text("protection.extension_decision", p.ExtensionDecision, MaxDecisionRefLen, optional)
}

func (d *Document) validateSystem(c *checker, now time.Time) {
	latest := now.Add(MaxClockSkew)
	if d.ID.IsZero() {
		c.required("id")
	}
	if d.Version < 1 {
		c.add("version", CodeOutOfRange, "must be at least 1", "phải từ 1 trở lên")
	}
	if d.Revision < 1 {
		c.add("revision", CodeOutOfRange, "must be at least 1", "phải từ 1 trở lên")
	}
	if c.text("content_type", d.ContentType, MaxContentTypeLen, required) && d.ContentType != "" {
		if _, _, err := mime.ParseMediaType(d.ContentType); err != nil {
			c.add("content_type", CodeInvalid,
				`is not a media type such as "application/pdf"`,
				`không phải kiểu nội dung như "application/pdf"`)
		}
	}
	if d.Size < 0 {
		c.add("size", CodeOutOfRange, "must not be negative", "không được âm")
	}
	if d.SHA256.IsZero() {
		c.required("sha256")
	}
	c.text("created_by", d.CreatedBy, MaxUserIDLen, required)
	c.instant("created_at", d.CreatedAt, latest, required)
	c.text("updated_by", d.UpdatedBy, MaxUserIDLen, optional)
	if c.instant("updated_at", d.UpdatedAt, latest, optional) && !d.UpdatedAt.IsZero() &&
		!d.CreatedAt.IsZero() && d.UpdatedAt.Before(d.CreatedAt) {
		c.add("updated_at", CodeTooEarly,
			"must not be before created_at",
			"không được trước thời điểm tạo")
	}
	d.validateHistory(c, latest)
}

func (d *Document) validateHistory(c *checker, latest time.Time) {
	const field = "classification_history"
	if len(d.History) > MaxHistory {
		c.tooMany(field, MaxHistory)
		return
	}
	for i, h := range d.History {
		f := field + "[" + strconv.Itoa(i) + "]"
		if c.instant(f+".at", h.At, latest, required) && !h.At.IsZero() {
			if i > 0 && h.At.Before(d.History[i-1].At) {
				c.add(f+".at", CodeTooEarly,
					"must not be before the previous change",
					"không được trước lần thay đổi trước")
			}
			if !d.CreatedAt.IsZero() && h.At.Before(d.CreatedAt) {
				c.add(f+".at", CodeTooEarly,
					"must not be before created_at",
					"không được trước thời điểm tạo")
			}
		}
		for _, lv := range []struct {
			name  string
			level access.Level
		}{{".from", h.From}, {".to", h.To}} {
			if !lv.level.Valid() {
				c.add(f+lv.name, CodeUnknown,
					"is not a known secrecy level",
					"không phải độ mật hợp lệ")
			}
		}
		switch ext := h.IsExtension(); {
		case ext && h.From != h.To:
			c.add(f+".to", CodeInconsistent,
				"must equal from: an extension of the protection period keeps the level",
				"phải giống độ mật trước đó: gia hạn thời hạn bảo vệ không đổi độ mật")
		case ext && h.Automatic:
			c.add(f+".automatic", CodeInvalid,
				"only declassification happens automatically",
				"chỉ giải mật mới diễn ra tự động")
		case ext:
			okOld := c.date(f+".old_end", h.OldEnd, required)
			if c.date(f+".new_end", h.NewEnd, required) && okOld && !h.NewEnd.After(h.OldEnd) {
				c.add(f+".new_end", CodeTooEarly,
					"must be after old_end",
					"phải sau ngày hết hạn cũ")
			}
		case h.From == h.To:
			c.add(f+".to", CodeInvalid,
				"must differ from the level before",
				"phải khác độ mật trước đó")
		}
		if i > 0 && h.From != d.History[i-1].To {
			c.add(f+".from", CodeInconsistent,
				"must be the level the previous change set",
				"phải là độ mật của lần thay đổi trước")
		}
		if h.Automatic {
			// Only the end of the protection period changes a level
			// without anybody's decision, and it only declassifies.
			if h.To != access.Unclassified {
				c.add(f+".automatic", CodeInvalid,
					"only declassification happens automatically",
					"chỉ giải mật mới diễn ra tự động")
			}
			c.text(f+".by", h.By, MaxUserIDLen, optional)
			c.text(f+".decision_ref", h.DecisionRef, MaxDecisionRefLen, optional)
		} else {
			c.text(f+".by", h.By, MaxUserIDLen, required)
			c.text(f+".decision_ref", h.DecisionRef, MaxDecisionRefLen, required)
		}
		c.text(f+".reason", h.Reason, MaxReasonLen, optional|multiline)
	}
	if n := len(d.History); n > 0 && d.History[n-1].To != d.Level {
		c.add(field, CodeInconsistent,
			"must end at the document's current level",
			"phải kết thúc ở độ mật hiện tại của tài liệu")
	}
}

// validLanguageTag accepts the shape of a BCP 47 tag: a primary subtag of
// two or three letters, then subtags of one to eight letters or digits,
// separated by '-'. Which tags exist is not checked.
func validLanguageTag(s string) bool {
	for i, sub := range strings.Split(s, "-") {
		if len(sub) < 1 || len(sub) > 8 || (i == 0 && (len(sub) < 2 || len(sub) > 3)) {
			return false
		}
		for _, r := range sub {
			isLetter := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
			if !isLetter && (i == 0 || r < '0' || r > '9') {
				return false
			}
		}
	}
	return true
}

// checker collects field errors.
type checker struct{ errs FieldErrors }

func (c *checker) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

func (c *checker) add(field, code, en, vi string) {
	c.errs = append(c.errs, FieldError{Field: field, Code: code, Message: en, MessageVI: vi})
}

func (c *checker) required(field string) {
	c.add(field, CodeRequired, "is required", "bắt buộc phải nhập")
}

func (c *checker) tooMany(field string, max int) {
	c.add(field, CodeTooMany,
		fmt.Sprintf("must have at most %d entries", max),
		fmt.Sprintf("không được quá %d mục", max))
}

// textOpts tune checker.text.
type textOpts int

const optional textOpts = 0 // empty is fine, no line breaks

const (
	required  textOpts = 1 << iota // empty is an error
	multiline                      // line feeds and tabs are allowed
)

// text checks one text field and reports whether it is acceptable (so that
// callers run further checks only on sound text).
func (c *checker) text(field, s string, maxLen int, opts textOpts) bool {
	if s == "" {
		if opts&required != 0 {
			c.required(field)
			return false
		}
		return true
	}
	if !utf8.ValidString(s) {
		c.add(field, CodeInvalidUTF8,
			"is not valid UTF-8 text",
			"không phải văn bản UTF-8 hợp lệ")
		return false
	}
	for _, r := range s {
		if (r == '\n' || r == '\t') && opts&multiline != 0 {
			continue
		}
		if forbiddenRune(r) {
			c.add(field, CodeControlChar,
				"contains a control character or an invisible formatting character",
				"chứa ký tự điều khiển hoặc ký tự định dạng ẩn")
			return false
		}
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		c.add(field, CodeTooLong,
			fmt.Sprintf("must be at most %d characters (has %d)", maxLen, n),
			fmt.Sprintf("không được dài quá %d ký tự (hiện có %d)", maxLen, n))
		return false
	}
	if strings.TrimSpace(s) != s || !norm.NFC.IsNormalString(s) {
		c.add(field, CodeNotNormalized,
			"is not normalised (Unicode NFC, no leading or trailing spaces)",
			"chưa được chuẩn hóa (Unicode NFC, không có khoảng trắng ở đầu hoặc cuối)")
		return false
	}
	return true
}

// forbiddenRune reports runes no metadata text may hold: control
// characters, invisible format characters (bidirectional overrides, zero
// width spaces, soft hyphens — which make two titles look alike but differ,
// or reorder what a reader sees) and line or paragraph separators.
func forbiddenRune(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// list checks a list of text entries: at most maxItems entries, each a
// required text of at most maxLen characters, no two with the same key
// (key nil compares entries exactly).
func (c *checker) list(field string, items []string, maxItems, maxLen int, key func(string) string) {
	if len(items) > maxItems {
		c.tooMany(field, maxItems)
		return
	}
	seen := make(map[string]bool, len(items))
	for i, s := range items {
		f := field + "[" + strconv.Itoa(i) + "]"
		if !c.text(f, s, maxLen, required) {
			continue
		}
		k := s
		if key != nil {
			k = key(s)
		}
		if seen[k] {
			c.add(f, CodeDuplicate, "repeats an earlier entry", "trùng với một mục trước đó")
		}
		seen[k] = true
	}
}

// compartments checks need-to-know labels: well formed, no duplicates, at
// most MaxCompartments.
func (c *checker) compartments(field string, labels []string) {
	if len(labels) > MaxCompartments {
		c.tooMany(field, MaxCompartments)
		return
	}
	seen := make(map[string]bool, len(labels))
	for i, l := range labels {
		f := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case l == "":
			c.required(f)
		case !access.ValidCompartment(l):
			c.add(f, CodeInvalid,
				fmt.Sprintf("is not a compartment label: 1 to %d lower-case ASCII letters, digits, '.', '-' or '_', starting with a letter or digit", access.MaxCompartmentLen),
				fmt.Sprintf("không phải nhãn ngăn hợp lệ: 1 đến %d chữ cái ASCII thường, chữ số, '.', '-' hoặc '_', bắt đầu bằng chữ cái hoặc chữ số", access.MaxCompartmentLen))
		case seen[l]:
			c.add(f, CodeDuplicate, "repeats an earlier entry", "trùng với một mục trước đó")
		}
		seen[l] = true
	}
}

// count checks that n is within [min, max].
func (c *checker) count(field string, n, min, max int) {
	if n < min || n > max {
		c.add(field, CodeOutOfRange,
			fmt.Sprintf("must be between %d and %d", min, max),
			fmt.Sprintf("phải trong khoảng từ %d đến %d", min, max))
	}
}

// date checks that a date is present when required and is a real calendar
// date, and reports whether it is sound.
func (c *checker) date(field string, d Date, opts textOpts) bool {
	switch {
	case d.IsZero():
		if opts&required != 0 {
			c.required(field)
			return false
		}
		return true
	case !d.Valid():
		c.add(field, CodeInvalid, "is not a calendar date", "không phải ngày hợp lệ")
		return false
	}
	return true
}

// instant checks that a timestamp is present when required and not after
// latest, and reports whether it is sound.
func (c *checker) instant(field string, t, latest time.Time, opts textOpts) bool {
	switch {
	case t.IsZero():
		if opts&required != 0 {
			c.required(field)
			return false
		}
	case t.After(latest):
		c.add(field, CodeInFuture, "must not be in the future", "không được ở thời điểm tương lai")
		return false
	}
	return true
}
