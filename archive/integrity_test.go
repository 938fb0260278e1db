package archive_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/store"
	"khomat/archive/store/storetest"
)

// TestIntegrity alters, swaps and rolls back each kind of stored object and
// expects ErrIntegrity, never wrong data, on both backends, for a document
// read by one goroutine and for one large enough to be read by the pipeline.
func TestIntegrity(t *testing.T) {
	for _, size := range []int{200000, 600000} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) { testIntegrity(t, size) })
	}
}

func testIntegrity(t *testing.T, size int) {
	eachStore(t, func(t *testing.T, f *fixture) {
		ctx := t.Context()
		key := func(id archive.ID, rest string) string { return "docs/" + id.String() + "/" + rest }
		read := func(k string) []byte {
			rc, _, err := f.store.Get(ctx, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return b
		}
		write := func(k string, b []byte) {
			if _, err := f.store.Put(ctx, k, strings.NewReader(string(b)), store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		flip := func(b []byte, at int) []byte {
			c := append([]byte(nil), b...)
			c[at%len(c)] ^= 0x01
			return c
		}
		// fresh makes a document with two versions (two revisions), and
		// another document to swap objects with.
		fresh := func(t *testing.T) (archive.Document, archive.Document) {
			doc, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload(storetest.Data(1, size)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.AddVersion(ctx, archivist, doc.ID, upload(storetest.Data(2, size))); err != nil {
				t.Fatal(err)
			}
			other, err := f.svc.Create(ctx, archivist, meta(access.Confidential), upload(storetest.Data(3, size)))
			if err != nil {
				t.Fatal(err)
			}
			return doc, other
		}
		expect := func(t *testing.T, id archive.ID, opts archive.OpenOptions) {
			t.Helper()
			c, err := f.svc.Open(ctx, cadreMat, id, opts)
			if err == nil {
				_, err = io.ReadAll(c)
				c.Close()
			}
			if !errors.Is(err, archive.ErrIntegrity) {
				t.Fatalf("Open(%+v) = %v, want ErrIntegrity", opts, err)
			}
		}
		v2 := func(rest string) string { return "0000000002/" + rest }

		cases := []struct {
			name   string
			tamper func(doc, other archive.Document)
			opts   archive.OpenOptions
		}{
			{"blob bit flip", func(d, _ archive.Document) { write(key(d.ID, v2("blob")), flip(read(key(d.ID, v2("blob"))), 100)) }, archive.OpenOptions{}},
			{"blob bit flip in the last chunk", func(d, _ archive.Document) {
				b := read(key(d.ID, v2("blob")))
				write(key(d.ID, v2("blob")), flip(b, len(b)-100))
			}, archive.OpenOptions{}},
			{"blob bit flip, ranged read", func(d, _ archive.Document) { write(key(d.ID, v2("blob")), flip(read(key(d.ID, v2("blob"))), 100)) }, archive.OpenOptions{Range: &store.Range{Offset: 0, Length: 50}}},
			{"blob truncated", func(d, _ archive.Document) {
				b := read(key(d.ID, v2("blob")))
				write(key(d.ID, v2("blob")), b[:len(b)-65536])
			}, archive.OpenOptions{}},
			{"blob from another document", func(d, o archive.Document) { write(key(d.ID, "0000000001/blob"), read(key(o.ID, "0000000001/blob"))) }, archive.OpenOptions{Version: 1}},
			{"blob rolled back to version 1", func(d, _ archive.Document) { write(key(d.ID, v2("blob")), read(key(d.ID, "0000000001/blob"))) }, archive.OpenOptions{}},
			{"blob removed", func(d, _ archive.Document) { f.store.Delete(ctx, key(d.ID, v2("blob")), store.DeleteOptions{}) }, archive.OpenOptions{}},
			{"envelope bit flip", func(d, _ archive.Document) {
				k := key(d.ID, v2("env/0000000001"))
				write(k, flip(read(k), 60))
			}, archive.OpenOptions{}},
			{"envelope from another document", func(d, o archive.Document) {
				write(key(d.ID, "0000000001/env/0000000001"), read(key(o.ID, "0000000001/env/0000000001")))
			}, archive.OpenOptions{Version: 1}},
			{"envelope rolled back to version 1", func(d, _ archive.Document) {
				write(key(d.ID, v2("env/0000000001")), read(key(d.ID, "0000000001/env/0000000001")))
			}, archive.OpenOptions{}},
			{"revision bit flip", func(d, _ archive.Document) {
				k := key(d.ID, "rev/0000000002")
				write(k, flip(read(k), 40))
			}, archive.OpenOptions{}},
			{"revision header edited", func(d, _ archive.Document) {
				k := key(d.ID, "rev/0000000002")
				b := read(k)
				b[7] = 1 // claims to be sealed under version 1
				write(k, b)
			}, archive.OpenOptions{}},
			{"revision rolled back to revision 1", func(d, _ archive.Document) {
				write(key(d.ID, "rev/0000000002"), read(key(d.ID, "rev/0000000001")))
			}, archive.OpenOptions{}},
			{"revision from another document", func(d, o archive.Document) {
				write(key(d.ID, "rev/0000000002"), read(key(o.ID, "rev/0000000001")))
			}, archive.OpenOptions{}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				doc, other := fresh(t)
				tc.tamper(doc, other)
				expect(t, doc.ID, tc.opts)
				// The other document is untouched and still opens.
				c, err := f.svc.Open(ctx, cadreMat, other.ID, archive.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadAll(c); err != nil {
					t.Fatalf("untouched document: %v", err)
				}
			})
		}

		// An envelope of the old level put back after a raise opens under
		// the old level's key but names the wrong level: refused.
		t.Run("envelope of the old level after a raise", func(t *testing.T) {
			doc, _ := fresh(t)
			old := read(key(doc.ID, "0000000001/env/0000000001"))
			up, err := f.svc.Reclassify(ctx, archivist, doc.ID, archive.Reclassification{To: access.TopSecret, Reason: "r", DecisionRef: "d"})
			if err != nil {
				t.Fatal(err)
			}
			write(key(doc.ID, fmt.Sprintf("0000000001/env/%010d", up.Revision)), old)
			c, err := f.svc.Open(ctx, officer, doc.ID, archive.OpenOptions{Version: 1})
			if err == nil {
				_, err = io.ReadAll(c)
			}
			if !errors.Is(err, archive.ErrIntegrity) {
				t.Fatalf("Open with an old-level envelope = %v, want ErrIntegrity", err)
			}
		})
	})
}
