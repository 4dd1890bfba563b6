package files

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/opencommerce/opencommerce/contracts"
)

// imageInfo is what the service learns from an uploaded image.
type imageInfo struct {
	width, height int
	thumb         []byte // encoded thumbnail
	thumbType     string
}

// decodeConfig reads only an image's header (dimensions), in the format the
// bytes were sniffed as.
func decodeConfig(f io.Reader, ct string) (image.Config, error) {
	r := bufio.NewReader(f)
	switch ct {
	case typePNG:
		return png.DecodeConfig(r)
	case typeJPEG:
		return jpeg.DecodeConfig(r)
	case typeGIF:
		return gif.DecodeConfig(r)
	case typeWebP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("not an image type: %s", ct)
}

func decodeImage(f io.Reader, ct string) (image.Image, error) {
	r := bufio.NewReaderSize(f, 64<<10)
	switch ct {
	case typePNG:
		return png.Decode(r)
	case typeJPEG:
		return jpeg.Decode(r)
	case typeGIF:
		return gif.Decode(r) // the first frame
	case typeWebP:
		return webp.Decode(r)
	}
	return nil, fmt.Errorf("not an image type: %s", ct)
}

// inspectImage checks the image in tmp (sniffed as ct): its header must
// decode and its dimensions stay within the limits, which is checked
// before any pixel is decoded (a decompression bomb declares its size up
// front). Then it decodes the image through the decode gate (at most
// Limits.DecodeConcurrency at once, waiting at most Limits.DecodeWait for
// a slot) and renders a thumbnail.
func (c *Core) inspectImage(ctx context.Context, tmp Temp, ct string) (imageInfo, error) {
	f, err := tmp.Open()
	if err != nil {
		return imageInfo{}, err
	}
	defer f.Close()
	cfg, err := decodeConfig(f, ct)
	if err != nil {
		return imageInfo{}, contracts.Errorf(contracts.CodeUnsupportedMedia, "the file is not a valid %s image", ct)
	}
	if err := c.checkDimensions(cfg); err != nil {
		return imageInfo{}, err
	}
	info := imageInfo{width: cfg.Width, height: cfg.Height}

	release, err := c.decode.acquire(ctx)
	if err != nil {
		return imageInfo{}, err
	}
	defer release()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return imageInfo{}, err
	}
	img, err := decodeImage(f, ct)
	if err != nil {
		return imageInfo{}, contracts.InvalidArgument("file", "the %s image is damaged: it cannot be decoded", ct)
	}
	info.thumb, info.thumbType, err = thumbnail(img, ct, c.limits.ThumbnailSize)
	if err != nil {
		return imageInfo{}, fmt.Errorf("thumbnail: %w", err)
	}
	return info, nil
}

// checkDimensions refuses an image without pixels or beyond the limits.
func (c *Core) checkDimensions(cfg image.Config) error {
	l := c.limits
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return contracts.InvalidArgument("file", "the image has no pixels")
	}
	// Both sides fit in an int once each is within MaxImageSide, so the
	// product is checked only then (no overflow on 32-bit).
	if cfg.Width > l.MaxImageSide || cfg.Height > l.MaxImageSide || cfg.Width*cfg.Height > l.MaxImagePixels {
		return contracts.InvalidArgument("file", "the image is %d×%d pixels (%d in all); the limit is %d pixels a side and %d pixels in all",
			cfg.Width, cfg.Height, int64(cfg.Width)*int64(cfg.Height), l.MaxImageSide, l.MaxImagePixels).
			WithDetail("width", cfg.Width).WithDetail("height", cfg.Height).
			WithDetail("max_side", l.MaxImageSide).WithDetail("max_pixels", l.MaxImagePixels)
	}
	return nil
}

// thumbnail scales img so that its longest side is at most side pixels
// (never enlarging) and encodes it: JPEG for JPEG sources, PNG otherwise
// (keeps transparency). Re-encoding also drops any metadata of the source.
func thumbnail(img image.Image, ct string, side int) ([]byte, string, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > side || h > side {
		if w >= h {
			h = max(1, h*side/w)
			w = side
		} else {
			w = max(1, w*side/h)
			h = side
		}
	}
	var dst draw.Image
	if ct == typeJPEG {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewNRGBA(image.Rect(0, 0, w, h))
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var buf bytes.Buffer
	if ct == typeJPEG {
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 82}); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), typeJPEG, nil
	}
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, dst); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), typePNG, nil
}
