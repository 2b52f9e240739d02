package mockidp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// SAMLKeysStoreKey is where the SAML signing keys of env live in the state
// store, beside the OIDC keys and rotated the same way.
func SAMLKeysStoreKey(env string) string { return "idp/" + env + "/saml-keys" }

// samlCertLifetime is the validity of the self-signed certificates the
// metadata publishes. SAML SPs pin the certificate, not a CA, so its dates
// matter only to SPs that check them; rotation replaces the key.
const samlCertLifetime = 10 * 365 * 24 * time.Hour

// samlKey is a parsed SAML signing key and its certificate.
type samlKey struct {
	kid     string
	key     *rsa.PrivateKey
	cert    *x509.Certificate
	retired time.Time
}

// samlKeySet is one environment's SAML keys as loaded, newest first.
type samlKeySet struct {
	raw    []byte
	active *samlKey
	all    []*samlKey
}

// published are the certificates a service provider may meet at now.
func (ks *samlKeySet) published(now time.Time, grace time.Duration) []*x509.Certificate {
	var out []*x509.Certificate
	for _, k := range ks.all {
		if k != ks.active && (k.retired.IsZero() || now.Before(k.retired.Add(grace))) {
			out = append(out, k.cert)
		}
	}
	return out
}

// RotateStoredSAMLKeys publishes a new SAML signing key and certificate for
// env in store; metadata keeps the previous certificate for the grace
// period, as the JWKS does for OIDC keys.
func RotateStoredSAMLKeys(store state.Store, cfg *config.Config, env string, now time.Time) (KeyInfo, error) {
	if _, ok := cfg.Environment(env); !ok {
		return KeyInfo{}, fmt.Errorf("unknown environment %q: use one of %v", env, cfg.EnvironmentNames())
	}
	nk, err := newSAMLKey(env, now)
	if err != nil {
		return KeyInfo{}, err
	}
	return publishKey(store, SAMLKeysStoreKey(env), env, nk, KeyGrace(cfg), now)
}

// newSAMLKey is an RSA key (SAML signs with RSA-SHA256) with a self-signed
// certificate naming the environment.
func newSAMLKey(env string, now time.Time) (storedKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return storedKey{}, err
	}
	k, err := storedKeyOf(priv, "RS256", now)
	if err != nil {
		return storedKey{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return storedKey{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "authdev SAML IdP " + env, Organization: []string{"authdev"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(samlCertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return storedKey{}, err
	}
	k.Cert = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return k, nil
}

func parseSAMLPrivateKey(k storedKey) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(k.PEM))
	if block == nil {
		return nil, fmt.Errorf("SAML signing key %q is not PEM: run `authdev keys rotate`", k.KID)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("SAML signing key %q: %w", k.KID, err)
	}
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("SAML signing key %q is %T, not RSA: run `authdev keys rotate`", k.KID, priv)
	}
	return rk, nil
}

func parseSAMLKeySet(raw []byte) (*samlKeySet, error) {
	var sk storedKeys
	if err := json.Unmarshal(raw, &sk); err != nil {
		return nil, fmt.Errorf("SAML signing keys in the state store are corrupt: %w", err)
	}
	ks := &samlKeySet{raw: bytes.Clone(raw)}
	for i, k := range sk.Keys {
		priv, err := parseSAMLPrivateKey(k)
		if err != nil {
			return nil, err
		}
		block, _ := pem.Decode([]byte(k.Cert))
		if block == nil {
			return nil, fmt.Errorf("SAML signing key %q has no certificate: run `authdev keys rotate`", k.KID)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("SAML certificate of key %q: %w", k.KID, err)
		}
		parsed := &samlKey{kid: k.KID, key: priv, cert: cert}
		if k.Retired != nil {
			parsed.retired = *k.Retired
		}
		if i == 0 && k.Retired == nil {
			ks.active = parsed
		}
		ks.all = append(ks.all, parsed)
	}
	if ks.active == nil {
		return nil, errors.New("no active SAML signing key in the state store: run `authdev keys rotate`")
	}
	return ks, nil
}

// samlKeys returns env's SAML keys, creating them at the first SAML request:
// environments that never speak SAML pay nothing for an RSA key at start.
func (s *Server) samlKeys(es *envState) (*samlKeySet, error) {
	if ks := es.saml.Load(); ks != nil {
		return ks, nil
	}
	es.samlMu.Lock()
	defer es.samlMu.Unlock()
	if ks := es.saml.Load(); ks != nil {
		return ks, nil
	}
	name := es.cfg.Name
	raw, err := s.store.Get(SAMLKeysStoreKey(name))
	if errors.Is(err, state.ErrNotFound) {
		if _, err = RotateStoredSAMLKeys(s.store, s.cfg, name, s.now()); err != nil {
			return nil, fmt.Errorf("create SAML signing keys of environment %q: %w", name, err)
		}
		raw, err = s.store.Get(SAMLKeysStoreKey(name))
	}
	if err != nil {
		return nil, fmt.Errorf("read SAML signing keys of environment %q from the %s state store: %w", name, s.store.Describe(), err)
	}
	ks, err := parseSAMLKeySet(raw)
	if err != nil {
		return nil, err
	}
	es.saml.Store(ks)
	return ks, nil
}

// reloadSAMLKeys takes a rotation done elsewhere; environments whose SAML
// keys were never loaded load them at their first SAML request.
func (s *Server) reloadSAMLKeys(es *envState) (changed bool, err error) {
	old := es.saml.Load()
	if old == nil {
		return false, nil
	}
	raw, err := s.store.Get(SAMLKeysStoreKey(es.cfg.Name))
	if err != nil || bytes.Equal(raw, old.raw) {
		return false, err
	}
	ks, err := parseSAMLKeySet(raw)
	if err != nil {
		return false, err
	}
	es.saml.Store(ks)
	return true, nil
}
