package edge

import (
	"bytes"
	"encoding/binary"
	"slices"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/opencommerce/opencommerce/contracts"
	"github.com/opencommerce/opencommerce/internal/bus"
)

const (
	maxQueryArgs = 64
	maxCacheKey  = 1024
	maxUserAgent = 512
	hexDigits    = "0123456789abcdef"
)

var errTooManyArgs = contracts.InvalidArgument("", "too many query parameters (at most %d)", maxQueryArgs)

// collectQuery gathers the query arguments into st.pairs, stably sorted by
// name (values of one name keep their order). The slices point into ctx.
func collectQuery(ctx *fasthttp.RequestCtx, st *reqState) bool {
	args := ctx.QueryArgs()
	if args.Len() > maxQueryArgs {
		return false
	}
	pairs := st.pairs[:0]
	for k, v := range args.All() {
		pairs = append(pairs, kv{k, v})
	}
	slices.SortStableFunc(pairs, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	st.pairs = pairs
	st.queried = true
	return true
}

// cacheKey builds the cache key of a request in st.key: every path
// parameter and query argument, length-prefixed so that no two different
// requests share a key. It returns nil when the request is not cacheable
// (too many arguments, key too long).
func (g *Gateway) cacheKey(ctx *fasthttp.RequestCtx, rt *route, st *reqState) []byte {
	if !collectQuery(ctx, st) {
		return nil
	}
	b := st.key[:0]
	for i := 0; i < st.nparams; i++ {
		b = binary.AppendUvarint(b, uint64(len(st.params[i].val)))
		b = append(b, st.params[i].val...)
	}
	for _, p := range st.pairs {
		b = binary.AppendUvarint(b, uint64(len(p.k)))
		b = append(b, p.k...)
		b = binary.AppendUvarint(b, uint64(len(p.v)))
		b = append(b, p.v...)
	}
	st.key = b
	if len(b) > maxCacheKey {
		return nil
	}
	return b
}

// envelope appends the RPC request body to st.env:
// {"params":{...},"body":<raw>,"meta":{...}}. The client's body is copied
// in as it came (already checked to be valid JSON), never decoded.
func (g *Gateway) envelope(ctx *fasthttp.RequestCtx, st *reqState, body, idem []byte) ([]byte, error) {
	if !st.queried {
		if !collectQuery(ctx, st) {
			return nil, errTooManyArgs
		}
	}
	b := st.env[:0]
	b = append(b, '{')
	if st.nparams > 0 || len(st.pairs) > 0 {
		b = append(b, `"params":{`...)
		b = st.appendParams(b)
		b = append(b, "},"...)
	}
	if len(body) > 0 {
		b = append(b, `"body":`...)
		b = append(b, body...)
		b = append(b, ',')
	}
	b = append(b, `"meta":{"request_id":`...)
	b = appendJSONBytes(b, st.rid[:st.ridLen])
	b = append(b, `,"client_ip":"`...)
	b = g.clientIP(ctx).AppendTo(b)
	b = append(b, '"')
	if ua := ctx.Request.Header.UserAgent(); len(ua) > 0 {
		b = append(b, `,"user_agent":`...)
		b = appendJSONText(b, ua[:min(len(ua), maxUserAgent)])
	}
	if len(idem) > 0 {
		b = append(b, `,"idempotency_key":`...)
		b = appendJSONBytes(b, idem)
	}
	b = append(b, "}}"...)
	return b, nil
}

// appendParams appends the members of the envelope's params: each path
// parameter, then each query parameter with all its values in order (a
// query parameter named like a path parameter, or without a name, is
// left out).
func (st *reqState) appendParams(b []byte) []byte {
	n := 0
	for i := 0; i < st.nparams; i++ {
		if n > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, st.params[i].name)
		b = append(b, ":["...)
		b = appendJSONBytes(b, st.params[i].val)
		b = append(b, ']')
		n++
	}
	for i := 0; i < len(st.pairs); {
		k := st.pairs[i].k
		j := i
		for j < len(st.pairs) && bytes.Equal(st.pairs[j].k, k) {
			j++
		}
		if !st.isPathParam(k) && len(k) > 0 {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendJSONBytes(b, k)
			b = append(b, ":["...)
			for x := i; x < j; x++ {
				if x > i {
					b = append(b, ',')
				}
				b = appendJSONBytes(b, st.pairs[x].v)
			}
			b = append(b, ']')
			n++
		}
		i = j
	}
	return b
}

func (st *reqState) isPathParam(k []byte) bool {
	for i := 0; i < st.nparams; i++ {
		if st.params[i].name == string(k) {
			return true
		}
	}
	return false
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, so the result is always valid JSON.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONBytes is appendJSONString for a byte slice, without copying it
// into a string: the string view lives only for the call.
func appendJSONBytes(b, s []byte) []byte {
	return appendJSONString(b, unsafe.String(unsafe.SliceData(s), len(s)))
}

// appendJSONText is appendJSONBytes for free text the gateway passes on
// unchecked (the User-Agent): control characters, invalid UTF-8 and
// bidirectional controls become U+FFFD, so the services' decoder, which
// refuses them, never refuses a request for its User-Agent. Clean text
// allocates nothing.
func appendJSONText(b, s []byte) []byte {
	clean := true
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			if s[i] < 0x20 || s[i] == 0x7f {
				clean = false
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if (r == utf8.RuneError && size == 1) || bus.IsBidiControl(r) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return appendJSONBytes(b, s)
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || bus.IsBidiControl(r) {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return appendJSONBytes(b, out)
}
