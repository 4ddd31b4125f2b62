package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bloom"
)

// TestBloomMatchesNative runs a sequence of filter operations through the
// module and through bloom.ApplyBytes natively: the results must be equal
// byte for byte, and Bloom must decode to what bloom.Apply returns.
func TestBloomMatchesNative(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()

	ids := make([]string, api.MaxBloomOpItems)
	for i := range ids {
		switch i % 3 {
		case 0:
			ids[i] = fmt.Sprintf("tt%07d", i)
		case 1:
			ids[i] = fmt.Sprintf("café-%d", i)
		default:
			ids[i] = fmt.Sprintf("日本語/%x", i*7919)
		}
	}
	// big is a filter for 100,000 items: 120 KB, larger than the kept
	// request buffer, so that the op takes a temporary guest buffer.
	big, err := bloom.Apply(&api.BloomOp{Op: api.BloomAdd, Expected: 100_000, FPRate: 0.01, Items: ids[:100]})
	if err != nil {
		t.Fatal(err)
	}
	var filter []byte // threaded through the steps, from the module's results
	steps := []struct {
		name  string
		op    func() *api.BloomOp
		chain bool // the result's filter is the next steps' input
	}{
		{"new", func() *api.BloomOp { return &api.BloomOp{Op: api.BloomNew, Expected: 5000, FPRate: 0.01} }, true},
		{"add to it", func() *api.BloomOp { return &api.BloomOp{Op: api.BloomAdd, Filter: filter, Items: ids[:2000]} }, true},
		{"add more", func() *api.BloomOp { return &api.BloomOp{Op: api.BloomAdd, Filter: filter, Items: ids[2000:3000]} }, true},
		{"check", func() *api.BloomOp { return &api.BloomOp{Op: api.BloomCheck, Filter: filter, Items: ids} }, false},
		{"add to a new filter", func() *api.BloomOp {
			return &api.BloomOp{Op: api.BloomAdd, Expected: 10, FPRate: 0.05, Items: []string{"a", "b", "🎬"}}
		}, false},
		{"add to a large filter", func() *api.BloomOp { return &api.BloomOp{Op: api.BloomAdd, Filter: big.Filter, Items: ids} }, false},
		{"check a large filter", func() *api.BloomOp { return &api.BloomOp{Op: api.BloomCheck, Filter: big.Filter, Items: ids} }, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			op := s.op()
			enc, err := api.EncodeBloomOp(op)
			if err != nil {
				t.Fatal(err)
			}
			want, err := bloom.ApplyBytes(enc)
			if err != nil {
				t.Fatal(err)
			}
			got, err := in.bloomBytes(ctx, enc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("module result (%d bytes) differs from the native one (%d bytes)", len(got), len(want))
			}
			res, err := in.Bloom(ctx, op)
			if err != nil {
				t.Fatal(err)
			}
			native, err := bloom.Apply(op)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(res.Filter, native.Filter) || !slices.Equal(res.Contains, native.Contains) {
				t.Fatal("Bloom's decoded result differs from bloom.Apply's")
			}
			if op.Op == api.BloomCheck {
				n := 0
				for _, c := range res.Contains {
					if c {
						n++
					}
				}
				t.Logf("%d of %d items may be contained", n, len(res.Contains))
			}
			if s.chain {
				filter = res.Filter
			}
			if in.outstanding != 0 {
				t.Fatalf("host holds %d guest buffers after the call, want 0", in.outstanding)
			}
		})
	}
	// After "add to it" and "add more", the first 3000 ids are members.
	res, err := in.Bloom(ctx, &api.BloomOp{Op: api.BloomCheck, Filter: filter, Items: ids[:3000]})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(res.Contains, false); i >= 0 {
		t.Errorf("added item %q is not contained", ids[i])
	}
	wantUsable(t, in)
}

// TestBloomBadInput: every refused op is an error result (ErrGuest) with
// the same message as the native bloom.ApplyBytes, and the instance stays
// usable.
func TestBloomBadInput(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()
	good, err := bloom.Apply(&api.BloomOp{Op: api.BloomAdd, Expected: 100, FPRate: 0.01, Items: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(good.Filter)
	damaged[20] ^= 1
	enc := func(op *api.BloomOp) []byte {
		b, err := api.EncodeBloomOp(op)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tooMany := make([]string, api.MaxBloomOpItems+1)
	for i := range tooMany {
		tooMany[i] = "x"
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "malformed op"},
		{"reserved byte", []byte{0xc1}, "malformed op: msgpack: reserved type byte 0xc1"},
		{"hostile length", []byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0xdd, 0xff, 0xff, 0xff, 0xff}, "malformed op"},
		{"unknown op", enc(&api.BloomOp{Op: "delete"}), `unknown op "delete"`},
		{"damaged filter", enc(&api.BloomOp{Op: api.BloomCheck, Filter: damaged, Items: []string{"a"}}), "checksum"},
		{"not a filter", enc(&api.BloomOp{Op: api.BloomCheck, Filter: []byte("hello, world"), Items: []string{"a"}}), "magic"},
		{"no filter", enc(&api.BloomOp{Op: api.BloomCheck, Items: []string{"a"}}), "needs a filter"},
		{"bad rate", enc(&api.BloomOp{Op: api.BloomNew, Expected: 10, FPRate: 1.5}), "p = 1.5"},
		{"too large a filter", enc(&api.BloomOp{Op: api.BloomNew, Expected: 1 << 30, FPRate: 0.001}), "more than the limit"},
		{"too many items", enc(&api.BloomOp{Op: api.BloomAdd, Filter: good.Filter, Items: tooMany}), "more than the limit of 4096"},
		{"empty item", enc(&api.BloomOp{Op: api.BloomAdd, Filter: good.Filter, Items: []string{""}}), "items[0] is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := in.bloomBytes(ctx, tc.in)
			wantGuestError(t, err, abi.ExportBloom, tc.want)
			if _, nerr := bloom.ApplyBytes(tc.in); nerr == nil {
				t.Error("bloom.ApplyBytes accepted the input natively")
			} else if ge := (*GuestError)(nil); errors.As(err, &ge) && ge.Message != nerr.Error() {
				t.Errorf("guest message %q, native error %q", ge.Message, nerr)
			}
			wantUsable(t, in)
		})
	}
	// And it still does its job.
	res, err := in.Bloom(ctx, &api.BloomOp{Op: api.BloomCheck, Filter: good.Filter, Items: []string{"a"}})
	if err != nil || !slices.Equal(res.Contains, []bool{true}) {
		t.Fatalf("Bloom after the refusals = %+v, %v", res, err)
	}
}

func TestBloomTooLarge(t *testing.T) {
	in := newTestInstance(t)
	big := make([]byte, api.MaxBloomOpBytes+1)
	if _, err := in.bloomBytes(context.Background(), big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bloomBytes of %d bytes: %v, want ErrTooLarge", len(big), err)
	}
	wantUsable(t, in)
}

func TestBloomClosed(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()
	in.Close(ctx)
	if _, err := in.Bloom(ctx, &api.BloomOp{Op: api.BloomNew, Expected: 10, FPRate: 0.01}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Bloom on a closed instance: %v, want ErrClosed", err)
	}
}

func TestBloomContextDone(t *testing.T) {
	in := newTestInstance(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.Bloom(ctx, &api.BloomOp{Op: api.BloomNew, Expected: 10, FPRate: 0.01}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Bloom with a cancelled context: %v, want context.Canceled", err)
	}
	wantUsable(t, in)
}

// BenchmarkBloom measures a check of 10 ids against a filter for 10,000
// items through the module, beside the same op natively.
func BenchmarkBloom(b *testing.B) {
	in := newTestInstance(b)
	ctx := context.Background()
	added, err := bloom.Apply(&api.BloomOp{Op: api.BloomAdd, Expected: 10_000, FPRate: 0.01, Items: []string{"a", "b"}})
	if err != nil {
		b.Fatal(err)
	}
	op := &api.BloomOp{Op: api.BloomCheck, Filter: added.Filter, Items: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}}
	b.Run("module", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := in.Bloom(ctx, op); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bloom.Apply(op); err != nil {
				b.Fatal(err)
			}
		}
	})
}
