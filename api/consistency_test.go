package api_test

import (
	"encoding/hex"
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"khomat/api"
	"khomat/archive/access"
	"khomat/archive/audit"
)

// consistencyAnswer is the body of GET /audit/consistency.
type consistencyAnswer struct {
	Old, New   uint64
	Proof      []string
	Checkpoint struct{ Note string }
}

func (a consistencyAnswer) treeProof(t *testing.T) tlog.TreeProof {
	t.Helper()
	p := make(tlog.TreeProof, len(a.Proof))
	for i, h := range a.Proof {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != tlog.HashSize {
			t.Fatalf("proof hash %q", h)
		}
		copy(p[i][:], b)
	}
	return p
}

// TestAuditConsistency: an auditor keeps a signed checkpoint, the log
// grows, and the consistency proof the API gives between the kept
// checkpoint and a later one checks with tlog against the two signed
// roots, and fails against any other root.
func TestAuditConsistency(t *testing.T) { auditConsistency(t, false) }

func TestAuditConsistencyS3(t *testing.T) { auditConsistency(t, true) }

func auditConsistency(t *testing.T, s3 bool) {
	e := newEnv(t, envOptions{s3: s3})
	arch := e.user("archivist", access.Secret, access.Archivist)
	aud := e.user("auditor", access.Unclassified, access.Auditor)
	v, err := audit.NewVerifier(e.audit.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func() audit.Checkpoint {
		t.Helper()
		var cpj struct{ Note string }
		if st := e.call(request{method: "GET", path: "/api/v1/audit/checkpoint", token: aud}, &cpj); st != 200 {
			t.Fatalf("checkpoint: %d", st)
		}
		cp, err := audit.OpenCheckpoint([]byte(cpj.Note), v)
		if err != nil {
			t.Fatalf("the checkpoint does not verify: %v", err)
		}
		return cp
	}
	older := checkpoint()
	for i := range 5 {
		e.upload(arch, meta(fmt.Sprintf("Công văn số %d", i), access.Confidential), []byte("x"))
	}
	newer := checkpoint()
	if newer.Size <= older.Size {
		t.Fatalf("the log did not grow: %d then %d", older.Size, newer.Size)
	}

	var ans consistencyAnswer
	path := fmt.Sprintf("/api/v1/audit/consistency?old=%d&new=%d", older.Size, newer.Size)
	if st := e.call(request{method: "GET", path: path, token: aud}, &ans); st != 200 || ans.Old != older.Size || ans.New != newer.Size || ans.Checkpoint.Note != "" {
		t.Fatalf("consistency: %d %+v", st, ans)
	}
	proof := ans.treeProof(t)
	if err := tlog.CheckTree(proof, int64(newer.Size), newer.Root, int64(older.Size), older.Root); err != nil {
		t.Errorf("tlog.CheckTree: %v", err)
	}
	if err := audit.CheckConsistency(older, newer, proof); err != nil {
		t.Errorf("audit.CheckConsistency: %v", err)
	}
	forged := older.Root
	forged[0] ^= 1
	if err := tlog.CheckTree(proof, int64(newer.Size), newer.Root, int64(older.Size), forged); err == nil {
		t.Error("the proof checks against a forged older root")
	}
	if err := tlog.CheckTree(proof, int64(newer.Size), forged, int64(older.Size), older.Root); err == nil {
		t.Error("the proof checks against a forged newer root")
	}

	// Without new=, the answer carries a new signed checkpoint to check
	// the proof against.
	ans = consistencyAnswer{}
	if st := e.call(request{method: "GET", path: fmt.Sprintf("/api/v1/audit/consistency?old=%d", older.Size), token: aud}, &ans); st != 200 {
		t.Fatalf("consistency to a new checkpoint: %d", st)
	}
	latest, err := audit.OpenCheckpoint([]byte(ans.Checkpoint.Note), v)
	if err != nil {
		t.Fatalf("the answer's checkpoint does not verify: %v", err)
	}
	if latest.Size != ans.New || latest.Size <= newer.Size {
		t.Fatalf("latest checkpoint of %d for new=%d, after %d", latest.Size, ans.New, newer.Size)
	}
	if err := tlog.CheckTree(ans.treeProof(t), int64(latest.Size), latest.Root, int64(older.Size), older.Root); err != nil {
		t.Errorf("tlog.CheckTree to the latest checkpoint: %v", err)
	}
	ans = consistencyAnswer{}
	if st := e.call(request{method: "GET", path: fmt.Sprintf("/api/v1/audit/consistency?old=%d&new=%d", newer.Size, newer.Size), token: aud}, &ans); st != 200 || len(ans.Proof) != 0 {
		t.Errorf("a checkpoint with itself: %d %+v", st, ans)
	}

	for _, tc := range []struct {
		query  string
		status int
		code   string
	}{
		{"", 400, api.CodeInvalidQuery},
		{"?old=x", 400, api.CodeInvalidQuery},
		{"?old=1&new=-2", 400, api.CodeInvalidQuery},
		{"?old=0&new=3", 404, api.CodeNotFound},
		{fmt.Sprintf("?old=%d&new=%d", newer.Size, older.Size), 404, api.CodeNotFound},
		{"?old=1&new=999999", 404, api.CodeNotFound},
	} {
		var p api.Problem
		if st := e.call(request{method: "GET", path: "/api/v1/audit/consistency" + tc.query, token: aud}, &p); st != tc.status || p.Code != tc.code {
			t.Errorf("%q: %d %+v", tc.query, st, p)
		}
	}
	if st := e.call(request{method: "GET", path: path, token: arch}, nil); st != 403 {
		t.Errorf("an archivist asks for a consistency proof: %d", st)
	}

	// Asking is in the log.
	n := 0
	for _, en := range e.events() {
		if en.Actor == e.userID(aud) && en.Action == audit.ActionAuditProve && en.Detail == fmt.Sprintf("old=%d new=%d", older.Size, newer.Size) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d consistency proofs of old=%d new=%d in the log", n, older.Size, newer.Size)
	}
}
