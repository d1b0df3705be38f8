// Package cli holds crmsync's commands, one file each, each with an options
// struct, its flags, a check and run(ctx, opts).
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, shared by every command and listed in each command's help.
const (
	ExitOK          = 0   // all done
	ExitFatal       = 1   // the run stopped on a fatal error
	ExitUsage       = 2   // bad flags or arguments
	ExitRejects     = 3   // done, but some rows were rejected
	ExitAborted     = 4   // aborted: rejects went over --max-rejects (or a guard tripped)
	ExitInterrupted = 130 // SIGINT or SIGTERM; outputs flushed
)

const exitCodesHelp = `
EXIT STATUS
  0    all done
  1    fatal error (unreachable target, 401/403, bad configuration, disk)
  2    usage error (bad flags or arguments)
  3    done, with rejected rows (see the reject file)
  4    aborted: rejects went over --max-rejects, or a safety guard tripped
  130  interrupted by SIGINT or SIGTERM; outputs and state flushed`

// exitError carries an exit code out of a command's RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// globals are the root's persistent flags and what they start, one set
// per call of Main, so Main may run concurrently (as the tests do).
type globals struct {
	log         logFlags
	config      string // --config: the remotes file
	cpuProfile  string
	memProfile  string
	stopProfile func()
	// started is set once a command's own code runs: an error before it
	// (an unknown command, a stray argument) is a usage error.
	started bool
}

// Main runs the command line and returns the process exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	g := &globals{stopProfile: func() {}}
	root := &cobra.Command{
		Use:           "crmsync",
		Short:         "Sync customer records from CSV and Parquet into CRMs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	pf := root.PersistentFlags()
	g.log.register(pf)
	pf.StringVar(&g.config, "config", "", configFlagHelp)
	pf.StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for bug reports)")
	pf.StringVar(&g.memProfile, "memprofile", "", "write a heap profile to this file at the end (for bug reports)")
	_ = pf.MarkHidden("cpuprofile")
	_ = pf.MarkHidden("memprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		g.started = true
		if err := g.log.check(); err != nil {
			return err
		}
		return g.startProfile()
	}
	for _, add := range commands {
		root.AddCommand(add(g))
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	g.stopProfile()
	g.writeHeapProfile()

	code := ExitFatal
	var ee *exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		code, err = ee.code, ee.err
	case !g.started:
		// Cobra's own refusals: unknown command, wrong arguments.
		code = ExitUsage
	case ctx.Err() != nil:
		code = ExitInterrupted
	}
	if err != nil && code != ExitOK {
		if g.log.format == "json" {
			g.log.newLogger(os.Stderr).Error("crmsync stopped", "err", err.Error(), "exit_code", code)
		} else {
			fmt.Fprintln(os.Stderr, "crmsync:", err)
		}
	}
	return code
}

func (g *globals) startProfile() error {
	if g.cpuProfile == "" {
		return nil
	}
	f, err := os.Create(g.cpuProfile)
	if err != nil {
		return usageError("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return usageError("--cpuprofile: %v", err)
	}
	g.stopProfile = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
	return nil
}

func (g *globals) writeHeapProfile() {
	if g.memProfile == "" {
		return
	}
	if f, err := os.Create(g.memProfile); err == nil {
		_ = pprof.WriteHeapProfile(f)
		f.Close()
	}
}

// commands lists the constructors of the subcommands; each command's file
// registers itself in an init function.
var commands []func(*globals) *cobra.Command
