package file_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/testenv"
	"github.com/opencommerce/opencommerce/services/file"
)

// The real binary, killed with SIGKILL (no shutdown, no deferred cleanup):
// mid-upload it leaves no blob and no row, only a temporary that the
// sweeper removes at the next start; right after a 201 the blob and its row
// are both there after the restart, and the sweeper keeps them.
func TestKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	_ = testenv.PG(t) // fails or skips when PostgreSQL is away
	bin := buildBinary(t)

	t.Run("during upload", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, bin)
		p := n.start()
		owner := user()
		data := textOf(8 << 20)
		half := len(data) / 2

		// Stream half of the body, then stall: the service holds a
		// temporary with exactly those bytes and has not answered.
		pr, pw := io.Pipe()
		answered := make(chan error, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, p.data+"/upload?purpose=document&name=big.txt", pr)
			req.ContentLength = int64(len(data))
			req.Header.Set(file.HeaderInternalToken, token)
			req.Header.Set(file.HeaderActorID, owner.ID)
			req.Header.Set(file.HeaderActorRole, owner.Role)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				err = errors.New("answered " + resp.Status + ": " + string(b))
				if resp.StatusCode == http.StatusCreated {
					err = errUploaded
				}
			}
			answered <- err
		}()
		t.Cleanup(func() { _ = pw.CloseWithError(errors.New("test over")) })
		for off := 0; off < half; off += 64 << 10 {
			if _, err := pw.Write(data[off:min(off+64<<10, half)]); err != nil {
				t.Fatalf("write body: %v", err)
			}
		}
		tmp := n.waitTemp(int64(half))
		select {
		case err := <-answered:
			t.Fatalf("the upload ended before the kill: %v", err)
		default:
		}

		p.kill()
		_ = pw.CloseWithError(errors.New("service killed"))
		select {
		case err := <-answered:
			if errors.Is(err, errUploaded) {
				t.Fatal("a half upload was answered 201")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the upload request did not end after the kill")
		}
		if got := n.blobs(); len(got) != 0 {
			t.Fatalf("blobs after the kill: %v", got)
		}
		if temps := n.temps(); len(temps) != 1 || temps[0] != tmp {
			t.Fatalf("temporaries after the kill = %v, want just %s", temps, tmp)
		}
		n.wantRows(0, 0)
		n.wantNoEvents()

		// Restart on the same directory and database: the start sweep
		// removes the stale temporary, and nothing else appeared.
		p = n.start()
		if temps := n.temps(); len(temps) != 0 {
			t.Fatalf("temporaries after the restart: %v", temps)
		}
		if got := n.blobs(); len(got) != 0 {
			t.Fatalf("blobs after the restart: %v", got)
		}
		n.wantRows(0, 0)

		// The same bytes, uploaded whole, are stored and read back.
		f := p.upload(owner, "document", "big.txt", data)
		if f.SHA256 != sum(data) || f.Size != int64(len(data)) {
			t.Fatalf("uploaded %+v, want sha256 %s size %d", f, sum(data), len(data))
		}
		if got := p.download(owner, "/files/"+f.ID); !bytes.Equal(got, data) {
			t.Fatalf("downloaded %d bytes (sha256 %s), want the %d uploaded", len(got), sum(got), len(data))
		}
		n.wantBlobs(sum(data))
		n.wantRows(1, 1)
	})

	t.Run("after 201", func(t *testing.T) {
		t.Parallel()
		n := newNode(t, bin)
		p := n.start()
		owner := seller()
		doc := textOf(3<<20 + 17)
		img := pngOf(t, 400, 300, 7)
		fdoc := p.upload(owner, "document", "notes.txt", doc)
		fimg := p.upload(owner, "product_image", "cat.png", img)
		p.kill() // at once: nothing after the answers may be needed

		var thumb string
		if err := n.db().QueryRow(context.Background(), `SELECT coalesce(thumb_sha256, '') FROM files WHERE id = $1`, fimg.ID).Scan(&thumb); err != nil || thumb == "" {
			t.Fatalf("thumbnail of %s: %q, %v", fimg.ID, thumb, err)
		}
		want := []string{sum(doc), sum(img), thumb}
		n.wantBlobs(want...)
		n.wantRows(2, 3)

		// The restart's sweep keeps every referenced blob, and both files
		// read back whole.
		p = n.start()
		n.wantBlobs(want...)
		n.wantRows(2, 3)
		if got := p.download(owner, "/files/"+fdoc.ID); !bytes.Equal(got, doc) {
			t.Fatalf("document: downloaded %d bytes, want the %d uploaded", len(got), len(doc))
		}
		if got := p.download(contracts.Actor{}, "/files/"+fimg.ID); !bytes.Equal(got, img) {
			t.Fatalf("image: downloaded %d bytes, want the %d uploaded", len(got), len(img))
		}
		if got := p.download(contracts.Actor{}, "/files/"+fimg.ID+"/thumbnail"); sum(got) != thumb {
			t.Fatalf("thumbnail: downloaded sha256 %s, want %s", sum(got), thumb)
		}
	})
}

var errUploaded = errors.New("answered 201 Created")

// buildBinary builds cmd/opencommerce (not raced: the subprocess is not
// what this package's race detector watches) into the test's temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("find the module root: %v %s", err, out)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(t.TempDir(), "opencommerce")
	build := exec.Command("go", "build", "-o", bin, "./cmd/opencommerce")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// node is one file service's lasting state across process restarts: its
// vhost, databases (under a unique prefix) and blob directory.
type node struct {
	t      *testing.T
	bin    string
	amqp   string
	prefix string
	dir    string

	conn *pgx.Conn // to the file database, once asked for
}

func newNode(t *testing.T, bin string) *node {
	n := &node{t: t, bin: bin, amqp: testenv.AMQP(t), prefix: testenv.Name("ockill") + "_", dir: t.TempDir()}
	t.Cleanup(func() { testenv.DropDatabases(n.prefix) })
	return n
}

// proc is one running process of a node.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	exited chan error
	logs   *syncBuffer
	data   string // data port base URL
}

// start runs the binary with -target=file on the node's state and waits
// until it is ready. Upload temporaries are stale after 50ms, so the start
// sweep takes what a killed process left.
func (n *node) start() *proc {
	t := n.t
	t.Helper()
	admin, data := testenv.FreeAddr(t), testenv.FreeAddr(t)
	cmd := exec.Command(n.bin,
		"-target=file",
		"-admin.addr="+admin,
		"-amqp.url="+n.amqp,
		"-pg.url="+testenv.PGURL,
		"-pg.database-prefix="+n.prefix,
		"-consul.addr=", // static discovery
		"-consul.register=false",
		"-file.dir="+n.dir,
		"-file.data-addr="+data,
		"-file.internal-token="+token,
		"-file.temp-max-age=50ms",
		"-shutdown.delay=0s",
		"-log.level=warn",
	)
	// Only the flags above: no OC_* variable of the caller's environment.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	p := &proc{t: t, cmd: cmd, exited: make(chan error, 1), logs: &syncBuffer{}, data: "http://" + data}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if logs := p.logs.String(); t.Failed() && logs != "" {
			t.Logf("process logs:\n%s", logs)
		}
	})
	testenv.EventuallyWithin(t, 60*time.Second, "/readyz answers 200", func() bool {
		select {
		case err := <-p.exited:
			p.exited <- err
			t.Fatalf("process exited early: %v", err)
		default:
		}
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatalf("kill: %v", err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
	case <-time.After(30 * time.Second):
		p.t.Fatal("the process outlived SIGKILL")
	}
}

func (p *proc) do(req *http.Request, a contracts.Actor) (*http.Response, []byte) {
	p.t.Helper()
	req.Header.Set(file.HeaderInternalToken, token)
	if a.Role != "" {
		req.Header.Set(file.HeaderActorID, a.ID)
		req.Header.Set(file.HeaderActorRole, a.Role)
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// upload posts data whole (multipart) and requires 201.
func (p *proc) upload(a contracts.Actor, purpose, name string, data []byte) contracts.File {
	p.t.Helper()
	body, ct := multipartBody(part{name: "purpose", data: []byte(purpose)}, part{name: "file", filename: name, data: data})
	req, _ := http.NewRequest(http.MethodPost, p.data+"/upload", body)
	req.Header.Set("Content-Type", ct)
	resp, b := p.do(req, a)
	if resp.StatusCode != http.StatusCreated {
		p.t.Fatalf("upload %s: %d %s", name, resp.StatusCode, b)
	}
	var f contracts.File
	if err := json.Unmarshal(b, &f); err != nil {
		p.t.Fatalf("decode %s: %v", b, err)
	}
	return f
}

// download GETs path and requires 200.
func (p *proc) download(a contracts.Actor, path string) []byte {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.data+path, nil)
	resp, b := p.do(req, a)
	if resp.StatusCode != http.StatusOK {
		p.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

// blobs lists every regular file under the directory outside tmp/, as
// paths relative to it.
func (n *node) blobs() []string {
	n.t.Helper()
	var out []string
	err := filepath.WalkDir(n.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(n.dir, p)
		if d.IsDir() && rel == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		n.t.Fatalf("walk %s: %v", n.dir, err)
	}
	return out
}

// wantBlobs requires exactly the blobs of sums on disk, each holding bytes
// of its digest.
func (n *node) wantBlobs(sums ...string) {
	n.t.Helper()
	want := map[string]bool{}
	for _, s := range sums {
		rel := filepath.Join(s[0:2], s[2:4], s)
		want[rel] = true
		b, err := os.ReadFile(filepath.Join(n.dir, rel))
		if err != nil {
			n.t.Fatalf("blob %s: %v", s, err)
		}
		if sum(b) != s {
			n.t.Fatalf("blob %s holds bytes of digest %s", s, sum(b))
		}
	}
	got := n.blobs()
	if len(got) != len(want) {
		n.t.Fatalf("blobs on disk %v, want %d: %v", got, len(want), sums)
	}
	for _, g := range got {
		if !want[g] {
			n.t.Fatalf("unexpected blob %s (want %v)", g, sums)
		}
	}
}

func (n *node) temps() []string {
	n.t.Helper()
	ents, err := os.ReadDir(filepath.Join(n.dir, "tmp"))
	if err != nil {
		n.t.Fatalf("read tmp: %v", err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// waitTemp waits until one upload temporary holds size bytes, and returns
// its name.
func (n *node) waitTemp(size int64) string {
	n.t.Helper()
	var name string
	var have []string
	if testenv.Poll(testenv.Wait, func() bool {
		ents, err := os.ReadDir(filepath.Join(n.dir, "tmp"))
		if err != nil {
			n.t.Fatalf("read tmp: %v", err)
		}
		have = have[:0]
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				if info.Size() == size {
					name = e.Name()
					return true
				}
				have = append(have, fmt.Sprintf("%s (%d bytes)", e.Name(), info.Size()))
			}
		}
		return false
	}) {
		return name
	}
	n.t.Fatalf("no temporary of %d bytes in tmp (have %v)", size, have)
	return ""
}

// db is a connection to the node's file database.
func (n *node) db() *pgx.Conn {
	n.t.Helper()
	if n.conn != nil {
		return n.conn
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, testenv.WithDatabase(testenv.PGURL, n.prefix+file.Name))
	if err != nil {
		n.t.Fatalf("connect to the file database: %v", err)
	}
	// Closed before the databases are dropped (cleanups run last first).
	n.t.Cleanup(func() { _ = c.Close(context.Background()) })
	n.conn = c
	return c
}

func (n *node) count(table string) int {
	n.t.Helper()
	var c int
	if err := n.db().QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&c); err != nil {
		n.t.Fatalf("count %s: %v", table, err)
	}
	return c
}

// wantRows requires that many files and blobs rows.
func (n *node) wantRows(files, blobs int) {
	n.t.Helper()
	if f, b := n.count("files"), n.count("blobs"); f != files || b != blobs {
		n.t.Fatalf("rows: files %d, blobs %d; want %d, %d", f, b, files, blobs)
	}
}

// wantNoEvents requires an empty outbox: no file.uploaded was recorded.
func (n *node) wantNoEvents() {
	n.t.Helper()
	if c := n.count("oc_outbox"); c != 0 {
		n.t.Fatalf("%d outbox events", c)
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writers and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
