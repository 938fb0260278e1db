package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"khomat/archive/access"
)

var update = flag.Bool("update", false, "rewrite the test vectors in testdata")

// vector is the committed test vector of the canonical encoding and the
// record frame (docs/FORMAT.md, "Audit log").
type vector struct {
	Entry    Entry  `json:"entry"`
	Encoding string `json:"encoding"` // hex
	Leaf     string `json:"leaf"`     // tlog.Hash, base64
	Frame    string `json:"frame"`    // hex
	Header   string `json:"header"`   // hex of the header of a segment starting at Entry.Seq
}

func vectorEntry() Entry {
	var prev tlog.Hash
	for i := range prev {
		prev[i] = byte(i)
	}
	return Entry{Seq: 41, Prev: prev, Event: Event{
		Time:      time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.UTC),
		Actor:     "9b1c4d2e",
		Roles:     []access.Role{access.Reader, access.Archivist},
		Clearance: access.Secret,
		OrgUnit:   "van-phong",
		Action:    "download",
		Object:    "0123456789abcdef0123456789abcdef",
		Version:   2,
		Level:     access.Secret,
		Target:    access.Unclassified,
		Outcome:   Denied,
		Reason:    "copy_not_approved",
		ClientIP:  "10.1.2.3",
		Request:   "req-7f3a",
		Detail:    "copy=0",
	}}
}

func TestVector(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "event-v1.json")
	en := vectorEntry()
	enc, err := en.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		v := vector{Entry: en, Encoding: hex.EncodeToString(enc), Leaf: tlog.RecordHash(enc).String(),
			Frame: hex.EncodeToString(appendFrame(nil, enc)), Header: hex.EncodeToString(appendHeader(nil, en.Seq))}
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	t.Run("encode", func(t *testing.T) {
		if !reflect.DeepEqual(v.Entry, en) {
			t.Fatalf("vector entry %+v, want %+v", v.Entry, en)
		}
		if got := hex.EncodeToString(enc); got != v.Encoding {
			t.Fatalf("encoding\n got %s\nwant %s", got, v.Encoding)
		}
		if got := tlog.RecordHash(enc).String(); got != v.Leaf {
			t.Fatalf("leaf %s, want %s", got, v.Leaf)
		}
		if got := hex.EncodeToString(appendFrame(nil, enc)); got != v.Frame {
			t.Fatalf("frame\n got %s\nwant %s", got, v.Frame)
		}
		if got := hex.EncodeToString(appendHeader(nil, en.Seq)); got != v.Header {
			t.Fatalf("header %s, want %s", got, v.Header)
		}
	})
	t.Run("decode", func(t *testing.T) {
		frame, _ := hex.DecodeString(v.Frame)
		payload, n, err := parseFrame(frame)
		if err != nil || n != len(frame) {
			t.Fatalf("parseFrame: %d, %v", n, err)
		}
		var got Entry
		if err := got.UnmarshalBinary(payload); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, v.Entry) {
			t.Fatalf("decoded %+v, want %+v", got, v.Entry)
		}
		h, _ := hex.DecodeString(v.Header)
		if first, err := parseHeader(h); err != nil || first != v.Entry.Seq {
			t.Fatalf("header: %d, %v", first, err)
		}
	})
}

func TestEncodingIsCanonical(t *testing.T) {
	t.Parallel()
	en := vectorEntry()
	enc, _ := en.MarshalBinary()
	cases := map[string][]byte{
		"trailing byte":   append(bytes.Clone(enc), 0),
		"short":           enc[:len(enc)-1],
		"version 2":       append([]byte{2}, enc[1:]...),
		"empty":           nil,
		"unknown role":    bytes.Replace(bytes.Clone(enc), []byte{2, byte(access.Reader), byte(access.Archivist)}, []byte{2, 9, byte(access.Archivist)}, 1),
		"unknown outcome": bytes.Replace(bytes.Clone(enc), []byte("\x00\x06denied"), []byte("\x00\x06dented"), 1),
		"control char":    bytes.Replace(bytes.Clone(enc), []byte("req-7f3a"), []byte("req-7f\n3"), 1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(b, enc) && name != "empty" {
				t.Fatal("the case did not change the encoding")
			}
			var got Entry
			if err := got.UnmarshalBinary(b); !errors.Is(err, errEncoding) {
				t.Fatalf("UnmarshalBinary = %v, want errEncoding", err)
			}
		})
	}
}

func TestInvalidEvents(t *testing.T) {
	t.Parallel()
	ok := sampleEvent(1)
	cases := map[string]func(e *Event){
		"no action":       func(e *Event) { e.Action = "" },
		"bad outcome":     func(e *Event) { e.Outcome = "maybe" },
		"bad level":       func(e *Event) { e.Level = 7 },
		"bad clearance":   func(e *Event) { e.Clearance = 4 },
		"bad role":        func(e *Event) { e.Roles = []access.Role{0} },
		"newline":         func(e *Event) { e.Reason = "a\nb" },
		"invalid utf8":    func(e *Event) { e.Actor = "\xff" },
		"too long":        func(e *Event) { e.Detail = strings.Repeat("x", MaxField+1) },
		"c1 control":      func(e *Event) { e.Request = "a\u0085b" },
		"far future time": func(e *Event) { e.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	dir := t.TempDir()
	l := openLog(t, dir, testOptions(newClock()))
	defer closeLog(t, l)
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			e := ok
			mutate(&e)
			if _, err := l.Append(t.Context(), e); !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("Append = %v, want ErrInvalidEvent", err)
			}
		})
	}
	if s := l.Status(); s.Size != 0 {
		t.Fatalf("invalid events were recorded: %+v", s)
	}
}

func TestQueryHasher(t *testing.T) {
	t.Parallel()
	h, err := NewQueryHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := h.Hash("Nghị quyết  15"), h.Hash(" nghị QUYẾT 15 "), h.Hash("nghị quyết 16")
	if a != b || a == c || len(a) != 64 || strings.Contains(a, "quy") {
		t.Fatalf("hashes %s %s %s", a, b, c)
	}
	other, _ := NewQueryHasher(bytes.Repeat([]byte{8}, 32))
	if other.Hash("nghị quyết 15") == a {
		t.Fatal("the hash does not depend on the key")
	}
	if _, err := NewQueryHasher(make([]byte, 16)); err == nil {
		t.Fatal("a short key was accepted")
	}
}
