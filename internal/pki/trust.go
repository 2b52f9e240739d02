package pki

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// SystemStore is an operating system's folder of extra trust anchors and the
// command that rebuilds the trust bundle from it.
type SystemStore struct {
	Dir    string
	Update []string
}

// linuxStores are the anchor folders of the common distributions, in the
// order they are looked for (the same list mkcert uses).
var linuxStores = []SystemStore{
	{Dir: "/usr/local/share/ca-certificates", Update: []string{"update-ca-certificates"}},           // Debian, Ubuntu, Alpine
	{Dir: "/etc/pki/ca-trust/source/anchors", Update: []string{"update-ca-trust", "extract"}},       // Fedora, RHEL
	{Dir: "/etc/ca-certificates/trust-source/anchors", Update: []string{"trust", "extract-compat"}}, // Arch
	{Dir: "/usr/share/pki/trust/anchors", Update: []string{"update-ca-certificates"}},               // openSUSE
}

// AnchorFile is the file name the CA gets in a system anchor folder; a new
// CA replaces the old one.
const AnchorFile = "authdev-local-ca.crt"

// TrustOptions are the side inputs of Trust; NewTrustOptions fills them for
// the running process.
type TrustOptions struct {
	GOOS string
	Home string
	// Self is how the user runs authdev, for the printed commands.
	Self string
	// Privileged reports whether system folders may be written (root).
	Privileged bool
	// System is the system store, nil when none is known.
	System *SystemStore
	// TempDir receives the certificate file that certutil reads.
	TempDir  string
	LookPath func(string) (string, error)
	// Run runs a command and returns its combined output.
	Run func(name string, args ...string) ([]byte, error)
}

// NewTrustOptions describes the running machine.
func NewTrustOptions(goos string) TrustOptions {
	home, _ := os.UserHomeDir()
	o := TrustOptions{
		GOOS: goos, Home: home, Self: "authdev", Privileged: os.Geteuid() == 0,
		TempDir: os.TempDir(), LookPath: exec.LookPath,
		Run: func(name string, args ...string) ([]byte, error) {
			return exec.Command(name, args...).CombinedOutput()
		},
	}
	if goos == "linux" {
		for _, s := range linuxStores {
			if fi, err := os.Stat(s.Dir); err == nil && fi.IsDir() {
				o.System = &s
				break
			}
		}
	}
	return o
}

// Step is one trust store and what happened to it.
type Step struct {
	Store string // "system (/usr/local/share/ca-certificates)", "NSS (~/.pki/nssdb)"
	Done  bool
	Err   error
	// Commands are what the user must run when authdev could not do it.
	Commands []string
}

// Trust installs the CA into the system store and every NSS database
// (Chromium's ~/.pki/nssdb, Firefox profiles) it can, and returns, for each
// store, what it did or the exact commands that would do it.
func (ca *CA) Trust(o TrustOptions) []Step {
	var steps []Step
	switch o.GOOS {
	case "linux":
		steps = append(steps, ca.trustLinuxSystem(o))
	case "darwin":
		steps = append(steps, Step{Store: "macOS system keychain", Commands: []string{
			fmt.Sprintf("%s ca print > /tmp/authdev-ca.pem", o.Self),
			"sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain /tmp/authdev-ca.pem",
		}})
	case "windows":
		steps = append(steps, Step{Store: "Windows root store", Commands: []string{
			fmt.Sprintf("%s ca print > %%TEMP%%\\authdev-ca.pem", o.Self),
			"certutil -user -addstore -f Root %TEMP%\\authdev-ca.pem",
		}})
	default:
		steps = append(steps, Step{Store: "system store", Err: fmt.Errorf("no known trust store on %s: add the output of `%s ca print` to it by hand", o.GOOS, o.Self)})
	}
	if o.GOOS != "windows" {
		steps = append(steps, ca.trustNSS(o)...)
	}
	return steps
}

func (ca *CA) trustLinuxSystem(o TrustOptions) Step {
	if o.System == nil {
		return Step{Store: "system store", Err: fmt.Errorf("no known CA anchor folder: add the output of `%s ca print` to your distribution's trust store by hand", o.Self)}
	}
	dst := filepath.Join(o.System.Dir, AnchorFile)
	step := Step{Store: "system (" + o.System.Dir + ")"}
	manual := []string{
		fmt.Sprintf("%s ca print | sudo tee %s >/dev/null", o.Self, dst),
		"sudo " + strings.Join(o.System.Update, " "),
	}
	if !o.Privileged {
		step.Commands = manual
		return step
	}
	if err := os.WriteFile(dst, ca.certPEM, 0o644); err != nil {
		step.Err, step.Commands = fmt.Errorf("write %s: %w", dst, err), manual
		return step
	}
	if out, err := o.Run(o.System.Update[0], o.System.Update[1:]...); err != nil {
		step.Err, step.Commands = fmt.Errorf("%s: %w: %s", o.System.Update[0], err, strings.TrimSpace(string(out))), manual[1:]
		return step
	}
	step.Done = true
	return step
}

// nssDatabases are the NSS databases of the user's browsers. Chromium's is
// created when missing: Chromium reads it at every start, whatever profile.
func nssDatabases(home string) (dbs []string, create string) {
	chromium := filepath.Join(home, ".pki", "nssdb")
	dbs = append(dbs, chromium)
	if _, err := os.Stat(chromium); errors.Is(err, fs.ErrNotExist) {
		create = chromium
	}
	for _, pattern := range []string{
		filepath.Join(home, ".mozilla", "firefox", "*"),
		filepath.Join(home, "snap", "firefox", "common", ".mozilla", "firefox", "*"),
		filepath.Join(home, "snap", "chromium", "current", ".pki", "nssdb"),
		filepath.Join(home, "Library", "Application Support", "Firefox", "Profiles", "*"),
	} {
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			if _, err := os.Stat(filepath.Join(m, "cert9.db")); err == nil {
				dbs = append(dbs, m)
			}
		}
	}
	return dbs, create
}

// Nickname is the name the CA gets in NSS databases.
func (ca *CA) Nickname() string { return ca.Cert.Subject.CommonName }

func (ca *CA) trustNSS(o TrustOptions) []Step {
	dbs, create := nssDatabases(o.Home)
	if o.GOOS == "darwin" && create != "" {
		// macOS browsers other than Firefox use the keychain.
		dbs, create = dbs[1:], ""
	}
	certFile := filepath.Join(o.TempDir, "authdev-ca-"+ca.Fingerprint()[:12]+".pem")
	certutil, lookErr := o.LookPath("certutil")
	var steps []Step
	for _, db := range dbs {
		step := Step{Store: "NSS (" + db + ")"}
		add := fmt.Sprintf("certutil -A -d sql:%s -t C,, -n %q -i %s", shellQuote(db), ca.Nickname(), certFile)
		manual := []string{fmt.Sprintf("%s ca print > %s", o.Self, certFile)}
		if db == create {
			manual = append(manual, fmt.Sprintf("mkdir -p %s && certutil -N -d sql:%s --empty-password", shellQuote(db), shellQuote(db)))
		}
		manual = append(manual, add)
		if lookErr != nil {
			step.Err = errors.New("certutil not found: install it (Debian/Ubuntu: sudo apt-get install libnss3-tools; Fedora: sudo dnf install nss-tools; macOS: brew install nss)")
			step.Commands = manual
			steps = append(steps, step)
			continue
		}
		if err := os.WriteFile(certFile, ca.certPEM, 0o644); err != nil {
			step.Err, step.Commands = fmt.Errorf("write %s: %w", certFile, err), manual
			steps = append(steps, step)
			continue
		}
		if db == create {
			if err := os.MkdirAll(db, 0o700); err != nil {
				step.Err, step.Commands = err, manual
				steps = append(steps, step)
				continue
			}
			if out, err := o.Run(certutil, "-N", "-d", "sql:"+db, "--empty-password"); err != nil {
				step.Err, step.Commands = fmt.Errorf("certutil -N: %w: %s", err, strings.TrimSpace(string(out))), manual
				steps = append(steps, step)
				continue
			}
		}
		if out, err := o.Run(certutil, "-A", "-d", "sql:"+db, "-t", "C,,", "-n", ca.Nickname(), "-i", certFile); err != nil {
			step.Err, step.Commands = fmt.Errorf("certutil -A: %w: %s", err, strings.TrimSpace(string(out))), manual
		} else {
			step.Done = true
		}
		steps = append(steps, step)
	}
	return steps
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, " '\"$`\\") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
