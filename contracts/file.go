package contracts

import "time"

// The file service's RPC methods (routed by edge/routes.go, see docs/API.md). The bytes of a file
// never travel by RPC: uploads and downloads go through the file service's
// HTTP data port (services/file, internal/filedata).
//
// file.list, file.delete, file.copy and file.move are routed by the gateway
// and take an Envelope. file.stat is for services: its body is a
// FileStatRequest (an Envelope with params.id is accepted too).
const (
	MethodFileStat   = "file.stat"   // FileStatRequest → File (owner_id included)
	MethodFileList   = "file.list"   // params limit, cursor, folder?, purpose?, owner_id? (admin) → List[File]
	MethodFileDelete = "file.delete" // params id → {} (204)
	MethodFileCopy   = "file.copy"   // params id, body FileFolderRequest → File (201)
	MethodFileMove   = "file.move"   // params id, body FileFolderRequest → File
	// MethodFilePublish makes an image public for good; services call it
	// when they attach a user's file where everyone sees it (an avatar, a
	// review image). FilePublishRequest → File; not_found,
	// permission_denied (another owner), invalid_argument (purpose, not an
	// image). Only services may call it.
	MethodFilePublish = "file.publish"
)

// The file service's events, written through its outbox in the same
// transaction as the metadata change.
const (
	EventFileUploaded = "file.uploaded" // FileUploaded; also for the new file of a copy
	EventFileDeleted  = "file.deleted"  // FileDeleted
)

// File purposes. The purpose fixes the accepted content types and the size
// limit. Product images are public; avatars and review images become public
// when attached (file.publish: a profile's avatar, a review's images);
// everything else is readable only by its owner, admins and services.
const (
	PurposeProductImage = "product_image"
	PurposeAvatar       = "avatar"
	PurposeReviewImage  = "review_image"
	PurposeDocument     = "document"
)

// Purposes lists every purpose, in a stable order.
var Purposes = []string{PurposeProductImage, PurposeAvatar, PurposeReviewImage, PurposeDocument}

// MaxFolderLen bounds File.Folder (bytes).
const MaxFolderLen = 200

// File is a stored file's metadata. The bytes are at URL and, for images,
// a thumbnail at ThumbnailURL (absent when the file has none).
type File struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	// SHA256 is the lower-case hex digest of the bytes; it is also the
	// download's ETag.
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Purpose     string `json:"purpose"`
	// Folder is a logical folder ("invoices/2026"); "" is the root.
	Folder string `json:"folder"`
	// Name is the uploaded file name (validated; used only for the
	// download's Content-Disposition), "" when none was given.
	Name    string `json:"name,omitempty"`
	OwnerID string `json:"owner_id"`
	// Width and Height are an image's dimensions in pixels.
	Width     int       `json:"width,omitempty"`
	Height    int       `json:"height,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Public says anyone may download the file (a product image, or an
	// avatar or review image once attached); otherwise only its owner.
	Public bool `json:"public"`
}

// FileURL is the public URL of a file's bytes.
func FileURL(id string) string { return "/api/v1/files/" + id }

// FileThumbnailURL is the public URL of a file's thumbnail.
func FileThumbnailURL(id string) string { return "/api/v1/files/" + id + "/thumbnail" }

// FileStatRequest is the body of file.stat.
type FileStatRequest struct {
	ID string `json:"id"`
}

// FilePublishRequest is the body of file.publish: the file, the user it
// must belong to and the purpose it must have.
type FilePublishRequest struct {
	ID      string `json:"id"`
	OwnerID string `json:"owner_id"`
	Purpose string `json:"purpose"`
}

// FileFolderRequest is the client body of file.copy and file.move: the
// destination folder ("" = the root). A folder is at most MaxFolderLen
// bytes of segments of [A-Za-z0-9 _.-] separated by single '/', without a
// leading or trailing '/', and no segment is "." or "..".
type FileFolderRequest struct {
	Folder string `json:"folder"`
}

// FileUploaded is the payload of file.uploaded.
type FileUploaded struct {
	FileID      string `json:"file_id"`
	OwnerID     string `json:"owner_id"`
	Purpose     string `json:"purpose"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// FileDeleted is the payload of file.deleted.
type FileDeleted struct {
	FileID  string `json:"file_id"`
	OwnerID string `json:"owner_id"`
}

func init() {
	Register("file.file", File{})
	Register("file.list", List[File]{})
	Register("file.stat.request", FileStatRequest{})
	Register("file.folder.request", FileFolderRequest{})
	Register("file.publish.request", FilePublishRequest{})
	Register("event.file.uploaded", FileUploaded{})
	Register("event.file.deleted", FileDeleted{})
}
