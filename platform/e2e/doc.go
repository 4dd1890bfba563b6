// Package e2e holds the end-to-end tests: the whole platform started in
// process on the real servers (platformtest), driven only through the
// gateway's public HTTP API, as a storefront or a browser would.
package e2e
