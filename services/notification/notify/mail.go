package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The mailer sends the emails table's pending rows over SMTP.
//
// Delivery contract: every pending row is sent until the SMTP server
// accepts it (transient failures — connection refused, timeouts, 4xx — are
// retried forever with exponential backoff between smtp.retry-min and
// smtp.retry-max; a 5xx refusal marks the row failed, recorded with the
// server's answer). A row is claimed by moving its next_attempt_at one
// lease ahead (FOR UPDATE SKIP LOCKED), so concurrent instances never send
// the same row at the same time, and marked sent right after the server
// accepted the DATA.
//
// Transport security follows smtp.tls: STARTTLS whenever the server offers
// it (auto, the default), required (starttls: a server without it gets no
// email, the row waits with the reason), implicit TLS (tls) or none. The
// server's certificate is always verified (system roots plus
// smtp.ca-file); an untrusted one is a transient failure with the reason
// recorded, never a fallback to clear text.
//
// The one at-least-once corner: if the process dies (or the database is
// unreachable for the whole lease) after the SMTP server accepted a message
// and before the "sent" mark commits, the row is sent again after its lease.
// The window is one UPDATE round trip (the mark is retried in memory for
// the lease before giving up); both copies carry the same Message-ID
// (<row id@sender domain>), which lets mail systems and clients recognise
// the duplicate.
type mailer struct {
	c      *Core
	domain string
	from   string // bare address for MAIL FROM
	lease  time.Duration

	client *smtp.Client
	conn   net.Conn
	tls    *tls.Config // nil with smtp.tls=none

	// down is set by the first failed attempt of an outage and cleared by
	// the next success: an outage logs one warning and its end one line,
	// not a line per email per retry (the metrics count every attempt).
	// Only the run goroutine touches it.
	down bool
}

func newMailer(c *Core) (*mailer, error) {
	addr, err := mail.ParseAddress(c.cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp.from: %w", err)
	}
	domain := "opencommerce.local"
	if i := strings.LastIndexByte(addr.Address, '@'); i >= 0 && i < len(addr.Address)-1 {
		domain = addr.Address[i+1:]
	}
	lease := 4 * c.cfg.SMTPTimeout
	if lease < time.Minute {
		lease = time.Minute
	}
	m := &mailer{c: c, domain: domain, from: addr.Address, lease: lease}
	if c.cfg.SMTPTLS != "none" {
		roots, err := c.cfg.tlsRoots()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(c.cfg.SMTPAddr)
		m.tls = &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return m, nil
}

// dial opens the SMTP session: TCP (or TLS with smtp.tls=tls), greeting,
// EHLO, STARTTLS as smtp.tls asks, then AUTH when configured.
func (m *mailer) dial() (*smtp.Client, net.Conn, error) {
	cfg := m.c.cfg
	d := &net.Dialer{Timeout: cfg.SMTPTimeout}
	var conn net.Conn
	var err error
	if cfg.SMTPTLS == "tls" {
		conn, err = tls.DialWithDialer(d, "tcp", cfg.SMTPAddr, m.tls)
	} else {
		conn, err = d.Dial("tcp", cfg.SMTPAddr)
	}
	if err != nil {
		return nil, nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(cfg.SMTPTimeout))
	host, _, _ := net.SplitHostPort(cfg.SMTPAddr)
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	fail := func(err error) (*smtp.Client, net.Conn, error) {
		_ = cl.Close()
		return nil, nil, err
	}
	if err := cl.Hello(m.domain); err != nil {
		return fail(err)
	}
	if cfg.SMTPTLS == "auto" || cfg.SMTPTLS == "starttls" {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(m.tls); err != nil {
				return fail(fmt.Errorf("smtp STARTTLS with %s: %w", cfg.SMTPAddr, err))
			}
		} else if cfg.SMTPTLS == "starttls" {
			return fail(fmt.Errorf("smtp server %s does not offer STARTTLS, which smtp.tls=starttls requires", cfg.SMTPAddr))
		}
	}
	if cfg.SMTPUsername != "" {
		if err := cl.Auth(smtp.PlainAuth("", cfg.SMTPUsername, cfg.SMTPPassword, host)); err != nil {
			return fail(err)
		}
	}
	return cl, conn, nil
}

// Outgoing is an email claimed for sending (Store.ClaimEmail).
type Outgoing struct {
	ID       uuid.UUID
	UserID   uuid.UUID
	Kind     string
	To       string
	Subject  string
	Text     string
	HTML     string
	Attempts int
	Created  time.Time
}

// run sends due emails until ctx ends.
func (m *mailer) run(ctx context.Context) {
	t := time.NewTicker(m.c.cfg.PollInterval)
	defer t.Stop()
	defer m.closeClient()
	for {
		for ctx.Err() == nil {
			sent, err := m.sendOne(ctx)
			if err != nil {
				if ctx.Err() == nil {
					m.c.log.Warn("mailer", "err", err)
				}
				break
			}
			if !sent {
				break
			}
		}
		m.closeClient() // do not hold an idle SMTP session
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.c.wakeMail:
		}
	}
}

// sendOne claims one due email and tries it; it reports whether there was
// one.
func (m *mailer) sendOne(ctx context.Context) (bool, error) {
	o, ok, err := m.c.store.ClaimEmail(ctx, m.lease)
	if err != nil {
		return false, fmt.Errorf("claim email: %w", err)
	}
	if !ok {
		return false, nil
	}
	sendErr := m.send(o)
	if sendErr == nil {
		if m.down {
			m.down = false
			m.c.log.Info("SMTP server answers again; sending the emails that waited", "smtp", m.c.cfg.SMTPAddr)
		}
		m.markSent(ctx, o.ID)
		return true, nil
	}
	var tp *textproto.Error
	if errors.As(sendErr, &tp) && tp.Code >= 500 {
		err = m.c.store.EmailFailed(ctx, o.ID, truncate(sendErr.Error()))
		m.c.m.emails.WithLabelValues("failed").Inc()
		m.c.log.Error("email refused by the SMTP server", "id", o.ID, "err", sendErr)
		return true, err
	}
	delay := backoff(m.c.cfg.RetryMin, m.c.cfg.RetryMax, o.Attempts)
	err = m.c.store.EmailRetry(ctx, o.ID, delay, truncate(sendErr.Error()))
	m.c.m.emails.WithLabelValues("retry").Inc()
	if !m.down {
		m.down = true
		m.c.log.Warn("SMTP server unavailable; emails wait in the outbox and are retried until it answers (one line per outage)",
			"smtp", m.c.cfg.SMTPAddr, "err", sendErr)
	}
	m.c.log.Debug("email not sent; will retry", "id", o.ID, "attempt", o.Attempts, "in", delay, "err", sendErr)
	if err != nil {
		return false, err
	}
	// The server is likely away: stop this round, the ticker brings us back.
	return false, nil
}

// markSent records the SMTP server's acceptance, retrying a failing
// database for up to the lease (past it the row would be claimed again).
func (m *mailer) markSent(ctx context.Context, id uuid.UUID) {
	deadline := time.Now().Add(m.lease - time.Second)
	wait := 50 * time.Millisecond
	for {
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err := m.c.store.EmailSent(mctx, id)
		cancel()
		if err == nil {
			m.c.m.emails.WithLabelValues("sent").Inc()
			return
		}
		if time.Now().After(deadline) {
			m.c.log.Error("email sent but not marked; it will be sent again", "id", id, "err", err)
			return
		}
		m.c.log.Warn("mark email sent", "id", id, "err", err)
		time.Sleep(wait)
		wait = min(wait*2, 2*time.Second)
	}
}

// backoff is the delay before attempt+1: min·2^(attempt-1), capped at max,
// with up to 20% jitter so instances do not retry in step.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func truncate(s string) string {
	if len(s) > 1000 {
		return s[:1000]
	}
	return s
}

func (m *mailer) closeClient() {
	if m.client != nil {
		_ = m.client.Quit()
		_ = m.client.Close()
	}
	m.client, m.conn = nil, nil
}

// send delivers o over the (reused) SMTP session. nil means the server
// accepted the message.
func (m *mailer) send(o Outgoing) (err error) {
	cfg := m.c.cfg
	if m.client == nil {
		cl, conn, err := m.dial()
		if err != nil {
			// A refusal while opening the session (EHLO, STARTTLS, AUTH) is
			// about the server or our settings, not this message: %v keeps
			// its 5xx from marking the email failed; it is retried.
			return fmt.Errorf("smtp session with %s: %v", cfg.SMTPAddr, err)
		}
		m.client, m.conn = cl, conn
	} else if err := m.client.Reset(); err != nil {
		m.closeClient()
		return m.send(o)
	}
	defer func() {
		if err != nil {
			var tp *textproto.Error
			if !errors.As(err, &tp) { // the session is unusable
				_ = m.client.Close()
				m.client, m.conn = nil, nil
			}
		}
	}()
	_ = m.conn.SetDeadline(time.Now().Add(cfg.SMTPTimeout))
	msg, err := m.build(o)
	if err != nil {
		return err
	}
	if err := m.client.Mail(m.from); err != nil {
		return err
	}
	if err := m.client.Rcpt(o.To); err != nil {
		return err
	}
	w, err := m.client.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close() // the server's answer to the end of DATA
}

// MessageID is the Message-ID header value of email row id.
func messageID(id uuid.UUID, domain string) string { return "<" + id.String() + "@" + domain + ">" }

// build renders the RFC 5322 message: multipart/alternative with the
// plain-text and HTML bodies, quoted-printable UTF-8. An email of a
// notification kind carries the one-click unsubscribe of RFC 8058
// (List-Unsubscribe + List-Unsubscribe-Post) and the same link in its
// footer.
func (m *mailer) build(o Outgoing) ([]byte, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	hdr := func(k, v string) { buf.WriteString(k + ": " + v + "\r\n") }
	hdr("From", m.c.cfg.From)
	hdr("To", o.To)
	hdr("Subject", mime.QEncoding.Encode("utf-8", o.Subject))
	hdr("Date", o.Created.Format(time.RFC1123Z))
	hdr("Message-ID", messageID(o.ID, m.domain))
	if knownKind(o.Kind) && o.UserID != uuid.Nil {
		link := m.c.unsubscribeURL(o.UserID, o.Kind)
		hdr("List-Unsubscribe", "<"+link+">")
		hdr("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		o.Text, o.HTML = withUnsubscribeFooter(o.Text, o.HTML, link, o.Kind)
	}
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", o.Text}, {"text/html", o.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(pw)
		if _, err := qw.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
