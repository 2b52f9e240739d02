package mockidp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/authdev/authdev/config"
	"github.com/authdev/authdev/internal/state"
)

// KeysStoreKey is where the signing keys of env live in the state store.
// `authdev keys rotate` writes there; a running IdP reads it back.
func KeysStoreKey(env string) string { return "idp/" + env + "/keys" }

// storedKeys is the state-store form of an environment's keys, newest
// first. A retired key stays published until Retired plus the grace period.
type storedKeys struct {
	Keys []storedKey `json:"keys"`
}

type storedKey struct {
	KID     string     `json:"kid"`
	Alg     string     `json:"alg"`
	PEM     string     `json:"pem"`            // PKCS #8
	Cert    string     `json:"cert,omitempty"` // PEM; SAML keys only
	Created time.Time  `json:"created"`
	Retired *time.Time `json:"retired,omitempty"`
}

// signingKey is a parsed key with its signers built once: building a go-jose
// signer per token would cost as much as the claims.
type signingKey struct {
	kid     string
	alg     jose.SignatureAlgorithm
	public  jose.JSONWebKey
	retired time.Time // zero for the active key
	// signers by the typ header they write: "JWT", "at+jwt" and none.
	signers map[string]jose.Signer
}

// keySet is one environment's keys as loaded: immutable, replaced whole on
// rotation so readers need no lock.
type keySet struct {
	raw    []byte
	active *signingKey
	all    []*signingKey
}

// published are the keys a verifier may meet at now: the active key and
// retired keys still within grace.
func (ks *keySet) published(now time.Time, grace time.Duration) []*signingKey {
	out := make([]*signingKey, 0, len(ks.all))
	for _, k := range ks.all {
		if k.retired.IsZero() || now.Before(k.retired.Add(grace)) {
			out = append(out, k)
		}
	}
	return out
}

// KeyGrace is how long a rotated-out key stays in the JWKS: tokens it
// signed live at most one token lifetime, plus five minutes of clock skew
// and caching by relying parties.
func KeyGrace(cfg *config.Config) time.Duration { return cfg.IDP.TokenTTL.D() + 5*time.Minute }

// KeyInfo describes an environment's keys after a rotation.
type KeyInfo struct {
	Env       string
	ActiveKID string
	Alg       string
	// Retired lists keys still published, with the end of their grace.
	Retired []RetiredKey
}

// RetiredKey is a rotated-out key that still verifies until Until.
type RetiredKey struct {
	KID   string
	Until time.Time
}

// RotateStoredKeys publishes a new signing key for env in store, keeping
// the previous ones for the grace period. It works whether or not an IdP is
// running: a running one picks the new keys up from the store.
func RotateStoredKeys(store state.Store, cfg *config.Config, env string, now time.Time) (KeyInfo, error) {
	e, ok := cfg.Environment(env)
	if !ok {
		return KeyInfo{}, cfg.UnknownEnvironment(env)
	}
	priv, err := generateKey(e.Alg)
	if err != nil {
		return KeyInfo{}, err
	}
	nk, err := storedKeyOf(priv, e.Alg, now)
	if err != nil {
		return KeyInfo{}, err
	}
	return publishKey(store, KeysStoreKey(env), env, nk, KeyGrace(cfg), now)
}

// publishKey makes nk the active key at storeKey, retiring the current one
// and forgetting those whose grace has passed.
func publishKey(store state.Store, storeKey, env string, nk storedKey, grace time.Duration, now time.Time) (KeyInfo, error) {
	sk, err := readStoredKeys(store, storeKey)
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return KeyInfo{}, err
	}
	sk = rotate(sk, now, grace)
	sk.Keys = append([]storedKey{nk}, sk.Keys...)
	if err := writeStoredKeys(store, storeKey, sk); err != nil {
		return KeyInfo{}, err
	}
	info := KeyInfo{Env: env, ActiveKID: nk.KID, Alg: nk.Alg}
	for _, k := range sk.Keys[1:] {
		info.Retired = append(info.Retired, RetiredKey{KID: k.KID, Until: k.Retired.Add(grace)})
	}
	return info, nil
}

// rotate retires the active key and forgets keys whose grace has passed.
func rotate(sk storedKeys, now time.Time, grace time.Duration) storedKeys {
	var keep []storedKey
	for _, k := range sk.Keys {
		if k.Retired == nil {
			t := now
			k.Retired = &t
		}
		if now.Before(k.Retired.Add(grace)) {
			keep = append(keep, k)
		}
	}
	return storedKeys{Keys: keep}
}

// loadKeys returns env's keys from the store, generating them the first time
// and rotating when the configured algorithm changed.
func loadKeys(store state.Store, cfg *config.Config, e *config.Environment, now time.Time) (*keySet, error) {
	raw, err := store.Get(KeysStoreKey(e.Name))
	if errors.Is(err, state.ErrNotFound) || err == nil && !activeAlgIs(raw, e.Alg) {
		if _, err := RotateStoredKeys(store, cfg, e.Name, now); err != nil {
			return nil, fmt.Errorf("create signing keys of environment %q: %w", e.Name, err)
		}
		raw, err = store.Get(KeysStoreKey(e.Name))
	}
	if err != nil {
		return nil, fmt.Errorf("read signing keys of environment %q from the %s state store: %w", e.Name, store.Describe(), err)
	}
	return parseKeySet(raw)
}

func activeAlgIs(raw []byte, alg string) bool {
	var sk storedKeys
	if json.Unmarshal(raw, &sk) != nil || len(sk.Keys) == 0 {
		return false
	}
	return sk.Keys[0].Retired == nil && sk.Keys[0].Alg == alg
}

func readStoredKeys(store state.Store, storeKey string) (storedKeys, error) {
	raw, err := store.Get(storeKey)
	if err != nil {
		return storedKeys{}, err
	}
	var sk storedKeys
	if err := json.Unmarshal(raw, &sk); err != nil {
		return storedKeys{}, fmt.Errorf("signing keys %q in the state store are corrupt (%v): delete %q from the store to start over", storeKey, err, storeKey)
	}
	return sk, nil
}

func writeStoredKeys(store state.Store, storeKey string, sk storedKeys) error {
	raw, err := json.Marshal(sk)
	if err != nil {
		return err
	}
	return store.Set(storeKey, raw)
}

// ImportKey makes key (RSA for RS256, P-256 for ES256) the active signing
// key of env in store, retiring the current one as a rotation does: to
// sign with a key one already has, and for tests that cannot wait for RSA
// key generation.
func ImportKey(store state.Store, cfg *config.Config, env string, key crypto.Signer, now time.Time) error {
	alg := "RS256"
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		alg = "ES256"
	}
	nk, err := storedKeyOf(key, alg, now)
	if err != nil {
		return err
	}
	_, err = publishKey(store, KeysStoreKey(env), env, nk, KeyGrace(cfg), now)
	return err
}

// generateKey makes a key for alg. Go's crypto ignores injected randomness
// for key generation, so keys always come from the system's source.
// newStoredKey generates a key for alg, made now, in its stored form.
func newStoredKey(alg string, now time.Time) (storedKey, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return storedKey{}, err
	}
	return storedKeyOf(priv, alg, now)
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "ES256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("signing algorithm %q is not supported: use RS256 or ES256", alg)
}

// storedKeyOf is priv in the state store's form, its kid the RFC 7638
// thumbprint of its public key.
func storedKeyOf(priv crypto.Signer, alg string, now time.Time) (storedKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storedKey{}, err
	}
	jwk := jose.JSONWebKey{Key: priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return storedKey{}, err
	}
	return storedKey{
		KID:     base64.RawURLEncoding.EncodeToString(tp[:12]),
		Alg:     alg,
		PEM:     string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		Created: now.UTC(),
	}, nil
}

func parseKeySet(raw []byte) (*keySet, error) {
	var sk storedKeys
	if err := json.Unmarshal(raw, &sk); err != nil {
		return nil, fmt.Errorf("signing keys in the state store are corrupt: %w", err)
	}
	ks := &keySet{raw: bytes.Clone(raw)}
	for i, k := range sk.Keys {
		parsed, err := parseStoredKey(k)
		if err != nil {
			return nil, err
		}
		if i == 0 && k.Retired == nil {
			ks.active = parsed
		}
		ks.all = append(ks.all, parsed)
	}
	if ks.active == nil {
		return nil, errors.New("no active signing key in the state store: run `authdev keys rotate`")
	}
	return ks, nil
}

func parseStoredKey(k storedKey) (*signingKey, error) {
	block, _ := pem.Decode([]byte(k.PEM))
	if block == nil {
		return nil, fmt.Errorf("signing key %q is not PEM: run `authdev keys rotate`", k.KID)
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing key %q: %w", k.KID, err)
	}
	alg := jose.SignatureAlgorithm(k.Alg)
	switch priv.(type) {
	case *rsa.PrivateKey:
		if alg != jose.RS256 {
			return nil, fmt.Errorf("signing key %q is RSA but marked %s", k.KID, k.Alg)
		}
	case *ecdsa.PrivateKey:
		if alg != jose.ES256 {
			return nil, fmt.Errorf("signing key %q is ECDSA but marked %s", k.KID, k.Alg)
		}
	default:
		return nil, fmt.Errorf("signing key %q has an unsupported type %T", k.KID, priv)
	}
	signer := priv.(crypto.Signer)
	sk := &signingKey{
		kid:    k.KID,
		alg:    alg,
		public: jose.JSONWebKey{Key: signer.Public(), KeyID: k.KID, Algorithm: k.Alg, Use: "sig"},
	}
	if k.Retired != nil {
		sk.retired = *k.Retired
	}
	key := jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: k.KID}}
	sk.signers = map[string]jose.Signer{}
	for _, typ := range []string{"JWT", "at+jwt", ""} {
		opts := &jose.SignerOptions{}
		if typ != "" {
			opts = opts.WithType(jose.ContentType(typ))
		}
		if sk.signers[typ], err = jose.NewSigner(key, opts); err != nil {
			return nil, err
		}
	}
	return sk, nil
}

// leftHalfHash is at_hash of OIDC Core §3.1.3.6: both supported algorithms
// hash with SHA-256.
func leftHalfHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}
