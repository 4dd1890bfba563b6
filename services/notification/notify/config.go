package notify

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"os"
	"time"

	"github.com/opencommerce/opencommerce/internal/natsx"
)

// Config configures the notification service. The SMTP flags are
// smtp.* (compose and Nomad set OC_SMTP_ADDR), the rest notification.*.
type Config struct {
	// SMTPAddr is the SMTP server host:port (smtp.addr).
	SMTPAddr string
	// From is the sender (smtp.from), "Name <addr>" or "addr".
	From string
	// SMTPUsername and SMTPPassword enable PLAIN auth when set (only over
	// TLS or to localhost, as net/smtp allows).
	SMTPUsername, SMTPPassword string
	// SMTPTLS is how the SMTP session is protected (smtp.tls): "auto"
	// (STARTTLS when the server offers it), "starttls" (required: a server
	// that does not offer it gets no email), "tls" (implicit TLS, as on
	// port 465) or "none". Certificates are always verified, against the
	// system roots plus SMTPCAFile.
	SMTPTLS string
	// SMTPCAFile is a PEM file of extra certificate authorities to trust
	// for the SMTP server (smtp.ca-file), e.g. a private CA.
	SMTPCAFile string
	// SMTPTimeout bounds one SMTP exchange (connect, or one message).
	SMTPTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff between attempts
	// of an email the SMTP server did not take (smtp.retry-min,
	// smtp.retry-max). Transient failures are retried forever; a permanent
	// refusal (5xx) is recorded as failed.
	RetryMin, RetryMax time.Duration
	// PollInterval is how often the email and push workers look for work
	// they were not woken for (other instances' rows, due retries).
	PollInterval time.Duration
	// ShopURL is the storefront base URL used in email links.
	ShopURL string
	// UnsubscribeKey signs one-click unsubscribe links
	// (notification.unsubscribe-key, base64 of ≥ 32 bytes); empty uses a
	// key made once and kept in the service's database.
	UnsubscribeKey string
	// Retention is how long a notification is kept, read or not
	// (notification.retention; 0 keeps them for ever).
	Retention time.Duration
	// EmailRetention is how long a sent, failed or skipped email is kept
	// after it was sent or given up (notification.email-retention; 0 for
	// ever). Pending emails are never
	// deleted.
	EmailRetention time.Duration
	// RetentionInterval is how often the retention sweep runs
	// (notification.retention-interval).
	RetentionInterval time.Duration
	// NATS names the streams and subjects; set from natsx.Config.Scheme()
	// (not a flag).
	NATS natsx.Scheme
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	return Config{
		SMTPAddr:     "127.0.0.1:1025",
		From:         "OpenCommerce <no-reply@opencommerce.local>",
		SMTPTLS:      "auto",
		SMTPTimeout:  30 * time.Second,
		RetryMin:     time.Second,
		RetryMax:     5 * time.Minute,
		PollInterval: time.Second,
		ShopURL:      "http://localhost:8080",

		Retention:         90 * 24 * time.Hour,
		EmailRetention:    30 * 24 * time.Hour,
		RetentionInterval: time.Hour,
	}
}

// RegisterFlags registers the service's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	fs.StringVar(&c.SMTPAddr, "smtp.addr", d.SMTPAddr, "SMTP server host:port for notification emails")
	fs.StringVar(&c.From, "smtp.from", d.From, "sender of notification emails")
	fs.StringVar(&c.SMTPUsername, "smtp.username", "", "SMTP PLAIN auth user (empty: no auth)")
	fs.StringVar(&c.SMTPPassword, "smtp.password", "", "SMTP PLAIN auth password")
	fs.StringVar(&c.SMTPTLS, "smtp.tls", d.SMTPTLS, "SMTP transport security: auto (STARTTLS when offered), starttls (required), tls (implicit, port 465) or none")
	fs.StringVar(&c.SMTPCAFile, "smtp.ca-file", "", "PEM file of extra CAs to trust for the SMTP server's certificate")
	fs.DurationVar(&c.SMTPTimeout, "smtp.timeout", d.SMTPTimeout, "bound of one SMTP exchange")
	fs.DurationVar(&c.RetryMin, "smtp.retry-min", d.RetryMin, "first delay before an email is retried (doubles per attempt)")
	fs.DurationVar(&c.RetryMax, "smtp.retry-max", d.RetryMax, "longest delay between attempts of an email")
	fs.DurationVar(&c.PollInterval, "notification.poll-interval", d.PollInterval, "how often the email and push outboxes are polled besides wake-ups")
	fs.StringVar(&c.ShopURL, "notification.shop-url", d.ShopURL, "storefront base URL used in email links")
	fs.StringVar(&c.UnsubscribeKey, "notification.unsubscribe-key", "", "base64 of 32+ random bytes signing one-click unsubscribe links (empty: a key kept in the notification database)")
	fs.DurationVar(&c.Retention, "notification.retention", d.Retention, "how long notifications are kept (0: for ever)")
	fs.DurationVar(&c.EmailRetention, "notification.email-retention", d.EmailRetention, "how long sent, failed and skipped emails are kept (0: for ever; pending ones always are)")
	fs.DurationVar(&c.RetentionInterval, "notification.retention-interval", d.RetentionInterval, "how often old notifications and emails are deleted")
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
		return fmt.Errorf("smtp.addr %q: %v", c.SMTPAddr, err)
	}
	if c.UnsubscribeKey != "" {
		if _, err := decodeUnsubscribeKey(c.UnsubscribeKey); err != nil {
			return err
		}
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp.from %q: %v", c.From, err)
	}
	switch c.SMTPTLS {
	case "auto", "starttls", "tls", "none":
	default:
		return fmt.Errorf("smtp.tls %q: want auto, starttls, tls or none", c.SMTPTLS)
	}
	if c.SMTPCAFile != "" {
		if _, err := c.tlsRoots(); err != nil {
			return err
		}
	}
	switch {
	case c.SMTPTimeout <= 0:
		return errors.New("smtp.timeout must be positive")
	case c.RetryMin <= 0 || c.RetryMax < c.RetryMin:
		return errors.New("smtp.retry-min must be positive and not above smtp.retry-max")
	case c.PollInterval <= 0:
		return errors.New("notification.poll-interval must be positive")
	case c.Retention < 0 || c.EmailRetention < 0:
		return errors.New("notification.retention and notification.email-retention must not be negative (0 keeps for ever)")
	case c.RetentionInterval <= 0:
		return errors.New("notification.retention-interval must be positive")
	}
	return nil
}

// tlsRoots is the system pool plus the certificates of SMTPCAFile.
func (c Config) tlsRoots() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if c.SMTPCAFile == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(c.SMTPCAFile)
	if err != nil {
		return nil, fmt.Errorf("smtp.ca-file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("smtp.ca-file %s: no PEM certificate in it", c.SMTPCAFile)
	}
	return pool, nil
}
