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

// Main runs the command line and returns the process exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := &cobra.Command{
		Use:           "crmsync",
		Short:         "Sync customer records from CSV and Parquet into CRMs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	addLogFlags(root)
	var cpuProfile, memProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file (for bug reports)")
	root.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a heap profile to this file at the end (for bug reports)")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	_ = root.PersistentFlags().MarkHidden("memprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if err := logging.check(); err != nil {
			return err
		}
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return usageError("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return usageError("--cpuprofile: %v", err)
		}
		stopProfile = func() {
			pprof.StopCPUProfile()
			f.Close()
		}
		return nil
	}
	for _, add := range commands {
		root.AddCommand(add())
	}
	root.SetArgs(args)
	stopProfile = func() {}
	err := root.ExecuteContext(ctx)
	stopProfile()
	if memProfile != "" {
		if f, perr := os.Create(memProfile); perr == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.code != ExitOK {
			fmt.Fprintln(os.Stderr, "crmsync:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "crmsync:", err)
	if ctx.Err() != nil {
		return ExitInterrupted
	}
	return ExitFatal
}

// commands lists the constructors of the subcommands; each command's file
// registers itself in an init function.
var commands []func() *cobra.Command

// stopProfile ends a --cpuprofile; a no-op when none runs.
var stopProfile = func() {}
