// Package docs holds the assets of the gateway's API reference page
// (/api/v1/docs): the Redoc standalone bundle, embedded in the binary so
// the page needs no CDN.
//
// The bundle is Redoc (https://github.com/Redocly/redoc), MIT licence
// (LICENSE.redoc; the licences of what it bundles are in
// redoc.standalone.js.LICENSE.txt), at the version in REDOC_VERSION. It is
// committed gzipped; scripts/fetch-redoc.sh fetches a pinned version from
// the npm registry, checks its integrity hash and writes these files.
package docs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io"
	"strings"
	"sync"
)

//go:embed redoc.standalone.js.gz REDOC_VERSION
var files embed.FS

// Asset is an immutable file of the page, served under a name that
// changes with its content.
type Asset struct {
	// Name is the file name with a hash of the content
	// ("redoc.standalone.0123456789ab.js").
	Name string
	// ContentType is the media type to serve it with.
	ContentType string
	// Gzip is the content gzipped; Plain the content itself.
	Gzip, Plain []byte
}

var (
	once  sync.Once
	redoc Asset
	ver   string
)

func load() {
	gz, err := files.ReadFile("redoc.standalone.js.gz")
	if err != nil {
		panic("docs: embedded bundle missing: " + err.Error())
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		panic("docs: embedded bundle: " + err.Error())
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		panic("docs: embedded bundle: " + err.Error())
	}
	sum := sha256.Sum256(plain)
	redoc = Asset{Name: "redoc.standalone." + hex.EncodeToString(sum[:6]) + ".js",
		ContentType: "text/javascript; charset=utf-8", Gzip: gz, Plain: plain}
	v, _ := files.ReadFile("REDOC_VERSION")
	ver = strings.TrimSpace(string(v))
}

// Redoc returns the Redoc standalone bundle. The embedded files are part of
// the binary, so it cannot fail at run time; it is safe for concurrent use
// and the Asset must not be modified.
func Redoc() Asset {
	once.Do(load)
	return redoc
}

// RedocVersion is the version of the embedded Redoc.
func RedocVersion() string {
	once.Do(load)
	return ver
}
