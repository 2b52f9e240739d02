package mockidp_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/authdev/authdev/mockidp/idptest"
)

// nodeSAML is a running testdata/peer/node-saml.mjs: a strict
// @node-saml/node-saml service provider that keeps its AuthnRequest IDs
// between the request it makes and the responses it is given.
type nodeSAML struct {
	in  io.WriteCloser
	out *bufio.Scanner
}

// nodeSAMLResult is what node-saml made of a response.
type nodeSAMLResult struct {
	OK         bool           `json:"ok"`
	Error      string         `json:"error"`
	NameID     string         `json:"nameID"`
	Issuer     string         `json:"issuer"`
	Attributes map[string]any `json:"attributes"`
	URL        string         `json:"url"`
}

func startNodeSAML(t *testing.T, node string) *nodeSAML {
	t.Helper()
	cmd := exec.Command(node, "node-saml.mjs")
	cmd.Dir = peerDir
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if stderr.Len() > 0 {
			t.Logf("node-saml.mjs stderr:\n%s", stderr.String())
		}
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &nodeSAML{in: in, out: sc}
}

// ask sends msg and reads the peer's answer.
func (p *nodeSAML) ask(t *testing.T, msg any) nodeSAMLResult {
	t.Helper()
	b, _ := json.Marshal(msg)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	if !p.out.Scan() {
		t.Fatalf("node-saml.mjs said nothing: %v", p.out.Err())
	}
	var res nodeSAMLResult
	if err := json.Unmarshal(p.out.Bytes(), &res); err != nil {
		t.Fatalf("node-saml.mjs: %v: %s", err, p.out.Bytes())
	}
	return res
}

// @node-saml/node-saml (under passport-saml, what most Node.js apps log in
// with) in strict mode: response and assertion signed by the certificate of
// authdev's metadata, audience and InResponseTo checked:
// https://github.com/node-saml/node-saml#config-parameter-details
func TestNodeSAMLConsumesTheIdPsResponsesInStrictMode(t *testing.T) {
	node := requireNodePeer(t, "@node-saml/node-saml")
	srv := idptest.NewTestServer(t, idptest.Config(t, samlYAML))
	emailAttr := map[string]string{"dev": "email", "prod": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"}
	for _, env := range []string{"dev", "prod"} {
		t.Run(env, func(t *testing.T) {
			peer := startNodeSAML(t, node)
			start := peer.ask(t, map[string]string{
				"entryPoint": srv.SAMLEndpoints(env).SSO, "issuer": "https://app.example.com/saml",
				"callbackUrl": "https://app.example.com/saml/acs", "idpCert": string(idpCertPEM(t, srv, env)), "relayState": "/from-node",
			})
			if !strings.HasPrefix(start.URL, srv.SAMLEndpoints(env).SSO+"?SAMLRequest=") {
				t.Fatalf("node-saml's AuthnRequest URL is %q", start.URL)
			}
			f := parseSAMLForm(t, get(t, browser(t), start.URL+"&login_hint=alice"))
			if f.RelayState != "/from-node" {
				t.Errorf("RelayState %q came back as %q", "/from-node", f.RelayState)
			}
			got := peer.ask(t, map[string]string{"SAMLResponse": f.SAMLResponse})
			if !got.OK {
				t.Fatalf("node-saml refused authdev's response: %s", got.Error)
			}
			if got.NameID != "alice@example.com" || got.Issuer != srv.SAMLEndpoints(env).Metadata || got.Attributes[emailAttr[env]] != "alice@example.com" {
				t.Fatalf("node-saml read %+v", got)
			}

			if got := peer.ask(t, map[string]string{"SAMLResponse": f.SAMLResponse}); got.OK || !strings.Contains(got.Error, "InResponseTo") {
				t.Fatalf("a replayed response: %+v, want InResponseTo refused", got)
			}
			// node-saml uses the request up even when it refuses the
			// response, so the tampered one answers a login of its own.
			again := peer.ask(t, map[string]string{"relayState": "/again"})
			raw := parseSAMLForm(t, get(t, browser(t), again.URL+"&login_hint=alice")).responseXML(t)
			tampered := base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(raw), "alice@example.com", "bob@example.com")))
			if got := peer.ask(t, map[string]string{"SAMLResponse": tampered}); got.OK || !strings.Contains(got.Error, "signature") {
				t.Fatalf("a tampered response: %+v, want its signature refused", got)
			}
			unsolicited := parseSAMLForm(t, get(t, browser(t), srv.SAMLEndpoints(env).IDPInitiated+"?sp=https://app.example.com/saml&login_hint=alice"))
			if got := peer.ask(t, map[string]string{"SAMLResponse": unsolicited.SAMLResponse}); got.OK || !strings.Contains(got.Error, "InResponseTo") {
				t.Fatalf("an unsolicited response: %+v, want refused by validateInResponseTo: always", got)
			}
		})
	}
}
