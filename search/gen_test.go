package search

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"khomat/archive"
	"khomat/archive/access"
)

// The benchmark corpus is generated, not shipped: Vietnamese syllables from
// Debian's hunspell-vi word list (installed by scripts/setup.sh), drawn with
// a Zipf distribution so that common syllables are common, mixed with real
// compound words of administrative writing so that phrases mean something.

// viDictionary is where hunspell-vi puts its word list; KHOMAT_VI_DIC
// overrides it.
const viDictionary = "/usr/share/hunspell/vi_VN.dic"

// commonSyllables are the most frequent syllables of Vietnamese prose, most
// frequent first; the rest of the dictionary follows in a fixed shuffle.
var commonSyllables = strings.Fields(`của và các là có được trong cho không người những với một
	này đã để đến về công tác thực hiện theo đồng chí nhân dân đảng ủy ban
	việc năm từ ra vào khi đó như trên tại cũng còn nhiều phải sẽ đang hơn`)

// compounds are words and phrases of the administrative register; the
// recall queries are these, typed without marks.
var compounds = strings.Fields(`nghị_quyết chỉ_thị đường_lối đảng_ủy ban_chấp_hành điều_lệ
	đại_hội định_dạng văn_bản bảo_vệ bí_mật nhà_nước cán_bộ đảng_viên tổ_chức
	kiểm_tra giám_sát kỷ_luật đoàn_kết phát_triển kinh_tế quốc_phòng an_ninh
	đối_ngoại tuyên_giáo dân_vận báo_cáo tờ_trình kế_hoạch thông_báo hướng_dẫn
	địa_phương đơn_vị điều_hành đào_tạo đột_xuất đánh_giá đề_án dự_thảo`)

// corpus generates documents.
type corpus struct {
	words []string
	zipf  *rand.Zipf
	r     *rand.Rand
}

// loadCorpus reads the word list, or skips the benchmark with a message
// when it is not installed.
func loadCorpus(tb testing.TB, seed uint64) *corpus {
	tb.Helper()
	path := os.Getenv("KHOMAT_VI_DIC")
	if path == "" {
		path = viDictionary
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Skipf("Vietnamese word list not found (%v): install hunspell-vi (scripts/setup.sh) or set KHOMAT_VI_DIC", err)
	}
	defer f.Close()
	seen := map[string]bool{}
	var rest []string
	sc := bufio.NewScanner(f)
	first := true
	for sc.Scan() {
		w, _, _ := strings.Cut(sc.Text(), "/")
		w = strings.TrimSpace(w)
		if first {
			first = false
			if _, err := fmt.Sscan(w, new(int)); err == nil {
				continue // the entry count
			}
		}
		if w == "" || strings.ToLower(w) != w || seen[w] {
			continue // proper names and acronyms
		}
		seen[w] = true
		rest = append(rest, w)
	}
	if err := sc.Err(); err != nil || len(rest) < 1000 {
		tb.Skipf("Vietnamese word list %s unreadable or too short: %v", path, err)
	}
	r := rand.New(rand.NewPCG(seed, 0x6b686f6d6174))
	r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	words := append([]string(nil), commonSyllables...)
	for _, w := range rest {
		if !contains(commonSyllables, w) {
			words = append(words, w)
		}
	}
	return &corpus{words: words, zipf: rand.NewZipf(r, 1.07, 2, uint64(len(words)-1)), r: r}
}

func contains(list []string, w string) bool {
	for _, v := range list {
		if v == w {
			return true
		}
	}
	return false
}

// text returns about n bytes of prose: syllables, with a compound word one
// time in two hundred (each then in about 5% of documents), and sentences.
func (c *corpus) text(n int) string {
	var b strings.Builder
	b.Grow(n + 32)
	sentence := 0
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		if c.r.IntN(200) == 0 {
			b.WriteString(strings.ReplaceAll(compounds[c.r.IntN(len(compounds))], "_", " "))
		} else {
			b.WriteString(c.words[c.zipf.Uint64()])
		}
		if sentence++; sentence > 8+c.r.IntN(12) {
			b.WriteByte('.')
			sentence = 0
		}
	}
	return b.String()
}

var benchIssuers = []string{
	"Ban Chấp hành Trung ương", "Bộ Chính trị", "Ban Bí thư", "Văn phòng Trung ương Đảng",
	"Ban Tổ chức Trung ương", "Ban Tuyên giáo Trung ương", "Ủy ban Kiểm tra Trung ương",
	"Tỉnh ủy Hà Nam", "Thành ủy Hải Phòng", "Đảng ủy Khối Doanh nghiệp",
}

// doc returns the i-th document, with a body of about size bytes. Levels
// are spread as an archive holds them: mostly unclassified and Mật.
func (c *corpus) doc(i, size int) (archive.Document, string) {
	var id archive.ID
	for j := range id {
		id[j] = byte(c.r.Uint32())
	}
	level := access.Unclassified
	switch p := c.r.IntN(100); {
	case p >= 95:
		level = access.TopSecret
	case p >= 85:
		level = access.Secret
	case p >= 55:
		level = access.Confidential
	}
	types := archive.DocTypes()
	d := archive.Document{
		ID: id, Version: 1, Revision: 1, ContentType: "text/plain; charset=utf-8",
		CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Metadata: archive.Metadata{
			IssuingBody:  benchIssuers[c.r.IntN(len(benchIssuers))],
			NumberSymbol: fmt.Sprintf("%d-NQ/TW", 1+i%500),
			DateIssued:   archive.Date{Year: 2000 + c.r.IntN(26), Month: time.Month(1 + c.r.IntN(12)), Day: 1 + c.r.IntN(28)},
			Type:         types[c.r.IntN(len(types))],
			Title:        c.text(60),
			Level:        level,
			Urgency:      access.Urgency(c.r.IntN(4)),
		},
	}
	body := c.text(size)
	d.Size = int64(len(body))
	return d, body
}
