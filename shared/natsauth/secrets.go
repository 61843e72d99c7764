package natsauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/choreo-dev/choreo/shared/natscreds"
	"github.com/nats-io/nkeys"
)

// Lifetimes of what Generate makes. A server certificate with less than
// renewBefore left is made again (the CA stays), so a secure profile that
// is started now and then never meets an expired one.
const (
	caLifetime     = 10 * 365 * 24 * time.Hour
	serverLifetime = 365 * 24 * time.Hour
	renewBefore    = 30 * 24 * time.Hour
)

// ServerHosts are the names the server certificate is valid for: the
// secure profile listens on loopback.
var ServerHosts = []string{"localhost", "127.0.0.1", "::1"}

// Files are the secure profile's files in one directory (data/secure for
// `make run-secure`). Every one of them is written with mode 0600, the
// directory with 0700; none is ever committed.
type Files struct{ Dir string }

// CA is the certificate of the local certificate authority: what clients
// verify the server with (NATS_TLS_CA).
func (f Files) CA() string { return filepath.Join(f.Dir, "ca.pem") }

// CAKey is the CA's private key.
func (f Files) CAKey() string { return filepath.Join(f.Dir, "ca-key.pem") }

// ServerCert is nats-server's certificate, signed by the CA.
func (f Files) ServerCert() string { return filepath.Join(f.Dir, "server.pem") }

// ServerKey is nats-server's private key.
func (f Files) ServerKey() string { return filepath.Join(f.Dir, "server-key.pem") }

// Creds is the nkey seed file of an identity (NATS_CREDS).
func (f Files) Creds(identity string) string { return filepath.Join(f.Dir, identity+".nk") }

// Config is the secure nats-server configuration (WriteConfig).
func (f Files) Config() string { return filepath.Join(f.Dir, "nats.conf") }

// Keys are the public nkeys of the identities, by name: what the server
// configuration lists (the server never holds a private key of a client).
type Keys map[string]string

// Generate makes what is missing in dir for ids: a CA, a server certificate
// for ServerHosts signed by it, and an nkey seed per identity. What exists
// and is valid is kept — the same seeds and CA across runs, so configured
// clients keep working — and a server certificate close to expiry, or not
// signed by the CA, is made again. It returns the identities' public keys.
func Generate(dir string, ids []Identity) (Files, Keys, error) {
	f := Files{Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return f, nil, err
	}
	ca, caKey, err := f.ensureCA()
	if err != nil {
		return f, nil, err
	}
	if err := f.ensureServerCert(ca, caKey); err != nil {
		return f, nil, err
	}
	keys := Keys{}
	for _, id := range ids {
		pub, err := f.ensureSeed(id.Name)
		if err != nil {
			return f, nil, err
		}
		keys[id.Name] = pub
	}
	return f, keys, nil
}

func (f Files) ensureCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, certErr := readCert(f.CA())
	key, keyErr := readKey(f.CAKey())
	if certErr == nil && keyErr == nil && cert.IsCA && key.PublicKey.Equal(cert.PublicKey) && time.Until(cert.NotAfter) > renewBefore {
		return cert, key, nil
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Choreo local CA", Organization: []string{"Choreo"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, key, err := issue(f.CA(), f.CAKey(), tmpl, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	// A new CA: whatever the old one signed goes.
	_ = os.Remove(f.ServerCert())
	return cert, key, nil
}

// issue makes a key and a certificate of tmpl for it, signed by parent
// (self-signed if parent is nil), and writes both.
func issue(certPath, keyPath string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, err
	}
	if err := natscreds.WriteSecret(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func (f Files) ensureServerCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	cert, certErr := readCert(f.ServerCert())
	key, keyErr := readKey(f.ServerKey())
	if certErr == nil && keyErr == nil && key.PublicKey.Equal(cert.PublicKey) && cert.CheckSignatureFrom(ca) == nil &&
		time.Until(cert.NotAfter) > renewBefore && coversHosts(cert) {
		return nil
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "choreo nats-server", Organization: []string{"Choreo"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range ServerHosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	_, _, err := issue(f.ServerCert(), f.ServerKey(), tmpl, ca, caKey)
	return err
}

func coversHosts(cert *x509.Certificate) bool {
	for _, h := range ServerHosts {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// ensureSeed keeps identity's seed file if it holds a user seed, or writes
// a new one, and returns its public key.
func (f Files) ensureSeed(identity string) (string, error) {
	path := f.Creds(identity)
	if b, err := os.ReadFile(path); err == nil {
		if kp, err := nkeys.ParseDecoratedNKey(b); err == nil {
			pub, err := kp.PublicKey()
			kp.Wipe()
			if err == nil && nkeys.IsValidPublicUserKey(pub) && natscreds.Identity(b) == identity {
				return pub, os.Chmod(path, 0o600)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return natscreds.WriteSeed(path, identity)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return n
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an ECDSA key", path)
	}
	return ek, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return natscreds.WriteSecret(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
