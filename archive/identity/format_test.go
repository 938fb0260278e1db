package identity

import (
	"encoding/json"
	"testing"
	"time"

	"khomat/archive/access"
)

// TestRecordEncoding pins the JSON inside a sealed user record and session
// (docs/FORMAT.md, "Identity records"): a change here is a format change.
func TestRecordEncoding(t *testing.T) {
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	rec := record{Format: 1, User: User{
		ID: "00112233445566778899aabbccddeeff", Username: "nguyễn.văn.a", DisplayName: "Nguyễn Văn A",
		Roles: []access.Role{access.Reader, access.Archivist}, Clearance: access.Secret,
		Compartments: []string{"kinh-te"}, OrgUnit: "Văn phòng", CreatedAt: at, CreatedBy: "system",
		UpdatedAt: at, UpdatedBy: "system", PasswordChangedAt: at, Revision: 1,
	}, PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", Epoch: 1}
	const wantUser = `{"format":1,"id":"00112233445566778899aabbccddeeff","username":"nguyễn.văn.a",` +
		`"display_name":"Nguyễn Văn A","roles":["reader","archivist"],"clearance":"secret",` +
		`"compartments":["kinh-te"],"org_unit":"Văn phòng","disabled":false,` +
		`"created_at":"2026-03-02T08:00:00Z","created_by":"system","updated_at":"2026-03-02T08:00:00Z",` +
		`"updated_by":"system","password_changed_at":"2026-03-02T08:00:00Z","revision":1,` +
		`"password_hash":"$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA","epoch":1}`
	sess := sessionRecord{Format: 1, UserID: rec.ID, Epoch: 1, CreatedAt: at, LastSeenAt: at,
		ExpiresAt: at.Add(12 * time.Hour), ClientAddr: "10.0.0.1"}
	const wantSession = `{"format":1,"user_id":"00112233445566778899aabbccddeeff","epoch":1,` +
		`"created_at":"2026-03-02T08:00:00Z","last_seen_at":"2026-03-02T08:00:00Z",` +
		`"expires_at":"2026-03-02T20:00:00Z","client_addr":"10.0.0.1"}`
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{{"user", rec, wantUser}, {"session", sess, wantSession}, {"name", nameEntry{ID: rec.ID}, `{"id":"00112233445566778899aabbccddeeff"}`}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}
