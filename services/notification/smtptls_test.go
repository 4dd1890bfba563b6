package notification_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/notification"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; the
// certificate doubles as the CA file.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestEmailOverTLS: with a server that requires STARTTLS, or implicit TLS,
// the welcome email arrives over the protected session.
func TestEmailOverTLS(t *testing.T) {
	t.Parallel()
	cert, key := selfSigned(t)
	for _, tc := range []struct{ mode, mailpitFlag string }{
		{"starttls", "--smtp-require-starttls"},
		{"auto", "--smtp-require-starttls"},
		{"tls", "--smtp-require-tls"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			mp := startMailpit(t, "", "--smtp-tls-cert", cert, "--smtp-tls-key", key, tc.mailpitFlag)
			h := startNATS(t, mp.SMTP, func(c *notification.Config) { c.SMTPTLS, c.SMTPCAFile = tc.mode, cert })
			_, email := register(h, "customer")
			testenv.Eventually(t, "the welcome email over TLS", func() bool { return len(to(mp.messages(t), email)) == 1 })
		})
	}
}

// TestEmailTLSRefusals: an email is not sent in clear to a server that
// does not offer STARTTLS when it is required, nor to a server whose
// certificate is not trusted; it waits in the outbox with the reason.
func TestEmailTLSRefusals(t *testing.T) {
	t.Parallel()
	cert, key := selfSigned(t)
	for _, tc := range []struct {
		name, mode string
		mailpit    []string
		reason     string
	}{
		{"starttls required, not offered", "starttls", nil, "does not offer STARTTLS"},
		{"untrusted certificate", "auto", []string{"--smtp-tls-cert", cert, "--smtp-tls-key", key}, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mp := startMailpit(t, "", tc.mailpit...)
			h := startNATS(t, mp.SMTP, func(c *notification.Config) { c.SMTPTLS = tc.mode }) // no CA file
			_, email := register(h, "customer")
			var lastErr string
			testenv.Eventually(t, "a failed attempt", func() bool {
				_ = h.svc.Pool().QueryRow(context.Background(),
					`SELECT last_error FROM emails WHERE to_addr = $1 AND status = 'pending' AND attempts >= 1`, email).Scan(&lastErr)
				return lastErr != ""
			})
			if !strings.Contains(lastErr, tc.reason) {
				t.Fatalf("last_error %q, want it to mention %q", lastErr, tc.reason)
			}
			if n := len(to(mp.messages(t), email)); n != 0 {
				t.Fatalf("%d emails delivered despite the refusal", n)
			}
		})
	}
}

func TestSMTPTLSConfigChecked(t *testing.T) {
	c := notification.DefaultConfig()
	c.SMTPTLS = "ssl"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "smtp.tls") {
		t.Errorf("smtp.tls=ssl: %v", err)
	}
	c = notification.DefaultConfig()
	c.SMTPCAFile = filepath.Join(t.TempDir(), "missing.pem")
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "smtp.ca-file") {
		t.Errorf("missing CA file: %v", err)
	}
}

// refusingSMTP is an SMTP server that offers STARTTLS and then refuses it
// with a 5xx.
func refusingSMTP(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tp := textproto.NewConn(c)
				_ = tp.PrintfLine("220 fake ESMTP")
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
					case "EHLO", "HELO":
						_ = tp.PrintfLine("250-fake")
						_ = tp.PrintfLine("250 STARTTLS")
					case "STARTTLS":
						_ = tp.PrintfLine("554 5.7.0 TLS not available today")
					case "QUIT":
						_ = tp.PrintfLine("221 bye")
						return
					default:
						_ = tp.PrintfLine("502 unknown")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSessionRefusalIsRetried: a 5xx while opening the session (here to
// STARTTLS) says nothing about the message; the email stays pending and
// is tried again instead of being marked failed for good.
func TestSessionRefusalIsRetried(t *testing.T) {
	t.Parallel()
	h := startNATS(t, refusingSMTP(t), func(c *notification.Config) { c.SMTPTLS = "starttls" })
	_, email := register(h, "customer")
	var status, lastErr string
	testenv.Eventually(t, "two refused attempts", func() bool {
		var attempts int
		_ = h.svc.Pool().QueryRow(context.Background(),
			`SELECT status, attempts, last_error FROM emails WHERE to_addr = $1`, email).Scan(&status, &attempts, &lastErr)
		return status != "" && (status != "pending" || attempts >= 2)
	})
	if status != "pending" || !strings.Contains(lastErr, "554") {
		t.Fatalf("after a refused STARTTLS: status %q, last_error %q; want pending with the server's answer", status, lastErr)
	}
}
