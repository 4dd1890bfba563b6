package files

import (
	"bytes"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/opencommerce/opencommerce/contracts"
)

// Content types the service stores. Nothing else is accepted, whatever the
// client claims: the type comes from the bytes only.
const (
	typePNG  = "image/png"
	typeJPEG = "image/jpeg"
	typeGIF  = "image/gif"
	typeWebP = "image/webp"
	typePDF  = "application/pdf"
	typeText = "text/plain"
)

// sniffLen is how many leading bytes sniff needs (http.DetectContentType
// reads at most 512).
const sniffLen = 512

// sniff returns the content type of a file that starts with head. Explicit
// magic numbers decide the types we store; anything else goes through
// http.DetectContentType, whose answer is only trusted for plain text.
func sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return typePNG
	case bytes.HasPrefix(head, []byte{0xff, 0xd8, 0xff}):
		return typeJPEG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return typeGIF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return typeWebP
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return typePDF
	}
	// DetectContentType says text/plain for anything without binary
	// bytes (any 8-bit charset); text with NUL bytes (UTF-16) is not taken,
	// and receive refuses a NUL past the sniff window too.
	mt, _, _ := strings.Cut(http.DetectContentType(head), ";")
	if mt == typeText && bytes.IndexByte(head, 0) >= 0 {
		return "application/octet-stream"
	}
	return mt
}

// IsImage reports whether ct is an image type the service decodes.
func IsImage(ct string) bool {
	switch ct {
	case typePNG, typeJPEG, typeGIF, typeWebP:
		return true
	}
	return false
}

// allowed reports whether purpose accepts content type ct.
func allowed(purpose, ct string) bool {
	switch purpose {
	case contracts.PurposeProductImage, contracts.PurposeAvatar, contracts.PurposeReviewImage:
		return IsImage(ct)
	case contracts.PurposeDocument:
		return ct == typePDF || ct == typePNG || ct == typeJPEG || ct == typeText
	}
	return false
}

// allowedList names the types purpose accepts, for error messages.
func allowedList(purpose string) string {
	if purpose == contracts.PurposeDocument {
		return "pdf, png, jpeg, text/plain"
	}
	return "png, jpeg, gif, webp"
}

// Extension is a file name extension for ct (for a download without a
// stored name).
func Extension(ct string) string {
	switch ct {
	case typePNG:
		return ".png"
	case typeJPEG:
		return ".jpg"
	case typeGIF:
		return ".gif"
	case typeWebP:
		return ".webp"
	case typePDF:
		return ".pdf"
	case typeText:
		return ".txt"
	}
	return ""
}

// ValidPurpose checks a purpose named by a client.
func ValidPurpose(p string) error {
	for _, q := range contracts.Purposes {
		if p == q {
			return nil
		}
	}
	if p == "" {
		return contracts.InvalidArgument("purpose", "purpose is required (one of %s)", strings.Join(contracts.Purposes, ", "))
	}
	return contracts.InvalidArgument("purpose", "unknown purpose (one of %s)", strings.Join(contracts.Purposes, ", "))
}

// ValidFolder checks a logical folder: "" (the root) or segments of
// [A-Za-z0-9 _.-] separated by single '/', no leading or trailing '/', no
// "." or ".." segment, at most contracts.MaxFolderLen bytes. Folders are
// only ever compared as strings; none reaches the file system.
func ValidFolder(f string) error {
	if f == "" {
		return nil
	}
	if len(f) > contracts.MaxFolderLen {
		return contracts.InvalidArgument("folder", "folder is longer than %d bytes", contracts.MaxFolderLen)
	}
	for _, seg := range strings.Split(f, "/") {
		if seg == "" {
			return contracts.InvalidArgument("folder", "folder has an empty segment (leading, trailing or double '/')")
		}
		if seg == "." || seg == ".." {
			return contracts.InvalidArgument("folder", "folder segments cannot be '.' or '..'")
		}
		if strings.TrimSpace(seg) != seg {
			return contracts.InvalidArgument("folder", "folder segments cannot start or end with a space")
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '_' || c == '.' || c == '-') {
				return contracts.InvalidArgument("folder", "folder may contain only letters, digits, space, '_', '.', '-' and '/'")
			}
		}
	}
	return nil
}

// maxNameLen bounds a stored file name (bytes).
const maxNameLen = 255

// ValidName checks an uploaded file name. Names are metadata only (the
// download's Content-Disposition); they never reach the file system, but a
// name that carries a path is refused rather than silently trimmed, so a
// client learns its input was wrong.
func ValidName(n string) error {
	switch {
	case n == "":
		return nil
	case len(n) > maxNameLen:
		return contracts.InvalidArgument("filename", "file name is longer than %d bytes", maxNameLen)
	case !utf8.ValidString(n):
		return contracts.InvalidArgument("filename", "file name is not valid UTF-8")
	case strings.ContainsAny(n, "/\\"):
		return contracts.InvalidArgument("filename", "file name cannot contain a path ('/' or '\\')")
	case n == "." || n == "..":
		return contracts.InvalidArgument("filename", "file name cannot be '.' or '..'")
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return contracts.InvalidArgument("filename", "file name cannot contain control characters")
		}
	}
	return nil
}
