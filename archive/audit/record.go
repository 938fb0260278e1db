package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Segment file layout (docs/FORMAT.md, "Audit log"):
//
//	header: "KHAUDSEG" | u32 format version (1) | u64 first seq | u32 CRC-32C of the 20 bytes before
//	record: u32 payload length | payload (canonical entry) | u32 CRC-32C of length and payload
//
// The checksum is not a defence against a tamperer (the Merkle tree and the
// signed checkpoints are): it tells a torn or damaged record from a complete
// one, so recovery cuts exactly the bytes an interrupted write left.
const (
	segMagic      = "KHAUDSEG"
	segVersion    = 1
	segHeaderLen  = 8 + 4 + 8 + 4
	frameOverhead = 4 + 4
	// maxPayload bounds one record: an event of MaxField-sized strings is
	// well under it, and a damaged length field cannot make a reader
	// allocate more.
	maxPayload = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of the record parser.
var (
	// errShort means the bytes end inside a header or record: a torn write
	// at the tail of a segment.
	errShort = errors.New("segment ends inside a record")
	// errChecksum means a complete record (or header) whose checksum does
	// not match its bytes.
	errChecksum = errors.New("record checksum mismatch")
	// errLength means a length field no writer produces.
	errLength = errors.New("impossible record length")
	// errHeader means a segment header that is not one.
	errHeader = errors.New("not an audit segment header")
)

// appendHeader appends a segment header for a segment starting at first.
func appendHeader(b []byte, first uint64) []byte {
	start := len(b)
	b = append(b, segMagic...)
	b = binary.BigEndian.AppendUint32(b, segVersion)
	b = binary.BigEndian.AppendUint64(b, first)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// parseHeader reads a segment header and returns the first seq it names.
func parseHeader(b []byte) (uint64, error) {
	if len(b) < segHeaderLen {
		return 0, errShort
	}
	if string(b[:8]) != segMagic || binary.BigEndian.Uint32(b[8:12]) != segVersion {
		return 0, errHeader
	}
	if crc32.Checksum(b[:20], castagnoli) != binary.BigEndian.Uint32(b[20:24]) {
		return 0, fmt.Errorf("%w: %w", errHeader, errChecksum)
	}
	return binary.BigEndian.Uint64(b[12:20]), nil
}

// appendFrame appends one framed record.
func appendFrame(b, payload []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// parseFrame reads the record at the start of b. It returns the payload and
// the frame's length in bytes. With errChecksum the payload and length are
// still returned: the length field was plausible, so a reader may go on past
// the damaged record.
func parseFrame(b []byte) (payload []byte, n int, err error) {
	if len(b) < 4 {
		return nil, 0, errShort
	}
	size := binary.BigEndian.Uint32(b)
	if size == 0 || size > maxPayload {
		return nil, 0, errLength
	}
	n = frameOverhead + int(size)
	if len(b) < n {
		return nil, 0, errShort
	}
	payload = b[4 : 4+size]
	if crc32.Checksum(b[:4+size], castagnoli) != binary.BigEndian.Uint32(b[4+size:n]) {
		return payload, n, errChecksum
	}
	return payload, n, nil
}

// seqName is the name of a segment or checkpoint: a number in 20 decimal
// digits, so that names sort as numbers do.
func seqName(n uint64) string {
	return fmt.Sprintf("%020d", n)
}

// parseSeqName reads a name made by seqName.
func parseSeqName(s string) (uint64, bool) {
	if len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
