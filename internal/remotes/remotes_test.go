package remotes_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "crmsync/crm/all"
	"crmsync/internal/remotes"
)

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "remotes.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoad reads files that hold remotes of each kind and checks what
// each remote resolves to: a credential the file does not name is read
// from the API's own variable, a sandbox's files are relative to the
// remotes file.
func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []remotes.Remote
	}{
		{"empty", "", nil},
		{"no remotes", "remotes:\n", nil},
		{"url", "remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com/v1/\n    credentials: {api_key: OLD_TIQUO_KEY}\n",
			[]remotes.Remote{{Name: "old", API: "tiquo", URL: "https://crm.example.com/v1", Env: map[string]string{"api_key": "OLD_TIQUO_KEY"}, Line: 2}}},
		{"default credentials", "remotes:\n  books:\n    api: count\n    url: https://count.example.com\n    credentials:\n      client_secret: BOOKS_SECRET\n",
			[]remotes.Remote{{Name: "books", API: "count", URL: "https://count.example.com",
				Env: map[string]string{"token": "COUNT_TOKEN", "client_id": "COUNT_CLIENT_ID", "client_secret": "BOOKS_SECRET"}, Line: 2}}},
		{"sorted", "remotes:\n  zed: {api: tamio, url: 'http://127.0.0.1:8080/v2'}\n  alpha: {api: revnue, url: 'https://r.example.com'}\n",
			[]remotes.Remote{
				{Name: "alpha", API: "revnue", URL: "https://r.example.com", Env: map[string]string{"token": "REVNUE_TOKEN"}, Line: 3},
				{Name: "zed", API: "tamio", URL: "http://127.0.0.1:8080/v2", Env: map[string]string{"api_key": "TAMIO_API_KEY"}, Line: 2}}},
		{"cleartext elsewhere is the command's to refuse", "remotes:\n  lan: {api: tamio, url: 'http://crm.lan/v2'}\n",
			[]remotes.Remote{{Name: "lan", API: "tamio", URL: "http://crm.lan/v2", Env: map[string]string{"api_key": "TAMIO_API_KEY"}, Line: 2}}},
		{"sandbox", "remotes:\n  rehearsal:\n    api: tiquo\n    sandbox: true\n    sandbox_db: rehearsal.db\n    sandbox_config: /etc/crmsync/sb.yaml\n",
			[]remotes.Remote{{Name: "rehearsal", API: "tiquo", Sandbox: true, SandboxDB: "DIR/rehearsal.db", SandboxConfig: "/etc/crmsync/sb.yaml", Line: 2}}},
		{"sandbox with defaults", "remotes:\n  sb_1: {api: tamio, sandbox: true}\n",
			[]remotes.Remote{{Name: "sb_1", API: "tamio", Sandbox: true, Line: 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, tc.text)
			f, err := remotes.Load(path, true)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				tc.want[i].SandboxDB = strings.Replace(tc.want[i].SandboxDB, "DIR", filepath.Dir(path), 1)
			}
			if !f.Exists || !reflect.DeepEqual(f.Remotes, tc.want) {
				t.Errorf("got %+v (exists %v)\nwant %+v", f.Remotes, f.Exists, tc.want)
			}
		})
	}
}

// TestLoadRefuses lists mistakes, each refused with an error naming the
// file, the line, the remote and the key, and never quoting a value that
// may be a secret.
func TestLoadRefuses(t *testing.T) {
	const secret = "sk_live_9fA7dQ2zXk"
	for _, tc := range []struct {
		name, text string
		want       string // after "path:"
	}{
		{"secret as credential", "remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com\n    credentials:\n      api_key: " + secret + "\n",
			`6: remote "old": credentials.api_key: not the name of an environment variable`},
		{"capital secret", "remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com\n    credentials: {api_key: SK9FA7DQ2ZXKLM3NB8VC}\n",
			`5: remote "old": credentials.api_key: looks like a secret`},
		{"secret under its own key", "remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com\n    api_key: " + secret + "\n",
			`5: remote "old": api_key: unknown key (a remote has api, url, credentials, sandbox, sandbox_db, sandbox_config); a credential goes under credentials:`},
		{"secret at the top", "token: " + secret + "\nremotes: {}\n",
			`1: token: unknown key (the file holds remotes: and nothing else); a credential goes under credentials:`},
		{"password in the url", "remotes:\n  old:\n    api: tiquo\n    url: https://me:" + secret + "@crm.example.com\n",
			`4: remote "old": url: https://crm.example.com: the URL holds a user name or password`},
		{"key in the query", "remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com/?key=" + secret + "\n",
			`4: remote "old": url: https://crm.example.com/: a base URL takes no query`},
		{"unknown credential", "remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com\n    credentials: {token: OLD_TOKEN}\n",
			`5: remote "old": credentials.token: tiquo has no credential of that name (it has: api_key)`},
		{"credentials not a mapping", "remotes:\n  old:\n    api: tiquo\n    url: https://crm.example.com\n    credentials: [OLD_KEY]\n",
			`5: remote "old": credentials: must map each credential (api_key)`},
		{"unknown api", "remotes:\n  old:\n    api: salesfarce\n    url: https://crm.example.com\n",
			`3: remote "old": api: unknown api "salesfarce" (crmsync knows: count, revnue, tamio, tiquo)`},
		{"no api", "remotes:\n  old:\n    url: https://crm.example.com\n",
			`2: remote "old": api: missing`},
		{"no url", "remotes:\n  old: {api: tamio}\n",
			`2: remote "old": url: missing: give the API's base URL (or sandbox: true)`},
		{"not a url", "remotes:\n  old: {api: tamio, url: crm.example.com}\n",
			`2: remote "old": url: crm.example.com is not an http(s) URL`},
		{"sandbox with a url", "remotes:\n  sb:\n    api: tamio\n    sandbox: true\n    url: https://crm.example.com\n",
			`5: remote "sb": url: a sandbox remote has no url`},
		{"sandbox with credentials", "remotes:\n  sb:\n    api: tamio\n    sandbox: true\n    credentials: {api_key: SB_KEY}\n",
			`5: remote "sb": credentials: a sandbox remote has no credentials`},
		{"sandbox_db without sandbox", "remotes:\n  old:\n    api: tamio\n    url: https://crm.example.com\n    sandbox_db: x.db\n",
			`5: remote "old": sandbox_db: only a sandbox remote (sandbox: true) has one`},
		{"sandbox not a bool", "remotes:\n  sb: {api: tamio, sandbox: maybe}\n",
			`2: remote "sb": sandbox: must be true or false`},
		{"name with a colon", "remotes:\n  \"old:crm\": {api: tamio, url: 'https://crm.example.com'}\n",
			`2: remote "old:crm": a remote's name is letters, digits, - and _`},
		{"named sandbox", "remotes:\n  sandbox: {api: tamio, sandbox: true}\n",
			`2: remote "sandbox": a remote's name is letters, digits, - and _ (not "sandbox"`},
		{"twice", "remotes:\n  old: {api: tamio, url: 'https://a.example.com'}\n  old: {api: tamio, url: 'https://b.example.com'}\n",
			`3: remote "old": defined twice (first at line 2)`},
		{"key twice", "remotes:\n  old:\n    api: tamio\n    api: tiquo\n    url: https://a.example.com\n",
			`4: remote "old": api: given twice`},
		{"remote not a mapping", "remotes:\n  old: https://crm.example.com\n",
			`2: remote "old": must be a mapping of settings`},
		{"remotes a list", "remotes:\n  - old\n",
			`2: remotes: must map each remote's name to its settings`},
		{"not a mapping", "- remotes\n",
			`1: the file must be a mapping with one key, remotes:`},
		{"syntax", "remotes:\n  old: {api: tamio\n",
			`: did not find expected ',' or '}'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, tc.text)
			_, err := remotes.Load(path, false)
			if err == nil {
				t.Fatal("loaded")
			}
			want := path + ":" + tc.want
			if tc.name == "syntax" {
				want = path + ":2" + tc.want
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error:\n%v\nwant it to contain\n%s", err, want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "SK9FA7DQ2ZXKLM3NB8VC") {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
}

// TestLoadEveryProblem: a file with several mistakes lists them all, in
// the order of their lines.
func TestLoadEveryProblem(t *testing.T) {
	path := write(t, "remotes:\n  a: {api: nope, url: 'https://a.example.com'}\n  b: {api: tamio}\n")
	_, err := remotes.Load(path, true)
	var errs remotes.Errors
	if !errors.As(err, &errs) || len(errs) != 2 || !strings.HasPrefix(errs[0], path+":2:") || !strings.HasPrefix(errs[1], path+":3:") {
		t.Errorf("got %v", err)
	}
}

// TestLoadMissingFile: the default file may be absent (no remotes); one
// named with --config may not.
func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "remotes.yaml")
	f, err := remotes.Load(path, false)
	if err != nil || f.Exists || len(f.Remotes) != 0 {
		t.Errorf("default file absent: %+v, %v", f, err)
	}
	if _, err := remotes.Load(path, true); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("explicit file absent: %v, want ErrNotExist", err)
	}
}

// TestLookup: "sandbox:API" is defined for every API with an emulator
// whatever the file says, and an unknown name is refused with the
// closest known one.
func TestLookup(t *testing.T) {
	f, err := remotes.Load(write(t, "remotes:\n  production: {api: tamio, url: 'https://crm.example.com/v2'}\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range []string{"count", "revnue", "tamio", "tiquo"} {
		r, err := f.Lookup("sandbox:" + api)
		if err != nil || r.API != api || !r.Sandbox || !r.Builtin {
			t.Errorf("sandbox:%s: %+v, %v", api, r, err)
		}
	}
	if r, err := f.Lookup("production"); err != nil || r.URL != "https://crm.example.com/v2" {
		t.Errorf("production: %+v, %v", r, err)
	}
	for name, want := range map[string]string{
		"prodution":      `unknown remote "prodution" (` + f.Path + ` defines 1 remote; crmsync remotes lists them); did you mean "production"?`,
		"elsewhere":      `unknown remote "elsewhere" (` + f.Path + ` defines 1 remote; crmsync remotes lists them)`,
		"sandbox:tiqou":  `sandbox:tiqou: unknown api "tiqou"`,
		"sandbox:tamoi:": `unknown api "tamoi:"`,
	} {
		_, err := f.Lookup(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
		if name == "elsewhere" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("%s: %v suggests a name far from it", name, err)
		}
	}
}

// TestValidName: a remote's name is told apart from a URL, a file and
// "NAME:" by having no dot, slash or colon.
func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"old-crm": true, "prod_2": true, "A1": true,
		"": false, "sandbox": false, "sandbox:tamio": false, "old:": false, "crm.example.com": false,
		"-x": false, "a/b": false, "https://x": false, "ünï": false,
	} {
		if got := remotes.ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}
