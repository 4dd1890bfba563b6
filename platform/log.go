package platform

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
)

// LogConfig configures the process logger.
type LogConfig struct {
	Level  string
	Format string
}

// RegisterFlags registers log.level and log.format.
func (c *LogConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Level, "log.level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.Format, "log.format", "text", "log format: text or json")
}

// Validate checks the log settings.
func (c LogConfig) Validate() error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		return fmt.Errorf("log.level %q: want debug, info, warn or error", c.Level)
	}
	if c.Format != "text" && c.Format != "json" {
		return fmt.Errorf("log.format %q: want text or json", c.Format)
	}
	return nil
}

// NewLogger builds the process logger.
func NewLogger(c LogConfig, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: l}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
