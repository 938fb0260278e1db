package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"

	"khomat/archive"
	"khomat/archive/access"
	"khomat/archive/identity"
	"khomat/archive/store"
	"khomat/archive/store/storetest"
	"khomat/search"
)

// BenchmarkAPILoad runs the real khomat binary over loopback and drives it
// with 50 concurrent users: 80 % searches, 10 % metadata reads, 5 %
// downloads of 1 MiB documents, 5 % uploads of 256 KiB, over
// KHOMAT_BENCH_DOCS documents (default 2000) for KHOMAT_BENCH_SECONDS
// (default 20), on the folder store (KHOMAT_BENCH_STORE=s3 for MinIO). It
// reports requests/s and p50/p99 per kind and the server's peak RSS. Run it
// with -benchtime=1x.
func BenchmarkAPILoad(b *testing.B) {
	docs := envInt("KHOMAT_BENCH_DOCS", 2000)
	seconds := envInt("KHOMAT_BENCH_SECONDS", 20)
	const users = 50
	env := benchEnv(b, os.Getenv("KHOMAT_BENCH_STORE") == "s3")
	start := time.Now()
	big := seed(b, env, docs, users)
	b.Logf("seeded %d documents and %d users in %s", docs, users, time.Since(start).Round(time.Second))

	srv := startBinary(b, buildBinary(b), env)
	start = time.Now()
	waitReadyFor(b, srv.url, time.Hour)
	b.Logf("server ready (indexes reconciled with %d documents) in %s; peak RSS so far %.0f MiB", docs,
		time.Since(start).Round(time.Millisecond), float64(peakRSS(b, srv.pid))/(1<<20))

	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = httpLogin(b, srv.url, fmt.Sprintf("user%02d", i), "mật khẩu người dùng 2025")
	}
	archivist := httpLogin(b, srv.url, "uploader", "mật khẩu người dùng 2025")

	b.ResetTimer()
	for b.Loop() {
		stats := runLoad(b, srv.url, tokens, archivist, big, time.Duration(seconds)*time.Second)
		total := 0
		for _, k := range loadKinds {
			s := stats[k]
			total += len(s.lat)
			b.ReportMetric(float64(len(s.lat))/float64(seconds), k+"_req/s")
			b.ReportMetric(ms(s.pct(50)), k+"_p50_ms")
			b.ReportMetric(ms(s.pct(99)), k+"_p99_ms")
			b.Logf("%-9s %7d req  %8.1f req/s  p50 %7.1f ms  p99 %7.1f ms  errors %d", k, len(s.lat),
				float64(len(s.lat))/float64(seconds), ms(s.pct(50)), ms(s.pct(99)), s.errors)
		}
		b.ReportMetric(float64(total)/float64(seconds), "total_req/s")
		b.Logf("total     %7d req  %8.1f req/s", total, float64(total)/float64(seconds))
	}
	b.StopTimer()
	rss := peakRSS(b, srv.pid)
	b.ReportMetric(float64(rss)/(1<<20), "server_peak_RSS_MiB")
	b.Logf("server peak RSS %.0f MiB", float64(rss)/(1<<20))
}

// BenchmarkAPIThroughput256MiB uploads and downloads a 256 MiB document
// through the running khomat binary on MinIO, and puts and gets the same
// bytes with minio-go on the same server in the same run; it reports the
// ratios (target at least 0.8) and the server's peak RSS.
func BenchmarkAPIThroughput256MiB(b *testing.B) {
	env := benchEnv(b, true)
	cfg := storetest.S3Config(b)
	cfg.Bucket = env["KHOMAT_S3_BUCKET"]
	seed(b, env, 0, 0)
	srv := startBinary(b, buildBinary(b), env)
	waitReadyFor(b, srv.url, time.Minute)
	archivist := httpLogin(b, srv.url, "uploader", "mật khẩu người dùng 2025")
	// The CPU time of the three processes that share the cores: this
	// client, the khomat server and MinIO.
	sample := func() (c cpuSample) {
		c[0] = storetest.SelfCPU()
		c[1], _ = storetest.ProcessCPU(srv.pid)
		if pid, ok := storetest.ServerPID(); ok {
			c[2], _ = storetest.ProcessCPU(pid)
		}
		return c
	}
	var ups, downs, mups, mdowns []float64
	for b.Loop() {
		up, down, apiCPU := throughput(b, srv.url, archivist, sample)
		mup, mdown, minioCPU := minioThroughput(b, cfg, sample)
		ups, downs, mups, mdowns = append(ups, up), append(downs, down), append(mups, mup), append(mdowns, mdown)
		b.Logf("256 MiB: API put %.0f MB/s, minio-go put %.0f MB/s (%.2f); API get %.0f MB/s, minio-go get %.0f MB/s (%.2f)",
			up, mup, up/mup, down, mdown, down/mdown)
		b.Logf("CPU ms of a get: API: client %.0f, khomat %.0f, MinIO %.0f; minio-go: client %.0f, MinIO %.0f",
			ms(apiCPU[0]), ms(apiCPU[1]), ms(apiCPU[2]), ms(minioCPU[0]), ms(minioCPU[2]))
	}
	up, down, mup, mdown := median(ups), median(downs), median(mups), median(mdowns)
	b.ReportMetric(up, "api_put_MB/s")
	b.ReportMetric(down, "api_get_MB/s")
	b.ReportMetric(mup, "minio_put_MB/s")
	b.ReportMetric(mdown, "minio_get_MB/s")
	b.ReportMetric(up/mup, "put_ratio")
	b.ReportMetric(down/mdown, "get_ratio")
	rss := peakRSS(b, srv.pid)
	b.ReportMetric(float64(rss)/(1<<20), "server_peak_RSS_MiB")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// benchEnv is the environment of a benchmark's server: a data folder, and
// a new bucket on the test MinIO when s3.
func benchEnv(b *testing.B, s3 bool) map[string]string {
	env := map[string]string{
		"KHOMAT_DATA": b.TempDir(), "KHOMAT_ADMIN_PASSWORD": "mật khẩu quản trị 2025", "KHOMAT_INDEX_MEMORY_LEVELS": "none",
	}
	if s3 {
		cfg := storetest.S3Config(b)
		env["KHOMAT_S3_ENDPOINT"], env["KHOMAT_S3_BUCKET"] = cfg.Endpoint, cfg.Bucket
		env["KHOMAT_S3_ACCESS_KEY"], env["KHOMAT_S3_SECRET_KEY"] = cfg.AccessKey, cfg.SecretKey
	}
	return env
}

func buildBinary(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "khomat")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("building khomat: %v\n%s", err, out)
	}
	return bin
}

// waitReadyFor waits until /readyz answers 200.
func waitReadyFor(b *testing.B, base string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("the server did not become ready")
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// vocabulary is the words of the administrative register: one word in
// twenty of the generated text, and a fifth of the searches.
var vocabulary = strings.Fields("nghị quyết chỉ thị kết luận quy định hướng dẫn báo cáo tờ trình thông báo công văn kế hoạch " +
	"công tác cán bộ đảng viên tổ chức kiểm tra giám sát bảo vệ bí mật nhà nước văn phòng tỉnh ủy huyện ủy " +
	"định dạng văn bản lưu trữ hồ sơ tài liệu phát triển kinh tế xã hội quốc phòng an ninh đối ngoại tuyên giáo " +
	"dân vận nội chính chuyển đổi số năm nhiệm kỳ đại hội hội nghị ban chấp hành ban thường vụ thực hiện triển khai")

// words are the syllables of Debian's hunspell-vi list (scripts/setup.sh
// installs it), shuffled once, drawn with a Zipf distribution as in the
// search benchmarks; without the list, the vocabulary alone, which makes
// every word match a large share of the documents.
type words struct {
	list []string
	zipf *rand.Zipf
	r    *rand.Rand
}

func newWords(seed uint64) *words {
	r := rand.New(rand.NewPCG(seed, 0x6b686f6d6174))
	w := &words{list: slices.Clone(vocabulary), r: r}
	if raw, err := os.ReadFile("/usr/share/hunspell/vi_VN.dic"); err == nil {
		var list []string
		for i, line := range strings.Split(string(raw), "\n") {
			word, _, _ := strings.Cut(strings.TrimSpace(line), "/")
			if i == 0 || word == "" || strings.ToLower(word) != word || strings.ContainsAny(word, " -") {
				continue
			}
			list = append(list, word)
		}
		shuffle := rand.New(rand.NewPCG(1, 2)) // the same order in every generator
		shuffle.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		if len(list) > 1000 {
			w.list = list
		}
	}
	w.zipf = rand.NewZipf(r, 1.07, 2, uint64(len(w.list)-1))
	return w
}

// word draws one word of text.
func (w *words) word() string {
	if w.r.IntN(20) == 0 {
		return vocabulary[w.r.IntN(len(vocabulary))]
	}
	return w.list[w.zipf.Uint64()]
}

// query draws a search: a content word of rank 20 to 2,000 (as the search
// benchmarks), or one of the register, one time in five; sometimes two.
func (w *words) query() string {
	one := func() string {
		if w.r.IntN(5) == 0 || len(w.list) < 2000 {
			return vocabulary[w.r.IntN(len(vocabulary))]
		}
		return w.list[20+w.r.IntN(1980)]
	}
	q := one()
	if w.r.IntN(2) == 0 {
		q += " " + one()
	}
	return q
}

func (w *words) title() string {
	n := 6 + w.r.IntN(8)
	ws := make([]string, n)
	for i := range ws {
		ws[i] = w.word()
	}
	first, size := utf8.DecodeRuneInString(ws[0])
	ws[0] = string(unicode.ToUpper(first)) + ws[0][size:]
	return strings.Join(ws, " ")
}

// textOf is about size bytes of Vietnamese words.
func textOf(w *words, size int) io.Reader {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(w.title())
		b.WriteString(". ")
	}
	return strings.NewReader(b.String())
}

// seed fills the store and indexes offline, as a node would have over
// time, creates the users, and returns the ids of the 1 MiB documents.
func seed(b *testing.B, env map[string]string, docs, users int) []string {
	ctx := context.Background()
	c := &cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	sc := storeConfig{data: env["KHOMAT_DATA"], node: "local"}
	sc.s3 = store.S3Config{Endpoint: env["KHOMAT_S3_ENDPOINT"], Bucket: env["KHOMAT_S3_BUCKET"], AccessKey: env["KHOMAT_S3_ACCESS_KEY"], PathStyle: true}
	c.finish(&sc)
	// No index here: the server's repair at start indexes in bulk, which
	// is much faster than one document at a time.
	n, err := c.openNode(ctx, &sc, true, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := identity.Open(ctx, identity.Config{Store: n.store, Keys: n.keys, Audit: n.audit})
	if err != nil {
		b.Fatal(err)
	}
	admin, _, err := ids.EnsureAdmin(ctx, "admin", env["KHOMAT_ADMIN_PASSWORD"])
	if err != nil {
		b.Fatal(err)
	}
	adm := archive.Actor{Subject: admin.Subject()}
	mk := func(name string, roles ...access.Role) {
		if _, err := ids.Create(ctx, adm, identity.NewUser{Username: name, Password: "mật khẩu người dùng 2025",
			DisplayName: name, Roles: roles, Clearance: access.Secret}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range users {
		mk(fmt.Sprintf("user%02d", i), access.Reader)
	}
	mk("uploader", access.Archivist)
	seeder := archive.Actor{Subject: access.Subject{ID: "seed", Roles: []access.Role{access.Archivist}, Clearance: access.TopSecret}}

	bigDocs := min(20, docs)
	var bigIDs []string
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			gen := newWords(uint64(w))
			for {
				i := next.Add(1) - 1
				if i >= int64(docs) || failed.Load() != nil {
					return
				}
				level := access.Level(r.IntN(4))
				m := archive.Metadata{
					IssuingBody: "Văn phòng Tỉnh ủy", NumberSymbol: fmt.Sprintf("%d-NQ/TU", i), DateIssued: archive.Date{Year: 2000 + r.IntN(25), Month: time.Month(1 + r.IntN(12)), Day: 1 + r.IntN(28)},
					Type: archive.DocTypes()[r.IntN(len(archive.DocTypes()))], Title: gen.title(), Summary: gen.title() + ". " + gen.title(), Level: level,
				}
				if level.Classified() {
					m.StateSecretRef = "Quyết định 1234/QĐ-TTg, mục 5"
				}
				size := 1 << 10
				if i < int64(bigDocs) {
					size, m.Level, m.StateSecretRef = 1<<20, access.Confidential, "Quyết định 1234/QĐ-TTg, mục 5"
				}
				doc, err := n.archive.Create(ctx, seeder, m, archive.Upload{Content: textOf(gen, size), ContentType: "text/plain; charset=utf-8"})
				if err != nil {
					failed.Store(err)
					return
				}
				if i < int64(bigDocs) {
					mu.Lock()
					bigIDs = append(bigIDs, doc.ID.String())
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("seeding: %v", err)
	}
	ids.Close()
	if err := n.close(ctx); err != nil {
		b.Fatal(err)
	}
	return bigIDs
}

// process is the khomat binary serving.
type process struct {
	url string
	pid int
}

func startBinary(b *testing.B, bin string, env map[string]string) *process {
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	re := regexp.MustCompile(`serving on (http://\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, out)
			return &process{url: m[1], pid: cmd.Process.Pid}
		}
	}
	b.Fatal("the server did not start")
	return nil
}

func httpLogin(b *testing.B, base, user, pw string) string {
	body, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&s)
	if resp.StatusCode != 200 {
		b.Fatalf("login %s: %s", user, resp.Status)
	}
	return s.Token
}

var loadKinds = []string{"search", "metadata", "download", "upload"}

type kindStats struct {
	lat    []time.Duration
	errors int
}

func (s *kindStats) pct(p int) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, len(s.lat)*p/100)]
}

// runLoad drives the server with one goroutine per user for d.
func runLoad(b *testing.B, base string, tokens []string, archivist string, big []string, d time.Duration) map[string]*kindStats {
	tr := &http.Transport{MaxIdleConnsPerHost: len(tokens) + 1}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()
	var mu sync.Mutex
	stats := map[string]*kindStats{}
	for _, k := range loadKinds {
		stats[k] = &kindStats{}
	}
	var ids []string // documents seen in search results, for metadata reads
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for u, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(u), 99))
			gen := newWords(uint64(1000 + u))
			upload := bytes.Repeat([]byte("văn bản "), 256<<10/len("văn bản "))
			for time.Now().Before(deadline) {
				var kind string
				var req *http.Request
				switch p := r.IntN(100); {
				case p < 80:
					kind = "search"
					q := gen.query()
					if r.IntN(2) == 0 {
						q = search.Fold(q) // typed without diacritics
					}
					req, _ = http.NewRequest("GET", base+"/api/v1/search?q="+url.QueryEscape(q), nil)
				case p < 90:
					kind = "metadata"
					mu.Lock()
					id := big[r.IntN(len(big))]
					if len(ids) > 0 {
						id = ids[r.IntN(len(ids))]
					}
					mu.Unlock()
					req, _ = http.NewRequest("GET", base+"/api/v1/documents/"+id, nil)
				case p < 95:
					kind = "download"
					req, _ = http.NewRequest("GET", base+"/api/v1/documents/"+big[r.IntN(len(big))]+"/content", nil)
				default:
					kind = "upload"
					var body bytes.Buffer
					mw := multipart.NewWriter(&body)
					m, _ := json.Marshal(map[string]any{"title": gen.title(), "level": "confidential", "doc_type": "report",
						"issuing_body": "Văn phòng Tỉnh ủy", "date_issued": "2025-01-02", "state_secret_ref": "QĐ 1234/QĐ-TTg"})
					h := textproto.MIMEHeader{"Content-Disposition": {`form-data; name="metadata"`}, "Content-Type": {"application/json"}}
					w, _ := mw.CreatePart(h)
					w.Write(m)
					h = textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; filename="bao-cao.txt"`}, "Content-Type": {"text/plain"}}
					w, _ = mw.CreatePart(h)
					w.Write(upload[:len(upload)-8])
					fmt.Fprintf(w, "%08x", r.Uint32()) // every upload its own bytes
					mw.Close()
					req, _ = http.NewRequest("POST", base+"/api/v1/documents", &body)
					req.Header.Set("Content-Type", mw.FormDataContentType())
				}
				t := tok
				if kind == "upload" {
					t = archivist
				}
				req.Header.Set("Authorization", "Bearer "+t)
				start := time.Now()
				resp, err := client.Do(req)
				var found []string
				ok := err == nil
				if ok {
					if kind == "search" {
						var res struct{ Hits []struct{ ID string } }
						json.NewDecoder(resp.Body).Decode(&res)
						for _, h := range res.Hits {
							found = append(found, h.ID)
						}
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode < 300
				}
				el := time.Since(start)
				mu.Lock()
				s := stats[kind]
				if ok {
					s.lat = append(s.lat, el)
				} else {
					s.errors++
				}
				if len(found) > 0 && len(ids) < 10000 {
					ids = append(ids, found[0])
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, s := range stats {
		slices.Sort(s.lat)
	}
	return stats
}

// cpuSample is the CPU time so far of the benchmark, the khomat server and
// MinIO.
type cpuSample [3]time.Duration

func (c cpuSample) sub(d cpuSample) cpuSample {
	return cpuSample{c[0] - d[0], c[1] - d[1], c[2] - d[2]}
}

// throughput uploads and downloads a 256 MiB document through the API, and
// returns the CPU time the three processes spent on the download.
func throughput(b *testing.B, base, token string, sample func() cpuSample) (up, down float64, cpu cpuSample) {
	const size = 256 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		m, _ := json.Marshal(map[string]any{"title": "Tài liệu lớn", "level": "secret", "doc_type": "report",
			"issuing_body": "Văn phòng Tỉnh ủy", "date_issued": "2025-01-02", "state_secret_ref": "QĐ 1234/QĐ-TTg"})
		w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="metadata"`}, "Content-Type": {"application/json"}})
		w.Write(m)
		w, _ = mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="file"; filename="lon.bin"`}, "Content-Type": {"application/octet-stream"}})
		io.Copy(w, storetest.Stream(42, size))
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequest("POST", base+"/api/v1/documents", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var doc struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		b.Fatalf("256 MiB upload: %s", resp.Status)
	}
	up = size / 1e6 / time.Since(start).Seconds()
	req, _ = http.NewRequest("GET", base+"/api/v1/documents/"+doc.ID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	before := sample()
	start = time.Now()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != size {
		b.Fatalf("256 MiB download: %d bytes", n)
	}
	down = size / 1e6 / time.Since(start).Seconds()
	return up, down, sample().sub(before)
}

// minioThroughput puts and gets the same 256 MiB with minio-go directly,
// from a stream of unknown length as the API receives it, and returns the
// CPU time spent on the get.
func minioThroughput(b *testing.B, cfg store.S3Config, sample func() cpuSample) (up, down float64, cpu cpuSample) {
	const size = 256 << 20
	s, err := store.NewS3(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := s.Client()
	start := time.Now()
	if _, err := c.PutObject(context.Background(), cfg.Bucket, "bench/plain", storetest.Stream(42, size), -1, minio.PutObjectOptions{PartSize: 16 << 20}); err != nil {
		b.Fatal(err)
	}
	up = size / 1e6 / time.Since(start).Seconds()
	before := sample()
	start = time.Now()
	obj, err := c.GetObject(context.Background(), cfg.Bucket, "bench/plain", minio.GetObjectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, obj)
	obj.Close()
	if n != size {
		b.Fatalf("minio get: %d bytes", n)
	}
	down = size / 1e6 / time.Since(start).Seconds()
	return up, down, sample().sub(before)
}

// peakRSS reads the process's high-water resident set size.
func peakRSS(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
