// Command khomat is Khomat's one binary: the server (khomat serve), the
// offline tools that work on a stopped node's data folder (keys rotate,
// reindex, audit verify), and HTTP clients of a running server for scripts
// and bulk import (login, user, doc).
//
// Exit codes, for scripts:
//
//	0  success
//	1  failure (I/O, a server error, anything not listed below)
//	2  usage: unknown command, bad flag or argument
//	3  audit verify: the log does not verify
//	4  refused: not signed in, not allowed, or throttled (401, 403, 429)
//	5  not found (404)
//	6  unavailable: the server cannot be reached or answers 503
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitVerify      = 3
	exitRefused     = 4
	exitNotFound    = 5
	exitUnavailable = 6
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program: it reads the environment, stops on SIGINT or
// SIGTERM, and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, &cli{args: args, getenv: os.Getenv, stdin: stdin, stdout: stdout, stderr: stderr})
}

// cli is one run of the command line. Everything it reads from outside
// comes through here, so tests run it in-process.
type cli struct {
	args   []string
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// ready, when set, receives the server's address once it listens.
	ready func(addr string)
}

const usage = `khomat — kho mật, the classified archive

Usage:
  khomat serve [flags]                  run the server (default data folder ./khomat-data)
  khomat login --user NAME              sign in to a running server; prints a token for KHOMAT_TOKEN
  khomat user add|list|disable ...      manage accounts on a running server (admin)
  khomat doc upload|get|search|extend   documents on a running server
  khomat keys rotate --level LEVEL      rotate a level's key (server stopped)
  khomat reindex                        rebuild the search indexes from the store (server stopped)
  khomat audit verify                   verify the audit log offline

Run "khomat COMMAND --help" for the flags of each command.

Exit codes: 0 success, 1 failure, 2 usage, 3 audit log does not verify,
4 refused (401/403/429), 5 not found, 6 server unreachable or unavailable.
`

func runContext(ctx context.Context, c *cli) int {
	if len(c.args) == 0 {
		fmt.Fprint(c.stderr, usage)
		return exitUsage
	}
	cmd, rest := c.args[0], c.args[1:]
	switch cmd {
	case "-h", "--help", "help":
		fmt.Fprint(c.stdout, usage)
		return exitOK
	case "serve":
		return c.serve(ctx, rest)
	case "login":
		return c.login(ctx, rest)
	case "user":
		return c.sub(ctx, "user", rest, map[string]func(context.Context, []string) int{
			"add": c.userAdd, "list": c.userList, "disable": c.userDisable,
		})
	case "doc":
		return c.sub(ctx, "doc", rest, map[string]func(context.Context, []string) int{
			"upload": c.docUpload, "get": c.docGet, "search": c.docSearch, "extend": c.docExtend,
		})
	case "keys":
		return c.sub(ctx, "keys", rest, map[string]func(context.Context, []string) int{"rotate": c.keysRotate})
	case "reindex":
		return c.reindex(ctx, rest)
	case "audit":
		return c.sub(ctx, "audit", rest, map[string]func(context.Context, []string) int{"verify": c.auditVerify})
	}
	fmt.Fprintf(c.stderr, "khomat: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// sub dispatches a command with subcommands.
func (c *cli) sub(ctx context.Context, name string, args []string, subs map[string]func(context.Context, []string) int) int {
	names := ""
	for _, k := range []string{"add", "list", "disable", "upload", "get", "search", "extend", "rotate", "verify"} {
		if _, ok := subs[k]; ok {
			names += " " + k
		}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(c.stdout, "Usage: khomat %s {%s }\n", name, names)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	f, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(c.stderr, "khomat %s: unknown subcommand %q (one of%s)\n", name, args[0], names)
		return exitUsage
	}
	return f(ctx, args[1:])
}

// flags makes a flag set that writes its usage to stdout on --help.
func (c *cli) flags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: khomat %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; it returns the exit code to stop with, or -1 to go on.
func (c *cli) parse(fs *flag.FlagSet, args []string) int {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(c.stdout)
		fs.Usage()
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	return -1
}

// env returns the environment variable, or def when it is empty.
func (c *cli) env(name, def string) string {
	if v := c.getenv(name); v != "" {
		return v
	}
	return def
}

func (c *cli) errorf(format string, args ...any) {
	fmt.Fprintf(c.stderr, "khomat: "+format+"\n", args...)
}
