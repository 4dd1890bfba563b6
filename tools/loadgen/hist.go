package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram geometry: log-linear buckets in the manner of HdrHistogram.
// Values below 2·subHalf are counted exactly; above, each power-of-two range
// [subHalf·2^k, subHalf·2^(k+1)) is split into subHalf equal sub-buckets, so
// a bucket's width is at most 1/subHalf of its lower bound. With subHalf =
// 128 every recorded value is known to within 1/128 (0.78%) of itself, and
// the midpoint that Quantile reports is within half of that: better than 2
// significant digits, over the whole range.
const (
	subBits  = 8
	subCount = 1 << subBits // exact values 0..subCount-1
	subHalf  = subCount / 2
	// maxShift bounds the tracked range: values up to subCount·2^maxShift
	// nanoseconds (about 2^47 ns ≈ 39 hours); larger values are clamped.
	maxShift   = 39
	numBuckets = subCount + maxShift*subHalf
)

// HistogramMaxValue is the largest value a Histogram tells apart; larger
// values are recorded as this one (Max still reports the true maximum).
const HistogramMaxValue = int64(subCount)<<maxShift - 1

// Histogram counts non-negative int64 values (nanoseconds, in this package)
// with bounded relative error (see RelativeError). The zero value is empty
// and ready to use. It is not safe for concurrent use: give each goroutine
// its own, or guard it, and Merge them. Its size is fixed (~42 KB).
type Histogram struct {
	counts   [numBuckets]uint64
	total    uint64
	min, max int64
	sum      float64
}

// RelativeError is the largest relative distance between a recorded value
// and the value Quantile reports for it.
const RelativeError = 1.0 / (2 * subHalf)

func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	if v > HistogramMaxValue {
		v = HistogramMaxValue
	}
	shift := bits.Len64(uint64(v)) - subBits // ≥ 1
	return subCount + (shift-1)*subHalf + int(v>>uint(shift)) - subHalf
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	shift := (i-subCount)/subHalf + 1
	sub := int64((i-subCount)%subHalf + subHalf)
	lo = sub << uint(shift)
	return lo, lo + (int64(1) << uint(shift)) - 1
}

// Record counts one value; negative values count as 0.
func (h *Histogram) Record(v int64) { h.RecordN(v, 1) }

// RecordDuration counts one duration.
func (h *Histogram) RecordDuration(d time.Duration) { h.RecordN(int64(d), 1) }

// RecordN counts the value v n times.
func (h *Histogram) RecordN(v int64, n uint64) {
	if n == 0 {
		return
	}
	if v < 0 {
		v = 0
	}
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.counts[bucketOf(v)] += n
	h.total += n
	h.sum += float64(v) * float64(n)
}

// Merge adds every count of o to h. Merging is exact: a histogram of two
// merged halves equals the histogram of the whole.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Min and Max are the exact smallest and largest recorded values (0 when
// empty).
func (h *Histogram) Min() int64 { return h.min }

// Max is the exact largest recorded value (0 when empty).
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact mean of the recorded values (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Quantile returns the value at quantile q in [0,1]: the smallest recorded
// value v such that at least q of all values are ≤ v, to within
// RelativeError (the midpoint of its bucket, kept within [Min, Max]).
// Quantile(0) is Min and Quantile(1) is Max. An empty histogram returns 0.
func (h *Histogram) Quantile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	if q <= 0 {
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// QuantileDuration is Quantile as a time.Duration.
func (h *Histogram) QuantileDuration(q float64) time.Duration { return time.Duration(h.Quantile(q)) }
