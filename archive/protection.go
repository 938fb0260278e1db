package archive

import (
	"context"
	"errors"
	"fmt"

	"khomat/archive/access"
)

// Extension is a competent person's decision to extend a document's
// protection period (gia hạn thời hạn bảo vệ bí mật nhà nước).
type Extension struct {
	// Years is how many years the decision adds to the period: at least
	// one, and at most the default period of the document's level (the
	// rule of Law 29/2018/QH14, kept until that of Law 117/2025/QH15,
	// which replaced it, is confirmed), with the whole period at most
	// MaxProtectionYears.
	Years int
	// Reason is a free-text explanation; optional.
	Reason string
	// DecisionRef references the decision (number and date). Required.
	DecisionRef string
}

// check validates what the extension says on its own, before any document
// is looked at; field names are those of the API's request body.
func (x *Extension) check() error {
	var c checker
	c.count("years", x.Years, 1, MaxProtectionYears)
	c.text("decision_ref", x.DecisionRef, MaxDecisionRefLen, required)
	c.text("reason", x.Reason, MaxReasonLen, optional|multiline)
	return c.result()
}

// protectionEnded reports whether doc's protection period has ended by
// today, or whether it has none (unclassified documents).
func (s *Service) protectionEnded(doc *Document) bool {
	end, ok := doc.ProtectionEnd(s.rules)
	return !ok || !s.rules.Today(s.now()).Before(end)
}

// ExtendProtection extends a classified document's protection period before
// it ends: only a security officer who can read the document, and only
// while the period runs (access.ExtendProtection). The new period is
// written as a new metadata revision, with Protection.Years lengthened and
// Protection.ExtensionDecision set to the decision, and an entry in the
// classification history records who, when, the old and new end and the
// decision. The level and the envelopes do not change; DeclassifyExpired
// then declassifies the document when the extended period ends.
//
// Invalid input is a FieldErrors. An extension asked for once the period
// has ended (or of an unclassified document) is refused by the policy,
// audited as denied, and answered with a FieldErrors that also matches
// ErrForbidden.
func (s *Service) ExtendProtection(ctx context.Context, a Actor, id ID, x Extension) (Document, error) {
	x.Reason, x.DecisionRef = normalizeText(x.Reason), normalizeText(x.DecisionRef)
	if err := x.check(); err != nil {
		return Document{}, err
	}
	var (
		res    access.Resource
		before Document
	)
	doc, err := s.revise(ctx, a, access.ExtendProtection, id, func(st *state) access.Resource {
		before = st.doc
		res = st.doc.Resource()
		res.ProtectionEnded = s.protectionEnded(&st.doc)
		return res
	}, func(d *Document) error {
		return s.extend(a, d, x)
	})
	if errors.Is(err, ErrForbidden) && access.Decide(a.Subject, access.ExtendProtection, res).Reason == access.ReasonProtectionEnded {
		return Document{}, fmt.Errorf("archive: extend protection: %w: %w", ErrForbidden, s.endedError(&before))
	}
	return doc, err
}

// extend lengthens d's protection period by x and records it in the
// history.
func (s *Service) extend(a Actor, d *Document, x Extension) error {
	oldEnd, ok := d.ProtectionEnd(s.rules)
	if !ok {
		// The policy refuses documents without a period; this only
		// guards against a rule that changed underneath.
		return s.endedError(d)
	}
	var c checker
	years := d.ProtectionYears(s.rules) + x.Years
	if most := s.rules.DefaultProtectionYears(d.Level); x.Years > most {
		c.add("years", CodeOutOfRange,
			fmt.Sprintf("must be at most %d: one extension adds at most the period of %s", most, d.Level.NameEN()),
			fmt.Sprintf("không được quá %d: mỗi lần gia hạn không quá thời hạn bảo vệ của độ %s", most, d.Level.NameVI()))
	}
	if years > MaxProtectionYears {
		c.add("years", CodeOutOfRange,
			fmt.Sprintf("would make the period %d years, more than %d", years, MaxProtectionYears),
			fmt.Sprintf("làm thời hạn bảo vệ thành %d năm, quá %d năm", years, MaxProtectionYears))
	}
	if err := c.result(); err != nil {
		return err
	}
	d.Protection.Years = years
	d.Protection.ExtensionDecision = x.DecisionRef
	newEnd, _ := d.ProtectionEnd(s.rules)
	d.History = append(d.History, ClassificationChange{
		At: s.now().UTC(), By: a.Subject.ID, From: d.Level, To: d.Level,
		Reason: x.Reason, DecisionRef: x.DecisionRef, OldEnd: oldEnd, NewEnd: newEnd,
	})
	return nil
}

// endedError explains why doc's period cannot be extended.
func (s *Service) endedError(doc *Document) FieldErrors {
	var c checker
	end, ok := doc.ProtectionEnd(s.rules)
	if !doc.Level.Classified() || !ok {
		c.add("level", CodeNotAllowed,
			"the document is not classified: it has no protection period to extend",
			"tài liệu không mật: không có thời hạn bảo vệ để gia hạn")
	} else {
		c.add("protection", CodeExpired,
			fmt.Sprintf("ended on %s; a protection period can be extended only before it ends", end),
			fmt.Sprintf("đã hết hạn ngày %s; chỉ gia hạn được trước khi hết thời hạn bảo vệ", end.StringVI()))
	}
	return c.errs
}
