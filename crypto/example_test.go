package crypto_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"time"

	"khomat/crypto"
)

// A document version's life: a fresh data key encrypts the content and
// the metadata, the keyring wraps the data key for the document's level,
// and a reader later unwraps it and decrypts a byte range.
func Example() {
	keyring, err := crypto.NewKeyring(rand.Reader, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	b := crypto.Binding{Version: 1}
	rand.Read(b.DocID[:])

	// Upload: encrypt content and metadata, wrap the data key.
	dk, err := crypto.NewDataKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	var blob bytes.Buffer
	w, err := crypto.NewEncryptWriter(&blob, dk, b, crypto.AES256GCM, rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "Nghị quyết số 01: nội dung tuyệt mật.")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	meta, err := crypto.SealMetadata(dk, crypto.AES256GCM, b.DocID[:], []byte(`{"title":"Nghị quyết số 01"}`), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	envelope, err := keyring.Wrap(crypto.TopSecret, dk, b)
	if err != nil {
		log.Fatal(err)
	}
	dk.Destroy()

	// Read: unwrap, then open the metadata and a range of the content.
	dk, err = keyring.Unwrap(envelope, crypto.TopSecret, b)
	if err != nil {
		log.Fatal(err)
	}
	defer dk.Destroy()
	title, err := crypto.OpenMetadata(dk, b.DocID[:], meta)
	if err != nil {
		log.Fatal(err)
	}
	rr, err := crypto.OpenRange(bytes.NewReader(blob.Bytes()), int64(blob.Len()), dk, b)
	if err != nil {
		log.Fatal(err)
	}
	section, err := rr.Section(0, int64(len("Nghị quyết số")))
	if err != nil {
		log.Fatal(err)
	}
	first, err := io.ReadAll(section)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n%s\n", title, first)
	// Output:
	// {"title":"Nghị quyết số 01"}
	// Nghị quyết số
}

// Reclassifying a document rewrites its envelope only.
func ExampleRewrap() {
	keyring, _ := crypto.NewKeyring(rand.Reader, time.Now())
	b := crypto.Binding{Version: 3}
	dk, _ := crypto.NewDataKey(rand.Reader)
	envelope, _ := keyring.Wrap(crypto.Secret, dk, b)

	lowered, err := crypto.Rewrap(keyring, envelope, crypto.Secret, b, crypto.Confidential)
	if err != nil {
		log.Fatal(err)
	}
	info, _ := crypto.ParseEnvelope(lowered)
	fmt.Println(info.Level, info.KEKVersion)
	// Output: confidential 1
}
