package cfgwatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/authdev/authdev/audit"
	"github.com/authdev/authdev/config"
)

// Options are what a Watcher needs; Path, Load, Apply and Notify are
// required.
type Options struct {
	// Path is the config file `authdev up` loaded.
	Path string
	// Load reads and validates the file (config.Load with the process's
	// options).
	Load func(path string) (*config.Config, error)
	// Apply makes a new config live; an error leaves the old one running.
	Apply func(*config.Config) error
	// Notify receives what happened, as notices for the TUI and the audit
	// log.
	Notify func(audit.Event)
	// Interval is how often the file is looked at; default one second.
	Interval time.Duration
	// Now stamps the notices; default time.Now.
	Now func() time.Time
	// Settle is how long a changed file must stay the same before it is
	// loaded; default 50ms. Editors and os.WriteFile truncate before they
	// write, and a reload of the half-written file would report a problem
	// the user never made.
	Settle time.Duration
}

// Watcher reloads one config file when its content changes. Polling the
// content, rather than waiting for file events, sees every way editors
// save: in place, rename over, delete and create.
type Watcher struct {
	opts    Options
	current *config.Config
	seen    [sha256.Size]byte // the content last acted on
	missing bool
}

// New returns a watcher of opts.Path whose running config is current.
func New(current *config.Config, opts Options) (*Watcher, error) {
	if opts.Path == "" || opts.Load == nil || opts.Apply == nil || opts.Notify == nil {
		return nil, errors.New("cfgwatch: Path, Load, Apply and Notify are required")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Settle <= 0 {
		opts.Settle = 50 * time.Millisecond
	}
	w := &Watcher{opts: opts, current: current}
	if data, err := os.ReadFile(opts.Path); err == nil {
		w.seen = sha256.Sum256(data)
	}
	return w, nil
}

// Run polls until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Poll()
		}
	}
}

// Poll looks at the file once and reloads it if its content changed since
// the last look that acted. A broken file is reported once, not at every
// poll; fixing it reloads.
func (w *Watcher) Poll() {
	data, err := os.ReadFile(w.opts.Path)
	if err != nil {
		// Editors that save by delete and create leave a moment without a
		// file; only say so once.
		if !w.missing {
			w.missing = true
			w.notify("warn", "config file "+w.opts.Path+" cannot be read ("+err.Error()+"): the running config stays")
		}
		return
	}
	w.missing = false
	sum := sha256.Sum256(data)
	if bytes.Equal(sum[:], w.seen[:]) {
		return
	}
	time.Sleep(w.opts.Settle)
	if again, err := os.ReadFile(w.opts.Path); err != nil || !bytes.Equal(again, data) {
		return // still being written: look again at the next poll
	}
	w.seen = sum
	next, err := w.opts.Load(w.opts.Path)
	if err != nil {
		w.notify("error", "config reload failed, the running config stays: "+oneLine(err.Error()))
		return
	}
	if err := w.opts.Apply(next); err != nil {
		w.notify("error", "config reload could not be applied, the running config stays: "+oneLine(err.Error()))
		return
	}
	what := Diff(w.current, next)
	if what == "" {
		what = "nothing that matters changed"
	}
	w.current = next
	w.notify("info", "config reloaded: "+what)
}

func (w *Watcher) notify(level, msg string) {
	w.opts.Notify(audit.Event{Time: w.opts.Now(), Kind: audit.KindNotice, Level: level, Message: msg})
}

// oneLine joins the lines of a multi-problem config error for a status line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " · ")), " ")
}
