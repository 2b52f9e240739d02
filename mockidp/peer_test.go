package mockidp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/authdev/authdev/internal/flavor"
	"github.com/authdev/authdev/internal/pki"
	"github.com/authdev/authdev/mockidp"
)

// peerDir holds the npm peers' package.json and lock; `npm ci` there
// installs them (.ci/run does).
const peerDir = "testdata/peer"

// requireNodePeer finds node and the npm package pkg, skipping with the
// command to run when they are missing outside CI and failing under CI.
func requireNodePeer(t *testing.T, pkg string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(peerDir, "node_modules", pkg, "package.json"))
	}
	if err != nil {
		msg := "node or the npm package " + pkg + " is missing: install Node.js and run `npm ci` in mockidp/" + peerDir + ": " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// aws-jwt-verify is what AWS backends verify Cognito tokens with: its
// validateCognitoJwtFields passes on authdev's cognito access, ID and
// client_credentials tokens, verified over https against the pool's JWKS.
// https://github.com/awslabs/aws-jwt-verify#readme and
// https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
func TestAWSJWTVerifyAcceptsCognitoFlavoredTokens(t *testing.T) {
	node := requireNodePeer(t, "aws-jwt-verify")
	srv, ca, _ := tlsServer(t)
	ts, err := srv.Mint("alice", "cog", mockidp.MintOptions{ClientID: "webapp"})
	if err != nil {
		t.Fatal(err)
	}
	trusting := idpClient(ca)
	cc := clientcredentials.Config{ClientID: "ci", ClientSecret: "ci-secret", TokenURL: srv.Endpoints("cog").Token}
	ct, err := cc.Token(context.WithValue(context.Background(), oauth2.HTTPClient, trusting))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := trusting.Get(srv.Endpoints("cog").JWKS)
	if err != nil {
		t.Fatal(err)
	}
	var jwks map[string]any
	decodeJSON(t, resp, &jwks)
	env, _ := srv.Config().Environment("cog")
	job, _ := json.Marshal(map[string]any{
		"issuer": srv.Issuer("cog"), "jwksUri": srv.Endpoints("cog").JWKS, "userPoolId": flavor.CognitoUserPool(env),
		"clientId": "webapp", "serviceClientId": "ci", "groups": []string{"eng-admins"},
		"access": ts.AccessToken, "id": ts.IDToken, "client": ct.AccessToken, "jwks": jwks,
	})
	var res map[string]struct {
		OK    bool
		Value any
		Error string
	}
	runNodePeer(t, node, "cognito.mjs", ca, job, &res)
	for name, want := range map[string]any{"access": "alice", "id": "alice", "client_credentials": "ci"} {
		if r := res[name]; !r.OK || r.Value != want {
			t.Errorf("%s token: %+v, want accepted for %v", name, r, want)
		}
	}
	for name, why := range map[string]string{"access_as_id": "Token use", "wrong_client": "Client ID", "wrong_group": "group"} {
		if r := res[name]; r.OK || !strings.Contains(r.Error, why) {
			t.Errorf("%s: %+v, want refused for %s", name, r, why)
		}
	}
	// Not reproduced: the host. CognitoJwtVerifier insists on AWS's issuer.
	if r := res["cognito_verifier"]; r.OK || !strings.Contains(r.Error, "issuer not configured") {
		t.Errorf("CognitoJwtVerifier: %+v, want the issuer on AWS's host refused", r)
	}
}

// runNodePeer runs script in the peer folder with job on stdin, trusting
// authdev's CA, and decodes what it prints into res.
func runNodePeer(t *testing.T, node, script string, ca *pki.CA, job []byte, res any) {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Dir = peerDir
	cmd.Env = append(os.Environ(), "NODE_EXTRA_CA_CERTS="+caFile)
	cmd.Stdin = bytes.NewReader(job)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(out, res); err != nil {
		t.Fatalf("node %s: %v: %s", script, err, out)
	}
}

// openid-client (panva) discovers every flavor's issuer over https with
// the local CA, by RFC 8414's path-inserted metadata as an OAuth-only
// client and by OpenID Connect Discovery, and gets and introspects a
// client_credentials token from what it found.
// https://github.com/panva/openid-client/blob/v6.x/docs/functions/discovery.md
func TestOpenIDClientDiscoversEveryIssuerOverTLS(t *testing.T) {
	node := requireNodePeer(t, "openid-client")
	srv, ca, _ := tlsServer(t)
	var issuers []string
	for _, env := range []string{"dev", "okta", "prod", "kc", "cog", "a0", "fs"} {
		issuers = append(issuers, srv.Issuer(env))
	}
	job, _ := json.Marshal(map[string]any{"issuers": issuers, "clientId": "ci", "clientSecret": "ci-secret"})
	var res map[string]struct {
		OK     bool
		Issuer string
		Active bool
		Error  string
	}
	runNodePeer(t, node, "openid.mjs", ca, job, &res)
	for _, iss := range issuers {
		for _, alg := range []string{"oauth2", "oidc"} {
			if r := res[alg+" "+iss]; !r.OK || r.Issuer != iss || !r.Active {
				t.Errorf("openid-client %s discovery of %s: %+v", alg, iss, r)
			}
		}
	}
}
