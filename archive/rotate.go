package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/crypto"
)

// activeKeys is implemented by key wrappers that can tell a level's active
// KEK version (crypto.Keyring does): Rewrap then skips envelopes already
// under it.
type activeKeys interface {
	Active(level crypto.Level) (uint32, error)
}

// RewrapStats counts what a rewrap pass did.
type RewrapStats struct {
	Documents int // documents at the level
	Rewrapped int // documents moved to the active KEK version
}

// Rewrap moves every document at level onto the level's active KEK version,
// after a key rotation, so that older versions can be retired: each
// version's data key is rewrapped as a new envelope generation, a revision
// that changes nothing else commits it, and the old generation is deleted.
// The content is not touched. Admins only; the pass is audited once, as a
// rotate_keys of the level.
func (s *Service) Rewrap(ctx context.Context, a Actor, level access.Level) (RewrapStats, error) {
	var stats RewrapStats
	if !level.Valid() {
		return stats, fmt.Errorf("archive: %w: unknown level", ErrInvalidRequest)
	}
	d := access.Decide(a.Subject, access.RotateKeys, access.Resource{Level: level})
	ev := AuditEvent{Action: access.RotateKeys.String(), Level: level, Reason: string(d.Reason), Outcome: Allowed}
	if !d.Allow {
		ev.Outcome = Denied
		if err := s.record(ctx, a, ev); err != nil {
			return stats, err
		}
		return stats, fmt.Errorf("archive: rewrap: %w (%s)", ErrForbidden, d.Reason)
	}
	if err := s.record(ctx, a, ev); err != nil {
		return stats, err
	}
	active := uint32(0)
	if ak, ok := s.keys.(activeKeys); ok {
		v, err := ak.Active(crypto.Level(level))
		if err != nil {
			return stats, fmt.Errorf("archive: rewrap: %w", err)
		}
		active = v
	}
	for id, err := range s.ids(ctx) {
		if err != nil {
			return stats, err
		}
		st, err := s.load(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return stats, err
		}
		if st.doc.Level != level {
			continue
		}
		stats.Documents++
		done, err := s.rewrapDoc(ctx, st, active)
		if err != nil {
			s.failed(ctx, a, AuditEvent{Action: ev.Action, Object: id.String(), Level: level}, err)
			return stats, err
		}
		if done {
			stats.Rewrapped++
		}
	}
	return stats, nil
}

// rewrapDoc rewraps the document's envelopes unless all are already under
// KEK version active (0: rewrap regardless).
func (s *Service) rewrapDoc(ctx context.Context, st *state, active uint32) (bool, error) {
	id, level := st.doc.ID, crypto.Level(st.doc.Level)
	envs := make([][]byte, st.doc.Version)
	current := active != 0
	for ver := uint32(1); ver <= st.doc.Version; ver++ {
		env, err := s.readSmall(ctx, envKey(id, ver, st.gen))
		if err != nil {
			return false, err
		}
		info, err := crypto.ParseEnvelope(env)
		if err != nil {
			return false, fmt.Errorf("archive: %s version %d envelope: %w", id, ver, ErrIntegrity)
		}
		current = current && info.KEKVersion == active
		envs[ver-1] = env
	}
	if current {
		return false, nil
	}
	doc := st.doc
	doc.Revision = st.rev + 1
	newGen := doc.Revision
	var written []string
	for ver := uint32(1); ver <= doc.Version; ver++ {
		rewrapped, err := crypto.Rewrap(s.keys, envs[ver-1], level, binding(id, ver), level)
		if err != nil {
			s.removeQuietly(ctx, written...)
			return false, fmt.Errorf("archive: rewrapping %s version %d: %w", id, ver, err)
		}
		key := envKey(id, ver, newGen)
		if _, err := s.store.Put(ctx, key, bytes.NewReader(rewrapped), store.PutOptions{}); err != nil {
			s.removeQuietly(ctx, written...)
			return false, fmt.Errorf("archive: writing %s: %w", key, err)
		}
		written = append(written, key)
	}
	if err := s.commitRevision(ctx, &doc, newGen); err != nil {
		s.removeQuietly(ctx, written...)
		return false, err
	}
	for ver := uint32(1); ver <= doc.Version; ver++ {
		s.removeQuietly(ctx, envKey(id, ver, st.gen))
	}
	return true, nil
}
