package crypto

import (
	"bytes"
	"testing"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	dk := testDataKey(t, "dk")
	ad := []byte("doc 42 version 3 revision 1")
	plaintext := []byte(`{"title":"Nghị quyết về công tác bảo vệ bí mật nhà nước"}`)
	for _, suite := range suites {
		t.Run(suite.String(), func(t *testing.T) {
			t.Parallel()
			sealed, err := SealMetadata(dk, suite, ad, plaintext, testRand("salt"))
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(plaintext)+MetadataOverhead {
				t.Fatalf("sealed is %d bytes, want %d", len(sealed), len(plaintext)+MetadataOverhead)
			}
			if bytes.Contains(sealed, []byte("Nghị")) {
				t.Fatal("plaintext visible")
			}
			got, err := OpenMetadata(dk, ad, sealed)
			if err != nil || !bytes.Equal(got, plaintext) {
				t.Fatalf("OpenMetadata = %q, %v", got, err)
			}
			// Another seal of the same metadata uses another salt.
			again, _ := SealMetadata(dk, suite, ad, plaintext, testRand("another salt"))
			if bytes.Equal(again[MetadataHeaderSize:], sealed[MetadataHeaderSize:]) {
				t.Fatal("two seals share a ciphertext")
			}

			// The content stream and metadata use separate keys:
			// a metadata record is not a content stream.
			if _, err := decrypt(dk, testBinding("doc", 1), sealed); err == nil {
				t.Fatal("metadata opened as content")
			}

			cases := map[string]struct {
				dk     *DataKey
				ad     []byte
				sealed []byte
			}{
				"wrong key":          {testDataKey(t, "other"), ad, sealed},
				"wrong ad":           {dk, []byte("doc 42 version 3 revision 2"), sealed},
				"missing ad":         {dk, nil, sealed},
				"bit flip in header": {dk, ad, flip(6)(sealed)},
				"bit flip in salt":   {dk, ad, flip(10)(sealed)},
				"bit flip in body":   {dk, ad, flip(MetadataHeaderSize + 3)(sealed)},
				"bit flip in tag":    {dk, ad, flip(-1)(sealed)},
				"truncated":          {dk, ad, sealed[:len(sealed)-1]},
				"header only":        {dk, ad, sealed[:MetadataHeaderSize]},
				"appended":           {dk, ad, cat(sealed, []byte{0})},
				"empty":              {dk, ad, nil},
			}
			for name, tc := range cases {
				t.Run(name, func(t *testing.T) {
					_, err := OpenMetadata(tc.dk, tc.ad, tc.sealed)
					wantIntegrity(t, err)
				})
			}
		})
	}
	t.Run("empty plaintext", func(t *testing.T) {
		sealed, err := SealMetadata(dk, AES256GCM, nil, nil, testRand("salt"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := OpenMetadata(dk, nil, sealed); err != nil || len(got) != 0 {
			t.Fatalf("OpenMetadata = %q, %v", got, err)
		}
	})
}
