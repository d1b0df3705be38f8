package cli

import (
	"io"
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/spf13/pflag"
)

// logFlags are the root's persistent flags for logging.
type logFlags struct {
	format  string
	verbose bool
}

func (f *logFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.format, "log-format", "text", "log format on standard error: text or json")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "log debug detail")
}

func (f *logFlags) check() error {
	switch f.format {
	case "text", "json":
		return nil
	}
	return usageError("--log-format %q: use text or json", f.format)
}

// newLogger writes to w (standard error). Logs never hold row values or
// keys: the reject file is the place for the former, nowhere for the
// latter.
func (f *logFlags) newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if f.verbose {
		opts.Level = slog.LevelDebug
	}
	if f.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
