package file

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/opencommerce/opencommerce/services/file/files"
)

// Config configures the file service.
type Config struct {
	// Dir is the blob directory: blobs at Dir/ab/cd/<sha256>, upload
	// temporaries in Dir/tmp (the same file system, so a rename publishes a
	// finished blob atomically).
	Dir string
	// DataAddr is the listen address of the HTTP data port (uploads and
	// downloads from the gateway). It must be reachable only from inside the
	// platform: the port trusts the actor headers the gateway sets. The
	// default is loopback; Validate refuses any other address without an
	// InternalToken.
	DataAddr string
	// InternalToken, when set, must be sent by every data port request in
	// the X-OC-Internal-Token header. Empty (no check) is allowed only
	// with a loopback DataAddr, for development.
	InternalToken string
	// Size limits per purpose, in bytes.
	MaxImageSize    int64 // product_image, review_image
	MaxAvatarSize   int64 // avatar
	MaxDocumentSize int64 // document
	// MaxImageSide and MaxImagePixels bound an image's declared dimensions
	// (read from its header before anything is decoded).
	MaxImageSide   int
	MaxImagePixels int
	// ThumbnailSize is the longest side of a generated thumbnail.
	ThumbnailSize int
	// DecodeConcurrency bounds the image decodes running at once in this
	// process; an upload waits at most DecodeWait for a slot, then gets
	// 503 with Retry-After. Decoding holds up to 4 bytes a pixel, so memory
	// for decodes stays near DecodeConcurrency × MaxImagePixels × 4.
	DecodeConcurrency int
	DecodeWait        time.Duration
	// UploadsPerMinute bounds each user's upload attempts per minute on
	// this instance (0 = no limit); over it, 429 with Retry-After.
	UploadsPerMinute int
	// SweepInterval is how often orphan blobs and stale temporaries are
	// removed (also once at start).
	SweepInterval time.Duration
	// TempMaxAge is the age (last write) after which an upload temporary is
	// stale: no live upload leaves its file unwritten that long.
	TempMaxAge time.Duration
	// UploadTimeout bounds one upload request (reading the body included).
	UploadTimeout time.Duration
}

// RegisterFlags registers the flags, prefixed "file.", with defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Dir, "file.dir", "./var/files", "blob directory (content-addressed; temporaries in <dir>/tmp)")
	fs.StringVar(&c.DataAddr, "file.data-addr", "127.0.0.1:8090", "listen address of the internal HTTP data port (uploads/downloads from the gateway); never expose it publicly; a non-loopback address requires file.internal-token")
	fs.StringVar(&c.InternalToken, "file.internal-token", "", "shared secret the gateway sends in X-OC-Internal-Token to the data port (empty = no check, allowed only when file.data-addr is loopback)")
	fs.Int64Var(&c.MaxImageSize, "file.max-image-size", 10<<20, "size limit of product and review images, bytes")
	fs.Int64Var(&c.MaxAvatarSize, "file.max-avatar-size", 2<<20, "size limit of avatars, bytes")
	fs.Int64Var(&c.MaxDocumentSize, "file.max-document-size", 20<<20, "size limit of documents, bytes")
	fs.IntVar(&c.MaxImageSide, "file.max-image-side", 8000, "largest accepted image width or height, pixels")
	fs.IntVar(&c.MaxImagePixels, "file.max-image-pixels", 16_000_000, "largest accepted image area, pixels (checked on the header, before decoding; a decode holds up to 4 bytes a pixel)")
	fs.IntVar(&c.ThumbnailSize, "file.thumbnail-size", 320, "longest side of generated thumbnails, pixels")
	fs.IntVar(&c.DecodeConcurrency, "file.decode-concurrency", 2, "image decodes running at once on this instance (uploads beyond wait for a slot)")
	fs.DurationVar(&c.DecodeWait, "file.decode-wait", 5*time.Second, "longest wait of an upload for a decode slot, then 503 with Retry-After")
	fs.IntVar(&c.UploadsPerMinute, "file.uploads-per-minute", 60, "upload attempts per user and minute on this instance (0 = no limit); over it, 429 with Retry-After")
	fs.DurationVar(&c.SweepInterval, "file.sweep-interval", time.Hour, "how often orphan blobs and stale temporaries are removed (also at start)")
	fs.DurationVar(&c.TempMaxAge, "file.temp-max-age", 15*time.Minute, "an upload temporary not written for this long is stale")
	fs.DurationVar(&c.UploadTimeout, "file.upload-timeout", 10*time.Minute, "longest time one upload may take")
}

// DefaultConfig returns the defaults RegisterFlags sets.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("", flag.ContinueOnError))
	return c
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("file.dir: must be set")
	case c.DataAddr == "":
		return errors.New("file.data-addr: must be set")
	case c.InternalToken == "" && !loopbackAddr(c.DataAddr):
		return fmt.Errorf("file.data-addr: %q is not a loopback address and file.internal-token is empty: the data port trusts the identity headers it is sent, so set file.internal-token (and the gateway's gateway.file-internal-token) or listen on 127.0.0.1", c.DataAddr)
	case c.MaxImageSize <= 0, c.MaxAvatarSize <= 0, c.MaxDocumentSize <= 0:
		return errors.New("file.max-*-size: must be positive")
	case c.MaxImageSide <= 0 || c.MaxImagePixels <= 0:
		return errors.New("file.max-image-side, file.max-image-pixels: must be positive")
	case c.DecodeConcurrency < 1:
		return errors.New("file.decode-concurrency: must be at least 1")
	case c.DecodeWait <= 0:
		return errors.New("file.decode-wait: must be positive")
	case c.UploadsPerMinute < 0:
		return errors.New("file.uploads-per-minute: must be 0 (no limit) or positive")
	case c.ThumbnailSize < 16 || c.ThumbnailSize > 2048:
		return fmt.Errorf("file.thumbnail-size: %d not in [16, 2048]", c.ThumbnailSize)
	case c.SweepInterval <= 0:
		return errors.New("file.sweep-interval: must be positive")
	case c.TempMaxAge <= 0:
		return errors.New("file.temp-max-age: must be positive")
	case c.UploadTimeout <= 0:
		return errors.New("file.upload-timeout: must be positive")
	}
	return nil
}

// loopbackAddr reports whether the listen address addr (host:port) binds
// only loopback: "localhost" or a loopback IP. An empty host ("":8090)
// listens on every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// limits are the upload rules the domain enforces.
func (c Config) limits() files.Limits {
	return files.Limits{MaxImageSize: c.MaxImageSize, MaxAvatarSize: c.MaxAvatarSize, MaxDocumentSize: c.MaxDocumentSize,
		MaxImageSide: c.MaxImageSide, MaxImagePixels: c.MaxImagePixels, ThumbnailSize: c.ThumbnailSize,
		DecodeConcurrency: c.DecodeConcurrency, DecodeWait: c.DecodeWait, UploadsPerMinute: c.UploadsPerMinute}
}
