package cli

import (
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/internal/state"
)

// CAOptions are the inputs of `authdev ca print|trust`.
type CAOptions struct {
	IO    *IO
	State func() (state.Store, error)
	Now   func() time.Time
	// Trust describes the machine for `ca trust`.
	Trust pki.TrustOptions
}

// NewCmdCA builds `authdev ca` and its subcommands.
func NewCmdCA(f *Factory) *cobra.Command {
	return group("ca", "authdev's local certificate authority (the proxy's HTTPS certificates)",
		NewCmdCAPrint(f, nil), NewCmdCATrust(f, nil))
}

func newCAOptions(f *Factory) *CAOptions {
	o := &CAOptions{IO: f.IO, State: f.State, Now: f.Now, Trust: pki.NewTrustOptions(runtime.GOOS)}
	if exe, err := os.Executable(); err == nil && !strings.Contains(exe, "go-build") {
		o.Trust.Self = exe
	}
	return o
}

// NewCmdCAPrint builds `authdev ca print`.
func NewCmdCAPrint(f *Factory, runF func(*CAOptions) error) *cobra.Command {
	opts := newCAOptions(f)
	return oneShot(&cobra.Command{
		Use:   "print",
		Short: "Write the CA certificate (PEM) to stdout",
		Long: `Write the CA certificate, PEM encoded, to stdout: for curl --cacert, for
REQUESTS_CA_BUNDLE / SSL_CERT_FILE, or to add it to a trust store by hand.
The CA is created (once, kept in the state store) if it does not exist yet.`,
		Example: `  authdev ca print > authdev-ca.pem
  curl --cacert authdev-ca.pem https://127.0.0.1:8443/.authdev/health`,
	}, opts, runF, caPrintRun)
}

func loadCA(opts *CAOptions) (*pki.CA, error) {
	store, err := opts.State()
	if err != nil {
		return nil, err
	}
	return pki.LoadOrCreate(store, opts.Now, rand.Reader)
}

func caPrintRun(opts *CAOptions) error {
	ca, err := loadCA(opts)
	if err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(ca.CertPEM())
	return err
}

// NewCmdCATrust builds `authdev ca trust`.
func NewCmdCATrust(f *Factory, runF func(*CAOptions) error) *cobra.Command {
	opts := newCAOptions(f)
	return oneShot(&cobra.Command{
		Use:   "trust",
		Short: "Install the CA into the system and browser (NSS) trust stores",
		Long: `Install the CA certificate into the system trust store and into every NSS
database (Chromium's ~/.pki/nssdb, Firefox profiles) it can write. Where it
cannot (no root, no certutil), it prints the exact commands to stdout, so
` + "`authdev ca trust | sh`" + ` finishes the job.`,
	}, opts, runF, caTrustRun)
}

func caTrustRun(opts *CAOptions) error {
	ca, err := loadCA(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "authdev ca: %s (SHA-256 %s)\n", ca.Nickname(), ca.Fingerprint())
	failed := 0
	for _, st := range ca.Trust(opts.Trust) {
		switch {
		case st.Done:
			fmt.Fprintf(opts.IO.ErrOut, "  trusted    %s\n", st.Store)
		case len(st.Commands) > 0:
			why := "needs privileges"
			if st.Err != nil {
				why = st.Err.Error()
			}
			fmt.Fprintf(opts.IO.ErrOut, "  run yourself for %s (%s); the commands are on stdout\n", st.Store, why)
			fmt.Fprintf(opts.IO.Out, "# %s\n%s\n", st.Store, strings.Join(st.Commands, "\n"))
		default:
			failed++
			fmt.Fprintf(opts.IO.ErrOut, "  not done   %s: %v\n", st.Store, st.Err)
		}
	}
	if failed > 0 {
		return &SilentError{Code: ExitFailure}
	}
	return nil
}
