package archive

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"khomat/archive/access"
	"khomat/archive/store"
)

// revise loads id, decides act on it with the resource res returns (the
// document's own when res is nil), lets change edit a copy of the document,
// and commits the result as the next revision. It is the common path of
// every change that only touches metadata.
func (s *Service) revise(ctx context.Context, a Actor, act access.Action, id ID, res func(*state) access.Resource, change func(*Document) error) (Document, error) {
	st, err := s.loadFor(ctx, a, act, id, res)
	if err != nil {
		return Document{}, err
	}
	ev := AuditEvent{Action: act.String(), Object: id.String(), Version: st.doc.Version, Level: st.doc.Level}
	doc := st.doc
	doc.History = slices.Clone(doc.History)
	doc.CopyRegister = slices.Clone(doc.CopyRegister)
	if err := change(&doc); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	now := s.now().UTC()
	doc.Revision = st.rev + 1
	doc.UpdatedBy, doc.UpdatedAt = a.Subject.ID, now
	if err := doc.Validate(now, s.rules); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	if err := s.commitRevision(ctx, &doc, st.gen); err != nil {
		s.failed(ctx, a, ev, err)
		return Document{}, err
	}
	s.indexDoc(ctx, doc, st.gen)
	return doc, nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("archive: %w: %s is longer than %d bytes", ErrInvalidRequest, field, max)
	}
	return nil
}

// RequestDestruction asks for a document to be destroyed. A security officer
// other than the requester must approve it (ApproveDestruction).
func (s *Service) RequestDestruction(ctx context.Context, a Actor, id ID, reason, decisionRef string) (Document, error) {
	if err := errors.Join(checkText("reason", reason, MaxReasonLen), checkText("decision_ref", decisionRef, MaxDecisionRefLen)); err != nil {
		return Document{}, err
	}
	return s.revise(ctx, a, access.RequestDestruction, id, nil, func(d *Document) error {
		if d.Destruction != nil {
			return fmt.Errorf("archive: %w: destruction already requested", ErrConflict)
		}
		d.Destruction = &DestructionRequest{By: a.Subject.ID, At: s.now().UTC(), Reason: normalizeText(reason), DecisionRef: normalizeText(decisionRef)}
		return nil
	})
}

// CancelDestruction withdraws a pending destruction request. The requester
// or any security officer who may approve it can withdraw it.
func (s *Service) CancelDestruction(ctx context.Context, a Actor, id ID) (Document, error) {
	act := access.RequestDestruction
	return s.revise(ctx, a, act, id, nil, func(d *Document) error {
		if d.Destruction == nil {
			return fmt.Errorf("archive: %w: no destruction request", ErrInvalidRequest)
		}
		if d.Destruction.By != a.Subject.ID && !a.Subject.Has(access.SecurityOfficer) {
			return fmt.Errorf("archive: cancel destruction: %w", ErrForbidden)
		}
		d.Destruction = nil
		return nil
	})
}

// ApproveDestruction destroys a document whose destruction another person
// requested. The tombstone is written first (from then on the document is
// not found), then every envelope of every version is deleted with all its
// stored versions — crypto-shredding: without them no key opens the
// content — then the index entry, the blobs and the revisions. An
// interrupted destruction is finished by the sweep.
func (s *Service) ApproveDestruction(ctx context.Context, a Actor, id ID) error {
	st, err := s.loadFor(ctx, a, access.ApproveDestruction, id, func(st *state) access.Resource {
		r := st.doc.Resource()
		if st.doc.Destruction != nil {
			r.RequestedBy = st.doc.Destruction.By
		}
		return r
	})
	if err != nil {
		return err
	}
	ev := AuditEvent{Action: access.ApproveDestruction.String(), Object: id.String(), Version: st.doc.Version, Level: st.doc.Level}
	if _, err := s.store.Put(ctx, tombstoneKey(id), emptyReader{}, store.PutOptions{IfAbsent: true}); err != nil && !errors.Is(err, store.ErrExist) {
		err = fmt.Errorf("archive: destroying %s: %w", id, err)
		s.failed(ctx, a, ev, err)
		return err
	}
	if err := s.purge(ctx, id); err != nil {
		// Destroyed for every reader already; the sweep finishes it.
		s.log.Warn("destruction interrupted; the sweep will finish it", "doc_id", id.String(), "err", err)
	}
	s.unindexDoc(ctx, id)
	return nil
}

// purge deletes every object of a destroyed document but its tombstone,
// envelopes first.
func (s *Service) purge(ctx context.Context, id ID) error {
	var envs, rest []string
	for info, err := range s.store.List(ctx, docPrefix(id), "") {
		if err != nil {
			return err
		}
		switch _, tail, _ := docKey(info.Key); {
		case info.Key == tombstoneKey(id):
		case isEnvelope(tail):
			envs = append(envs, info.Key)
		default:
			rest = append(rest, info.Key)
		}
	}
	for _, k := range append(envs, rest...) {
		if err := s.store.Delete(ctx, k, store.DeleteOptions{AllVersions: true}); err != nil {
			return err
		}
	}
	return nil
}

func isEnvelope(tail string) bool {
	_, after, ok := cutSegment(tail)
	return ok && len(after) > 4 && after[:4] == "env/"
}

func cutSegment(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// RequestCopy enters a request to take a copy (download) of a document in
// its copy register. Documents at Rules.CopyApprovalFrom and above can be
// downloaded only with an approved request, one copy per approval.
func (s *Service) RequestCopy(ctx context.Context, a Actor, id ID, reason string) (CopyRequest, error) {
	if err := checkText("reason", reason, MaxReasonLen); err != nil {
		return CopyRequest{}, err
	}
	var b [8]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return CopyRequest{}, fmt.Errorf("archive: %w", err)
	}
	req := CopyRequest{ID: hex.EncodeToString(b[:]), By: a.Subject.ID, At: s.now().UTC(), Reason: normalizeText(reason)}
	// Asking is allowed to whoever may read the document; the download
	// itself is decided later, with the approval.
	_, err := s.revise(ctx, a, access.Read, id, nil, func(d *Document) error {
		d.CopyRegister = append(d.CopyRegister, req)
		return nil
	})
	return req, err
}

// ApproveCopy approves another user's copy request.
func (s *Service) ApproveCopy(ctx context.Context, a Actor, id ID, requestID string) (Document, error) {
	find := func(d *Document) *CopyRequest {
		for i := range d.CopyRegister {
			if d.CopyRegister[i].ID == requestID {
				return &d.CopyRegister[i]
			}
		}
		return nil
	}
	return s.revise(ctx, a, access.ApproveCopy, id, func(st *state) access.Resource {
		r := st.doc.Resource()
		if req := find(&st.doc); req != nil && req.ApprovedBy == "" {
			r.RequestedBy = req.By
		}
		return r
	}, func(d *Document) error {
		req := find(d)
		req.ApprovedBy, req.ApprovedAt = a.Subject.ID, s.now().UTC()
		return nil
	})
}

// downloadResource is the resource of a Download by a: CopyApproved when the
// level needs no approval, or a's approved copy request is unused.
func (s *Service) downloadResource(a Actor) func(*state) access.Resource {
	return func(st *state) access.Resource {
		r := st.doc.Resource()
		r.CopyApproved = st.doc.Level < s.rules.copyApprovalFrom() || approvedCopy(&st.doc, a.Subject.ID) >= 0
		return r
	}
}

// approvedCopy returns the index of by's oldest approved, untaken copy
// request, or -1.
func approvedCopy(d *Document, by string) int {
	for i, c := range d.CopyRegister {
		if c.By == by && c.ApprovedBy != "" && c.TakenAt.IsZero() {
			return i
		}
	}
	return -1
}

// registerCopy enters a download of a classified document in its copy
// register, using up the approval it needed, before the copy is handed out.
func (s *Service) registerCopy(ctx context.Context, a Actor, st *state, ver uint32) error {
	doc := st.doc
	doc.CopyRegister = slices.Clone(doc.CopyRegister)
	now := s.now().UTC()
	if i := approvedCopy(&doc, a.Subject.ID); i >= 0 {
		doc.CopyRegister[i].TakenAt, doc.CopyRegister[i].TakenVersion = now, ver
	} else {
		var b [8]byte
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		doc.CopyRegister = append(doc.CopyRegister, CopyRequest{ID: hex.EncodeToString(b[:]), By: a.Subject.ID, At: now, TakenAt: now, TakenVersion: ver})
	}
	doc.Revision = st.rev + 1
	doc.UpdatedBy, doc.UpdatedAt = a.Subject.ID, now
	if err := s.commitRevision(ctx, &doc, st.gen); err != nil {
		return err
	}
	st.doc, st.rev = doc, doc.Revision
	return nil
}
