// Command withminio runs a command beside a throw-away MinIO server: it picks
// a free loopback port, starts the server with a fresh data folder and random
// credentials, waits until a signed S3 request succeeds (the health endpoint
// answers before S3 requests are served), runs the command with
// KHOMAT_TEST_S3_* set (KHOMAT_TEST_S3_PID is the server's, for benchmarks
// that count its CPU time), and stops the server by its PID whatever the outcome.
// It exits with the command's status.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("withminio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("minio", "minio", "path of the MinIO server binary")
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for the server to serve S3")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: withminio [-minio PATH] -- COMMAND [ARGS...]")
		return 2
	}

	work, err := os.MkdirTemp("", "khomat-minio-")
	if err != nil {
		fmt.Fprintln(stderr, "withminio:", err)
		return 1
	}
	defer os.RemoveAll(work)

	port, err := freePort()
	if err != nil {
		fmt.Fprintln(stderr, "withminio: no free port:", err)
		return 1
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	user, pass := "khomat-test-"+randomHex(4), randomHex(20)

	logFile, err := os.Create(filepath.Join(work, "minio.log"))
	if err != nil {
		fmt.Fprintln(stderr, "withminio:", err)
		return 1
	}
	defer logFile.Close()
	server := exec.Command(*binary, "server", "--quiet", "--address", addr, filepath.Join(work, "data"))
	server.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+user, "MINIO_ROOT_PASSWORD="+pass,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	server.Stdout, server.Stderr = logFile, logFile
	if err := server.Start(); err != nil {
		fmt.Fprintln(stderr, "withminio: starting MinIO:", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	stop := func() {
		_ = server.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = server.Process.Kill()
			<-exited
		}
	}
	defer stop()

	if err := waitReady(addr, user, pass, *wait, exited); err != nil {
		fmt.Fprintln(stderr, "withminio: MinIO did not become ready:", err)
		dumpLog(stderr, logFile.Name())
		return 1
	}
	fmt.Fprintf(stderr, "withminio: MinIO (pid %d) serving S3 on %s\n", server.Process.Pid, addr)

	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Env = append(os.Environ(),
		"KHOMAT_TEST_S3_ENDPOINT="+addr,
		"KHOMAT_TEST_S3_ACCESS_KEY="+user,
		"KHOMAT_TEST_S3_SECRET_KEY="+pass,
		fmt.Sprintf("KHOMAT_TEST_S3_PID=%d", server.Process.Pid))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "withminio:", err)
		return 1
	}
	go func() {
		for s := range signals {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if exit.ExitCode() < 0 {
			return 1
		}
		return exit.ExitCode()
	default:
		fmt.Fprintln(stderr, "withminio:", err)
		return 1
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// waitReady polls the liveness endpoint, then a signed ListBuckets, until
// both succeed, the server exits, or the time runs out.
func waitReady(addr, user, pass string, limit time.Duration, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	client, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(user, pass, "")})
	if err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: 2 * time.Second}
	var last error
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("server exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := httpClient.Get("http://" + addr + "/minio/health/live")
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = fmt.Errorf("health: %s", resp.Status)
			continue
		}
		reqCtx, reqCancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = client.ListBuckets(reqCtx)
		reqCancel()
		if err == nil {
			return nil
		}
		last = err
	}
}

func dumpLog(w io.Writer, path string) {
	b, err := os.ReadFile(path)
	if err == nil {
		fmt.Fprintf(w, "--- MinIO log ---\n%s\n", b)
	}
}
