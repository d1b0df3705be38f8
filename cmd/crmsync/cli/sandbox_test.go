package cli_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"crmsync/pipeline"
	"crmsync/sinks/tamio"
	"crmsync/sinks/tamio/tamiotest"
)

// TestSandboxCommand runs `crmsync sandbox` as a user would: it prints its
// base URL and key, serves the API on them, keeps customers in --db across
// a restart, and stops with exit 0 on Ctrl-C.
func TestSandboxCommand(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "sandbox.db")
	start := func() (*exec.Cmd, string, string) {
		cmd := exec.Command(binary, "sandbox", "--api", "tamio", "--listen", "127.0.0.1:0", "--db", db)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var url, key string
		sc := bufio.NewScanner(out)
		for sc.Scan() && (url == "" || key == "") {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "tamio sandbox serving at "); ok {
				url = rest
			}
			if rest, ok := strings.CutPrefix(line, "API key: "); ok {
				key = rest
			}
		}
		if url == "" || key != tamiotest.DefaultKey {
			cmd.Process.Kill()
			t.Fatalf("sandbox printed url %q and key %q", url, key)
		}
		return cmd, url, key
	}
	stop := func(cmd *exec.Cmd) {
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("sandbox stopped with %v, want exit 0", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("sandbox did not stop within 30 s of SIGINT")
		}
	}
	ctx := context.Background()

	cmd, url, key := start()
	c := tamio.NewClient(url, key, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	created, err := c.Create(ctx, map[string]any{"name": "Ana", "email": "ana@example.com", "country": "DE"})
	if err != nil {
		cmd.Process.Kill()
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	stop(cmd)
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("--db file: %v", err)
	}

	cmd, url, key = start()
	defer stop(cmd)
	c = tamio.NewClient(url, key, nil, pipeline.NewPacer(pipeline.PacerOptions{}))
	defer c.CloseIdleConnections()
	got, err := c.Retrieve(ctx, created.ID)
	if err != nil || got.Email != "ana@example.com" {
		t.Fatalf("after a restart on the same --db: %+v, %v", got, err)
	}
}
