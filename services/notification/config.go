package notification

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
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
	// Retention is how long a notification is kept, read or not
	// (notification.retention; 0 keeps them for ever).
	Retention time.Duration
	// EmailRetention is how long a sent, failed or skipped email is kept
	// (notification.email-retention; 0 for ever). Pending emails are never
	// deleted.
	EmailRetention time.Duration
	// RetentionInterval is how often the retention sweep runs
	// (notification.retention-interval).
	RetentionInterval time.Duration
	// MirrorEvents mirrors every RabbitMQ event to NATS events.<type>
	// (notification.mirror-events).
	MirrorEvents bool
	// NATS names the streams and subjects; set from natsx.Config.Scheme()
	// (not a flag).
	NATS natsx.Scheme
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	return Config{
		SMTPAddr:     "127.0.0.1:1025",
		From:         "OpenCommerce <no-reply@opencommerce.local>",
		SMTPTimeout:  30 * time.Second,
		RetryMin:     time.Second,
		RetryMax:     5 * time.Minute,
		PollInterval: time.Second,
		ShopURL:      "http://localhost:8080",
		MirrorEvents: true,

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
	fs.DurationVar(&c.SMTPTimeout, "smtp.timeout", d.SMTPTimeout, "bound of one SMTP exchange")
	fs.DurationVar(&c.RetryMin, "smtp.retry-min", d.RetryMin, "first delay before an email is retried (doubles per attempt)")
	fs.DurationVar(&c.RetryMax, "smtp.retry-max", d.RetryMax, "longest delay between attempts of an email")
	fs.DurationVar(&c.PollInterval, "notification.poll-interval", d.PollInterval, "how often the email and push outboxes are polled besides wake-ups")
	fs.StringVar(&c.ShopURL, "notification.shop-url", d.ShopURL, "storefront base URL used in email links")
	fs.DurationVar(&c.Retention, "notification.retention", d.Retention, "how long notifications are kept (0: for ever)")
	fs.DurationVar(&c.EmailRetention, "notification.email-retention", d.EmailRetention, "how long sent, failed and skipped emails are kept (0: for ever; pending ones always are)")
	fs.DurationVar(&c.RetentionInterval, "notification.retention-interval", d.RetentionInterval, "how often old notifications and emails are deleted")
	fs.BoolVar(&c.MirrorEvents, "notification.mirror-events", d.MirrorEvents, "mirror every RabbitMQ event to NATS events.<type> for edge consumers")
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
		return fmt.Errorf("smtp.addr %q: %v", c.SMTPAddr, err)
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp.from %q: %v", c.From, err)
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
