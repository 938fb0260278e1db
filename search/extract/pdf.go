package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// pdf runs pdftotext on the content. The tool reads the PDF from its
// standard input and writes text to its standard output, so the plaintext of
// a classified document never touches a temporary file. It runs under a
// shell's ulimit: an address-space bound (PDFMemory) and a CPU-time bound
// (Timeout), on top of the context's deadline, which kills it outright.
func (e *Extractor) pdf(ctx context.Context, r io.Reader) (Text, error) {
	if e.pdftotext == "" {
		e.warnToolMissing()
		return Text{}, &Error{Format: PDF, Reason: ToolMissing}
	}
	lim := e.limits
	cpu := max(1, int64(lim.Timeout/time.Second))
	// "$0" is the tool's path, so that no path is ever parsed by the shell.
	script := "ulimit -v " + strconv.FormatInt(lim.PDFMemory/1024, 10) +
		" && ulimit -t " + strconv.FormatInt(cpu, 10) +
		` && exec "$0" -q -enc UTF-8 - -`
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", script, e.pdftotext)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"}
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return Text{}, &Error{Format: PDF, Reason: Failed, Err: err}
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Text{}, &Error{Format: PDF, Reason: Failed, Err: err}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &cappedBuffer{b: &stderr, max: 4096}
	if err := cmd.Start(); err != nil {
		return Text{}, &Error{Format: PDF, Reason: Failed, Err: err}
	}

	// Feed the PDF while reading the text; the tool reads all its input
	// before it writes, but a pipe must never be left to fill.
	inErr := make(chan error, 1)
	go func() {
		lr := &limitedReader{r: r, n: lim.MaxInput}
		_, err := io.Copy(stdin, lr)
		stdin.Close()
		if errors.Is(err, syscall.EPIPE) {
			err = nil // the tool stopped reading; its exit status tells why
		}
		inErr <- err
	}()

	w := newTextWriter(lim.MaxText)
	readErr := plainText(ctx, stdout, w)
	if w.full() {
		// Enough text: stop the tool rather than wait for the rest.
		cmd.Process.Kill()
	}
	io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	copyErr := <-inErr

	switch {
	case errors.Is(copyErr, errTooLarge):
		return Text{}, &Error{Format: PDF, Reason: TooLarge, Err: copyErr}
	case ctx.Err() != nil:
		return Text{}, &Error{Format: PDF, Reason: Timeout, Err: ctx.Err()}
	case w.full():
		return w.result(PDF), nil
	case copyErr != nil:
		return Text{}, &Error{Format: PDF, Reason: Failed, Err: copyErr}
	case readErr != nil:
		return Text{}, &Error{Format: PDF, Reason: Failed, Err: readErr}
	}
	if waitErr != nil {
		return Text{}, &Error{Format: PDF, Reason: pdfReason(waitErr), Err: fmt.Errorf("%w: %s", waitErr, bytes.TrimSpace(stderr.Bytes()))}
	}
	return w.result(PDF), nil
}

// pdfReason maps how pdftotext ended to a Reason.
func pdfReason(err error) Reason {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return Failed
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch ws.Signal() {
		case syscall.SIGXCPU, syscall.SIGKILL:
			return Timeout
		}
		return Failed // SIGSEGV or SIGABRT: usually out of memory under ulimit -v
	}
	switch ee.ExitCode() {
	case 1, 3: // cannot open or parse the PDF; encrypted or not permitted
		return Corrupt
	}
	return Failed
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
