package cli

import (
	"bytes"
	"io"
	"os"

	"github.com/charmbracelet/x/term"
)

// IO is where a command reads and writes: data to Out, status and logs to
// ErrOut, so that $(authdev token --as alice) captures only the token.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutIsTerminal reports whether Out is a terminal (the TUI needs one).
	OutIsTerminal bool
	// InFile is the terminal input when In is one; nil in tests.
	InFile *os.File
}

// SystemIO is the process's standard streams.
func SystemIO() *IO {
	return &IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		OutIsTerminal: term.IsTerminal(os.Stdout.Fd()), InFile: os.Stdin}
}

// TestIO returns an IO writing to buffers, and the buffers.
func TestIO() (ios *IO, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IO{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}
