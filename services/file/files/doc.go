// Package files is the file service's domain: files and their folders,
// the purposes and the types each accepts, who may see and change which
// file (ownership, public product images, published avatars and review
// images), the upload pipeline (sniffing, size limits while streaming,
// image dimension checks before any pixel is decoded, thumbnails), the
// decoding budget (concurrent decodes, each user's upload rate; budget.go)
// and the sweep of orphan blobs.
//
// It depends only on the interfaces it declares: Store for the metadata
// (services/file/postgres) and Blobs for the bytes (services/file/disk).
// Transports (the RPC handlers and the HTTP data port in services/file)
// decode their input and call Core; Core returns File values and
// *contracts.Error for everything a client can act on.
package files
