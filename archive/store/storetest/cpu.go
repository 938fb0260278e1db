package storetest

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CPU measures the CPU time, user and system, that this process and the
// test MinIO server spend, so that a benchmark can show where the cores
// went: on a machine where the server shares the cores, a transfer can go
// no faster than both sides' CPU time allows.
type CPU struct {
	self, server time.Duration
	hasServer    bool
}

// StartCPU reads both processes' CPU time so far. The server's is read
// from /proc by the PID that scripts/with-minio.sh exports as
// KHOMAT_TEST_S3_PID; without it only this process is counted.
func StartCPU() CPU {
	var c CPU
	c.self = SelfCPU()
	c.server, c.hasServer = serverCPU()
	return c
}

// Report adds the CPU time per operation since c to b's results as
// client-cpu-ms/op and, when known, server-cpu-ms/op.
func (c CPU) Report(b *testing.B, ops int) {
	if ops <= 0 {
		return
	}
	b.ReportMetric(float64(SelfCPU()-c.self)/float64(time.Millisecond)/float64(ops), "client-cpu-ms/op")
	if s, ok := serverCPU(); ok && c.hasServer {
		b.ReportMetric(float64(s-c.server)/float64(time.Millisecond)/float64(ops), "server-cpu-ms/op")
	}
}

// serverCPU is the test MinIO server's CPU time, by the PID that
// scripts/with-minio.sh exports.
func serverCPU() (time.Duration, bool) {
	pid, ok := ServerPID()
	if !ok {
		return 0, false
	}
	return ProcessCPU(pid)
}

// ServerPID is the test MinIO server's PID, when scripts/with-minio.sh
// started it.
func ServerPID() (int, bool) {
	pid, err := strconv.Atoi(os.Getenv("KHOMAT_TEST_S3_PID"))
	return pid, err == nil
}

// ProcessCPU reads the CPU time, user and system, a process has spent so
// far: fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 1/100 s.
func ProcessCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, may hold spaces: count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// SelfCPU is this process's CPU time so far, user and system.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
