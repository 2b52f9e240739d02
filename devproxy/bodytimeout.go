package devproxy

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// DefaultRequestTimeout is how long a client may take to send a request
// body unless Options.RequestTimeout says otherwise.
const DefaultRequestTimeout = 30 * time.Second

// errBodyTimeout is the failure of a request whose body did not arrive in
// time.
var errBodyTimeout = errors.New("request body timeout")

// limitBody gives the client the request timeout to send r's body: one
// that trickles in (slowloris) would otherwise hold a connection and an
// upstream request for as long as the client likes. The deadline is the
// connection's (the stream's under HTTP/2), in real time whatever the
// proxy's clock, and the server resets it for the next request.
func (p *Proxy) limitBody(w http.ResponseWriter, r *http.Request, st *reqState) {
	if err := http.NewResponseController(w).SetReadDeadline(time.Now().Add(p.reqTimeout)); err != nil {
		return
	}
	st.reqBody = deadlineBody{ReadCloser: r.Body}
	r.Body = &st.reqBody
}

// deadlineBody notes that the request body's deadline passed, so that the
// failed upstream request is answered 408 rather than as the upstream's
// fault.
type deadlineBody struct {
	io.ReadCloser
	timedOut atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		b.timedOut.Store(true)
	}
	return n, err
}
