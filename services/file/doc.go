// Package file is the file service: uploaded files' metadata (PostgreSQL,
// database oc_file) and their bytes (content-addressed blobs on disk),
// with thumbnails for images.
//
// # Anatomy
//
// Built like the user service: the domain, services/file/files (files,
// folders, purposes, who may see and change what, the upload and image
// pipeline, the sweep), depends only on the interfaces it declares:
// files.Store for the metadata, implemented by services/file/postgres
// (with the embedded migrations), and files.Blobs for the bytes,
// implemented by services/file/disk. This package wires them and holds the
// two transports: rpc.go (bus.Routed and bus.Query handlers: decoding is
// the transport's) and data.go (the HTTP data port).
//
// # Two ports
//
// Metadata goes by RPC (queue rpc.file): file.stat and file.publish
// (services: typed bodies), file.list, file.delete, file.copy, file.move
// (gateway envelopes; see contracts/file.go and the routes in
// edge/routes.go). Bytes never travel through RabbitMQ: the gateway
// streams them to and from the HTTP data port (file.data-addr, default
// 127.0.0.1:8090), using package internal/filedata.
//
// # The data port protocol (internal: gateway → file service)
//
// The port must listen on an internal address only. Every request carries
// X-OC-Internal-Token = file.internal-token when that is set (empty = no
// check, development only; a warning is logged at start), and the actor the
// gateway verified in X-OC-Actor-Id / X-OC-Actor-Role (a client's own
// headers of those names must be dropped by the gateway).
//
//	POST /upload[?purpose=&folder=&name=]
//	    multipart/form-data: part "file" (its filename is stored as the
//	    name), parts "purpose" and "folder" (or in the query; both given
//	    and different → 400); or a raw body with purpose in the query.
//	    → 201 contracts.File, Location /api/v1/files/{id}
//	    400 bad field, empty body, no "file" part, image too large in pixels
//	    401 no actor / bad token; 413 over the purpose's limit; 415 type
//	    429 over the user's upload rate, 503 no decode slot in time (both
//	    with Retry-After and details.retry_after)
//	GET|HEAD /files/{id}, /files/{id}/thumbnail
//	    → 200/206/304/416 with ETag "<sha256>", Accept-Ranges, Content-Range,
//	    Content-Disposition, Cache-Control, X-Content-Type-Options: nosniff
//
// Errors are the platform's {"error":{code,message,details}} JSON with the
// code's status, so the gateway can pass every answer through unchanged.
//
// # What is stored
//
// The content type comes from the bytes only (magic numbers for png, jpeg,
// gif, webp and pdf, else http.DetectContentType, trusted for text/plain
// only): never the file name or a client header. Each purpose accepts:
// product_image, avatar, review_image: png, jpeg, gif, webp; document: pdf,
// png, jpeg, text/plain. Limits (flags): images 10 MiB, avatars 2 MiB,
// documents 20 MiB, enforced while streaming: reading stops at limit+1
// bytes and nothing is kept. An image's header is read first (dimensions
// ≤ 8000 a side, ≤ 16 Mpx, else 400 naming both) before any pixel is
// decoded; then a thumbnail (longest side 320, JPEG for JPEG, else PNG) is
// stored as a blob too.
//
// Blobs live at <file.dir>/ab/cd/<sha256>: written to <file.dir>/tmp,
// fsynced, renamed into place (then the directory fsynced), so no half
// blob is ever visible. Identical bytes share one blob: the blobs table
// counts references (file bytes and thumbnails). Publishing a blob and
// committing its reference, or committing the last unreference and removing
// the file, happen under a PostgreSQL advisory lock per blob, so two
// instances sharing the directory never race. A crash between the steps
// leaves at worst an orphan blob or a temporary, which the sweeper removes
// (at start and every file.sweep-interval).
//
// Folders are logical strings, validated (segments of [A-Za-z0-9 _.-], no
// '.' or '..', no leading '/', ≤ 200 bytes); names are validated metadata
// (no '/', '\\' or control characters). No client string reaches the file
// system: blob paths derive only from a hex digest.
//
// # The decoding budget
//
// An image's cost is its pixels, not its bytes (a 140 KB PNG can declare
// 6000×6000), so besides the pixel budget above: at most
// file.decode-concurrency decodes run at once (default 2; memory stays near
// concurrency × 16 Mpx × 4 bytes), an upload waits at most file.decode-wait
// (5s) for a slot and is then refused 503 with Retry-After; and each user
// may start file.uploads-per-minute uploads a minute on an instance
// (default 60, counted before the body is read; 429 with Retry-After over
// it). Metrics: oc_file_image_decodes_total, _in_flight, _in_flight_peak,
// oc_file_image_decode_busy_total. See files/budget.go.
//
// # Who may see what
//
// Product images are public (Cache-Control: public, immutable), and so are
// avatars and review images once a service published them (file.publish,
// when the user service or the product service attaches them). Every other
// file is visible to its owner, admins and services only
// (Cache-Control: private, no-cache); anyone else gets 404, as if the file
// did not exist (no existence leak). Changing a file (delete, move, copy)
// is for the owner and admins: 404 for a file the caller cannot see, 403
// for a public one. Downloads of images are inline, others attachment, with
// an ASCII filename and the exact name as filename* (RFC 6266/8187).
//
// # Events (outbox, same transaction as the metadata)
//
// file.uploaded contracts.FileUploaded (also for the new file of a copy),
// file.deleted contracts.FileDeleted.
package file
