package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/authdev/authdev/internal/state"
)

// StoreKey is where the CA lives in the state store: its certificate and
// its PKCS#8 private key, both PEM, in one value so they never drift apart.
const StoreKey = "pki/ca"

// Lifetimes. The CA outlives many laptops' reinstalls; leaves are issued at
// every start, so a short life costs nothing and limits a leaked key.
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 30 * 24 * time.Hour
	// backdate absorbs clock skew between the proxy and its clients.
	backdate = time.Hour
)

// CA is the local certificate authority.
type CA struct {
	Cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// LoadOrCreate returns the CA from store, creating and storing one when the
// store has none. A store that holds something unreadable is an error, never
// replaced, because browsers may already trust the CA it holds.
func LoadOrCreate(store state.Store, now func() time.Time, random io.Reader) (*CA, error) {
	created := false
	raw, err := state.GetOrCreate(store, StoreKey, func() ([]byte, error) {
		created = true
		return newCA(now(), random)
	})
	if err != nil {
		return nil, fmt.Errorf("local CA: %w", err)
	}
	ca, err := parseCA(raw)
	if err != nil {
		if created {
			return nil, err
		}
		return nil, fmt.Errorf("local CA in the state store (%s, key %q) is unreadable: %w: delete that key to create a new CA, then run `authdev ca trust` again", store.Describe(), StoreKey, err)
	}
	return ca, nil
}

// Load returns the CA from store, or state.ErrNotFound when it has none.
// Clients of a running stack use it: they must trust its CA, not make one.
func Load(store state.Store) (*CA, error) {
	raw, err := store.Get(StoreKey)
	if err != nil {
		return nil, err
	}
	return parseCA(raw)
}

func newCA(now time.Time, random io.Reader) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial(random)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization:       []string{"authdev development CA"},
			OrganizationalUnit: []string{"local only: never trust it outside this machine"},
			CommonName:         "authdev local CA " + serial.Text(16)[:8],
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(random, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	return buf.Bytes(), nil
}

func parseCA(raw []byte) (*CA, error) {
	var certDER, keyDER []byte
	for rest := raw; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			certDER = b.Bytes
		case "PRIVATE KEY":
			keyDER = b.Bytes
		}
	}
	if certDER == nil || keyDER == nil {
		return nil, errors.New("want a PEM certificate and a PEM private key")
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("the private key does not belong to the certificate")
	}
	return &CA{Cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})}, nil
}

// CertPEM is the CA certificate, PEM encoded: what `authdev ca print` writes.
func (ca *CA) CertPEM() []byte { return slices.Clone(ca.certPEM) }

// Fingerprint is the SHA-256 of the CA certificate, as browsers show it.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Pool is a certificate pool holding only the CA: for clients of the proxy
// (tests, `authdev as`).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// DefaultNames are the names every leaf covers, so that https://localhost,
// https://127.0.0.1 and https://[::1] all verify.
var defaultNames = []string{"localhost", "127.0.0.1", "::1"}

// Issue returns a TLS certificate for localhost, 127.0.0.1, ::1 and names
// (DNS names or IP addresses), signed by the CA.
func (ca *CA) Issue(names []string, now time.Time, random io.Reader) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), random)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate leaf key: %w", err)
	}
	serial, err := randomSerial(random)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"authdev development certificate"}, CommonName: "localhost"},
		NotBefore:    now.Add(-backdate),
		NotAfter:     earliest(now.Add(leafLifetime), ca.Cert.NotAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range append(slices.Clone(defaultNames), names...) {
		n = strings.TrimSuffix(strings.TrimSpace(n), ".")
		if n == "" {
			continue
		}
		if ip := net.ParseIP(strings.Trim(n, "[]")); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !slices.Contains(tmpl.DNSNames, n) {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(random, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("sign leaf certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: crypto.Signer(key), Leaf: leaf}, nil
}

func randomSerial(random io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(random, b); err != nil {
		return nil, fmt.Errorf("read random serial: %w", err)
	}
	b[0] &= 0x7f // positive, as RFC 5280 requires
	b[0] |= 0x40 // and never short, so the CommonName suffix has 8 digits
	return new(big.Int).SetBytes(b), nil
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
