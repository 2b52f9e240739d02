package testkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RequirePeer finds an independent implementation a test runs against, at
// path: missing, the test is skipped saying how to install it (install),
// except under CI=true, where .ci/run installs it and the test fails.
func RequirePeer(t testing.TB, path, install string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI=true): run .ci/run, which installs it", path)
		}
		t.Skipf("%s is missing: %s, or run .ci/run", path, install)
	}
	return path
}

// XMLSec1Verify runs `xmlsec1 --verify` on the SAML message doc, trusting
// only certPEM: the signature it verifies is the first it finds, whose
// Reference names the ID of a Response, an Assertion or an AuthnRequest.
func XMLSec1Verify(t testing.TB, doc, certPEM []byte) (string, error) {
	t.Helper()
	bin := RequirePeer(t, "/usr/bin/xmlsec1", "apt-get install xmlsec1")
	dir := t.TempDir()
	docPath, certPath := filepath.Join(dir, "doc.xml"), filepath.Join(dir, "signer.crt")
	WriteFiles(t, dir, map[string]string{"doc.xml": string(doc), "signer.crt": string(certPEM)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--verify", "--pubkey-cert-pem", certPath,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest", docPath).CombinedOutput()
	return string(out), err
}
