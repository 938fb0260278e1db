package audit

import (
	"context"
	"testing"
)

func TestAppendReopenVerify(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := newClock()
	l := openLog(t, dir, testOptions(clock))
	appendN(t, l, 0, 25)
	closeLog(t, l)

	l = openLog(t, dir, testOptions(clock))
	if s := l.Status(); s.Size != 25 || s.Checkpoint != 25 {
		t.Fatalf("after reopen: %+v", s)
	}
	appendN(t, l, 25, 5)
	closeLog(t, l)

	v, err := NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), Folder{Dir: dir}, v)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Events != 30 || rep.Size != 30 {
		t.Fatalf("report: %+v", rep)
	}
}
