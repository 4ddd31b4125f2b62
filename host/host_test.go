package host

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgerec/edgerec/core/abi"
	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/bundle"
	"github.com/edgerec/edgerec/core/bundle/bundletest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validRequest is a well-formed request; with no bundle loaded the guest
// answers it with "no bundle loaded".
func validRequest(tb testing.TB) []byte {
	tb.Helper()
	b, err := api.EncodeRequest(&api.Request{K: 10, History: []api.Event{{Item: "i1"}}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// wantGuestError fails unless err is a *GuestError from export whose message
// contains substr.
func wantGuestError(tb testing.TB, err error, export, substr string) {
	tb.Helper()
	var ge *GuestError
	if !errors.As(err, &ge) || !errors.Is(err, ErrGuest) {
		tb.Fatalf("error %v (%T), want a *GuestError matching ErrGuest", err, err)
	}
	if ge.Export != export {
		tb.Errorf("GuestError.Export = %q, want %q", ge.Export, export)
	}
	if ge.Message == "" || !strings.Contains(ge.Message, substr) {
		tb.Errorf("guest message %q, want one containing %q", ge.Message, substr)
	}
}

// wantUsable fails unless the instance still answers: with no bundle loaded,
// a valid request gets "no bundle loaded".
func wantUsable(tb testing.TB, in *Instance) {
	tb.Helper()
	_, err := in.RecommendBytes(context.Background(), validRequest(tb))
	wantGuestError(tb, err, abi.ExportRecommend, "no bundle loaded")
	if in.Broken() {
		tb.Fatal("instance broken")
	}
	if in.outstanding != 0 {
		tb.Fatalf("host holds %d guest buffers after the call, want 0", in.outstanding)
	}
}

func TestExports(t *testing.T) {
	defs := testModule.compiled.ExportedFunctions()
	for _, name := range []string{
		abi.ExportVersion, abi.ExportAlloc, abi.ExportFree,
		abi.ExportLoadBundle, abi.ExportRecommend, abi.ExportInitialize,
	} {
		if defs[name] == nil {
			t.Errorf("module lacks export %s", name)
		}
	}
	// Instantiate checks the version and every signature.
	newTestInstance(t)
}

func TestDigest(t *testing.T) {
	if d := testModule.Digest(); len(d) != 64 {
		t.Errorf("Digest() = %q, want 64 hex digits", d)
	}
}

// tinyReactor returns a hand-assembled module that exports
// edgerec_abi_version returning version and, if init, _initialize; nothing
// else.
func tinyReactor(version byte, init bool) []byte {
	section := func(id byte, body ...byte) []byte { return append([]byte{id, byte(len(body))}, body...) }
	name := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	types := section(1, 2, 0x60, 0, 0, 0x60, 0, 1, 0x7f) // () -> (), () -> i32
	funcs := section(3, 2, 1, 0)                         // f0: version, f1: init
	exports := []byte{1}
	exports = append(exports, name(abi.ExportVersion)...)
	exports = append(exports, 0, 0)
	if init {
		exports[0] = 2
		exports = append(exports, name(abi.ExportInitialize)...)
		exports = append(exports, 0, 1)
	}
	code := section(10, 2,
		4, 0, 0x41, version, 0x0b, // i32.const version
		2, 0, 0x0b)
	m := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range [][]byte{types, funcs, section(7, exports...), code} {
		m = append(m, s...)
	}
	return m
}

func TestABIVersion(t *testing.T) {
	ctx := context.Background()
	t.Run("mismatch", func(t *testing.T) {
		m, err := Compile(ctx, tinyReactor(2, true), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		_, err = m.Instantiate(ctx)
		if !errors.Is(err, ErrABIVersion) {
			t.Fatalf("Instantiate: %v, want ErrABIVersion", err)
		}
		if want := "module ABI version 2, host supports 1"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	})
	t.Run("missing exports", func(t *testing.T) {
		m, err := Compile(ctx, tinyReactor(byte(abi.Version), true), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		_, err = m.Instantiate(ctx)
		if !errors.Is(err, ErrABI) {
			t.Fatalf("Instantiate: %v, want ErrABI", err)
		}
	})
	t.Run("not a reactor", func(t *testing.T) {
		_, err := Compile(ctx, tinyReactor(byte(abi.Version), false), Options{})
		if !errors.Is(err, ErrABI) || !strings.Contains(err.Error(), "c-shared") {
			t.Fatalf("Compile: %v, want ErrABI naming c-shared", err)
		}
	})
}

// TestStart: Start returns before the compilation ends; a module that
// compiles instantiates, and one that does not fails Wait and Instantiate
// with Compile's error and closes without trouble.
func TestStart(t *testing.T) {
	ctx := context.Background()
	m, err := Start(ctx, testWasm, Options{CacheDir: testCacheDir})
	require.NoError(t, err)
	in, err := m.Instantiate(ctx)
	require.NoError(t, err)
	_, err = in.LoadBundle(ctx, bundletest.Encoded(100, 8, 1))
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	require.NoError(t, m.Close(ctx), "a second Close")

	bad, err := Start(ctx, tinyReactor(byte(abi.Version), false), Options{})
	require.NoError(t, err, "Start checks the options only")
	assert.ErrorIs(t, bad.Wait(), ErrABI)
	_, err = bad.Instantiate(ctx)
	assert.ErrorIs(t, err, ErrABI)
	assert.NoError(t, bad.Close(ctx))

	_, err = Start(ctx, testWasm, Options{MemoryLimitPages: maxPages + 1})
	assert.Error(t, err, "bad options fail at once")
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{MemoryLimitPages: maxPages + 1},
		{MaxBundleBytes: -1},
		{CallTimeout: -time.Second},
	} {
		if _, err := Compile(context.Background(), testWasm, o); err == nil {
			t.Errorf("Compile with %+v: no error", o)
		}
	}
	var o Options
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	// MaxBundleBytes stays 0: the limit follows each bundle's format
	// (BundleLimit).
	if o.MemoryLimitPages != DefaultMemoryLimitPages || o.MaxBundleBytes != 0 {
		t.Errorf("defaults: %+v", o)
	}
}

func TestAllocFree(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()
	alloc := func(size uint64) uint32 {
		t.Helper()
		r, err := in.call(ctx, abi.ExportAlloc, in.alloc, size, 0)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(r)
	}
	free := func(ptr uint32) {
		t.Helper()
		if _, err := in.call(ctx, abi.ExportFree, in.free, uint64(ptr), 0); err != nil {
			t.Fatal(err)
		}
	}
	if p := alloc(0); p != 0 {
		t.Errorf("alloc(0) = %#x, want 0", p)
	}
	if p := alloc(1<<30 + 1); p != 0 {
		t.Errorf("alloc(1 GiB + 1) = %#x, want 0", p)
	}
	p := alloc(100)
	if p == 0 {
		t.Fatal("alloc(100) = 0")
	}
	want := bytes.Repeat([]byte{0xa5}, 100)
	if !in.mem.Write(p, want) {
		t.Fatal("write outside memory")
	}
	q := alloc(100)
	if q == 0 || (q >= p && q < p+100) || (p >= q && p < q+100) {
		t.Fatalf("alloc(100) = %#x overlaps %#x", q, p)
	}
	if got, _ := in.mem.Read(p, 100); !bytes.Equal(got, want) {
		t.Error("buffer changed by another alloc")
	}
	free(p)
	free(p)     // double free: no-op
	free(12345) // unknown: no-op
	free(0)
	free(q)

	// Freed buffers are collected: 300 MiB through 1 MiB buffers must not
	// grow memory by more than a few MiB.
	free(alloc(1 << 20))
	before := in.MemoryBytes()
	for range 300 {
		free(alloc(1 << 20))
	}
	if grown := in.MemoryBytes() - before; grown > 16<<20 {
		t.Errorf("memory grew by %d MiB over 300 alloc/free pairs of 1 MiB", grown>>20)
	}
	wantUsable(t, in)
}

func TestLoadBundleBad(t *testing.T) {
	garbage := bytes.Repeat([]byte("not a bundle "), 100)
	for _, tc := range []struct {
		name   string
		bundle []byte
	}{
		{"garbage", garbage},
		{"empty", nil},
		{"one byte", []byte{0}},
		{"truncated", garbage[:7]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newTestInstance(t)
			_, err := in.LoadBundle(context.Background(), tc.bundle)
			wantGuestError(t, err, abi.ExportLoadBundle, "")
			t.Logf("guest says: %v", err)
			wantUsable(t, in) // and nothing got loaded
		})
	}
}

func TestLoadBundleTooLarge(t *testing.T) {
	in := newTestInstance(t)
	in.maxBundle = 1000
	_, err := in.LoadBundle(context.Background(), make([]byte, 1001))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("LoadBundle: %v, want ErrTooLarge", err)
	}
	wantUsable(t, in)
	// By default the operator is told which memory limit admits it: for
	// bytes of no known format, four times them, in MiB rounded up.
	in.maxBundle, in.memLimit = 0, 32<<20
	_, err = in.LoadBundle(context.Background(), make([]byte, 10<<20+1))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "edgerec serve --max-memory 41 admits it") {
		t.Fatalf("LoadBundle of 10 MiB + 1: %v, want the --max-memory that admits it", err)
	}
	// Nothing admits more than the guest allocates.
	in.memLimit = 4 << 30
	err = in.admit(nil, abi.MaxAlloc+1)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "no memory limit admits it") {
		t.Fatalf("LoadBundle of 1 GiB + 1: %v, want no memory limit to admit it", err)
	}
}

// TestBundleLimit: bundles of format 3 and later, served from their own
// bytes, may take three quarters of what 16 MiB leave; older ones a
// quarter; never less than a quarter.
func TestBundleLimit(t *testing.T) {
	for _, c := range []struct {
		major   uint16
		mib     uint64
		wantMiB float64
	}{
		{1, 1024, 256}, {2, 1024, 256}, {0, 1024, 256},
		{3, 1024, 756}, {4, 1024, 756}, {4, 40, 18}, {4, 20, 5}, {4, 16, 4},
		{4, 4096, 1024}, {1, 8192, 1024}, // abi.MaxAlloc
	} {
		got := float64(BundleLimit(c.major, c.mib<<20)) / (1 << 20)
		assert.Equal(t, c.wantMiB, got, "format %d, %d MiB", c.major, c.mib)
	}
}

// TestLoadBundleByFormat: a 12 MB format-4 bundle, more than a quarter of
// a 40 MiB memory limit, loads and serves in it (the guest holds little
// beside its bytes); the same bytes with a bad header, a format the host
// cannot read, are held to the quarter.
func TestLoadBundleByFormat(t *testing.T) {
	ctx := context.Background()
	mod, err := Compile(ctx, testWasm, Options{CacheDir: testCacheDir, MemoryLimitPages: 40 * 16})
	require.NoError(t, err)
	defer mod.Close(ctx)
	in, err := mod.Instantiate(ctx)
	require.NoError(t, err)
	defer in.Close(ctx)
	data, err := bundle.Encode(bundletest.Random(50_000, 64, 1))
	require.NoError(t, err)
	require.Greater(t, len(data), 10<<20, "more than a quarter of 40 MiB")
	_, err = in.LoadBundle(ctx, data)
	require.NoError(t, err)
	resp, err := in.Recommend(ctx, &api.Request{K: 5, History: []api.Event{{Item: bundletest.ID(7)}}})
	require.NoError(t, err)
	assert.Len(t, resp.Items, 5)

	// Into an instance that holds it, the same bundle again is held to a
	// quarter (room for both while it loads), and the loaded one serves on.
	_, err = in.LoadBundle(ctx, data)
	require.ErrorIs(t, err, ErrTooLarge)
	assert.ErrorContains(t, err, "holds a bundle")
	resp, err = in.Recommend(ctx, &api.Request{K: 5})
	require.NoError(t, err, "the loaded bundle serves on")
	assert.Len(t, resp.Items, 5)

	fresh, err := mod.Instantiate(ctx)
	require.NoError(t, err)
	defer fresh.Close(ctx)
	bad := slices.Clone(data)
	bad[8] = 9 // the major version: the header's checksum no longer holds
	_, err = fresh.LoadBundle(ctx, bad)
	require.ErrorIs(t, err, ErrTooLarge, "an unreadable header is held to a quarter")
	assert.ErrorContains(t, err, "a header that cannot be read")
}

// TestLoadCost: for format 3 and later the sections the guest decodes
// count six times over; the bytes alone otherwise.
func TestLoadCost(t *testing.T) {
	data, err := bundle.Encode(bundletest.Random(2000, 16, 1))
	require.NoError(t, err)
	h, err := bundle.ReadHeader(data)
	require.NoError(t, err)
	var decoded uint64
	for _, e := range h.Entries {
		if !bundle.UsedInPlace(e.Tag) {
			decoded += e.Raw
		}
	}
	require.Positive(t, decoded, "the manifest and the towers are decoded")
	assert.Equal(t, uint64(len(data))+5*decoded, loadCost(h, uint64(len(data))))
	assert.Equal(t, uint64(len(data)), loadCost(nil, uint64(len(data))))
	old := *h
	old.Major = 2
	assert.Equal(t, uint64(len(data)), loadCost(&old, uint64(len(data))))
}

func TestRecommendNoBundle(t *testing.T) {
	in := newTestInstance(t)
	_, err := in.Recommend(context.Background(), &api.Request{K: 5})
	wantGuestError(t, err, abi.ExportRecommend, "no bundle loaded")
	if ge := new(GuestError); errors.As(err, &ge) && ge.Message != "no bundle loaded" {
		t.Errorf("message %q, want exactly %q", ge.Message, "no bundle loaded")
	}
}

func TestRecommendBadRequest(t *testing.T) {
	negK, err := api.EncodeRequest(&api.Request{K: -1})
	if err != nil {
		t.Fatal(err)
	}
	in := newTestInstance(t)
	for _, tc := range []struct {
		name string
		req  []byte
		want string
	}{
		{"empty", nil, "malformed request"},
		{"reserved byte", []byte{0xc1}, "malformed request"},
		{"truncated map", []byte{0x81}, "malformed request"},
		{"trailing bytes", append(validRequest(t), 0), "malformed request"},
		{"not a map", []byte{0x05}, "malformed request"},
		{"hostile array length", []byte{0x81, 0xa7, 'h', 'i', 's', 't', 'o', 'r', 'y', 0xdd, 0x7f, 0xff, 0xff, 0xff}, "malformed request"},
		{"k out of range", negK, "k = -1 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := in.RecommendBytes(context.Background(), tc.req)
			wantGuestError(t, err, abi.ExportRecommend, tc.want)
			wantUsable(t, in)
		})
	}
}

func TestRecommendTooLarge(t *testing.T) {
	in := newTestInstance(t)
	big := make([]byte, api.MaxRequestBytes+1)
	_, err := in.RecommendBytes(context.Background(), big)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than the limit") {
		t.Fatalf("host side: %v, want ErrTooLarge", err)
	}
	wantUsable(t, in)

	// The guest refuses it too, for hosts that do not check.
	ctx := context.Background()
	r, err := in.call(ctx, abi.ExportAlloc, in.alloc, uint64(len(big)), 0)
	if err != nil || r == 0 {
		t.Fatalf("alloc: %#x, %v", r, err)
	}
	ptr := uint32(r)
	defer in.call(ctx, abi.ExportFree, in.free, uint64(ptr), 0)
	r, err = in.call(ctx, abi.ExportRecommend, in.recommend, uint64(ptr), uint64(len(big)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.result(ctx, abi.ExportRecommend, r)
	wantGuestError(t, err, abi.ExportRecommend, "more than the limit")
}

func TestRecommendBadBuffer(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()
	raw := func(export string, f func() (uint64, error)) error {
		t.Helper()
		r, err := f()
		if err != nil {
			t.Fatal(err)
		}
		_, err = in.result(ctx, export, r)
		return err
	}
	err := raw(abi.ExportRecommend, func() (uint64, error) {
		return in.call(ctx, abi.ExportRecommend, in.recommend, 12345, 10)
	})
	wantGuestError(t, err, abi.ExportRecommend, "was not returned by edgerec_alloc")

	r, _ := in.call(ctx, abi.ExportAlloc, in.alloc, 8, 0)
	ptr := uint64(uint32(r))
	err = raw(abi.ExportRecommend, func() (uint64, error) {
		return in.call(ctx, abi.ExportRecommend, in.recommend, ptr, 9)
	})
	wantGuestError(t, err, abi.ExportRecommend, "exceeds the 8-byte buffer")
	in.call(ctx, abi.ExportFree, in.free, ptr, 0)

	err = raw(abi.ExportLoadBundle, func() (uint64, error) {
		return in.call(ctx, abi.ExportLoadBundle, in.loadBundle, 12345, 10)
	})
	wantGuestError(t, err, abi.ExportLoadBundle, "was not returned by edgerec_alloc")
	wantUsable(t, in)
}

// TestNoLeak runs many failing calls with 64 KiB inputs: if the host or the
// guest kept any input or result, memory would grow by over 100 MiB.
func TestNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	in := newTestInstance(t)
	ctx := context.Background()
	req := bytes.Repeat([]byte{0xc1}, 64<<10)
	bundle := bytes.Repeat([]byte{0x42}, 64<<10)
	step := func() {
		if _, err := in.RecommendBytes(ctx, req); !errors.Is(err, ErrGuest) {
			t.Fatalf("RecommendBytes: %v, want ErrGuest", err)
		}
		if _, err := in.LoadBundle(ctx, bundle); !errors.Is(err, ErrGuest) {
			t.Fatalf("LoadBundle: %v, want ErrGuest", err)
		}
	}
	for range 100 {
		step()
	}
	before := in.MemoryBytes()
	for range 2000 {
		step()
	}
	after := in.MemoryBytes()
	t.Logf("memory %d MiB after warm-up, %d MiB after 2000 more rounds", before>>20, after>>20)
	if after-before > 16<<20 {
		t.Errorf("memory grew by %d MiB", (after-before)>>20)
	}
	wantUsable(t, in)
}

func TestTrap(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()
	// 1 GiB passes alloc's own limit but not the 1 GiB memory limit: the Go
	// runtime in the guest dies of out of memory.
	_, err := in.call(ctx, abi.ExportAlloc, in.alloc, 1<<30, 0)
	if !errors.Is(err, ErrTrap) {
		t.Fatalf("alloc(1 GiB): %v, want ErrTrap", err)
	}
	t.Logf("trap: %v", err)
	if !in.Broken() {
		t.Error("Broken() = false after a trap")
	}
	if _, err := in.RecommendBytes(ctx, validRequest(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("call after trap: %v, want ErrClosed", err)
	}
	if _, err := in.LoadBundle(ctx, []byte{1}); !errors.Is(err, ErrClosed) {
		t.Errorf("load after trap: %v, want ErrClosed", err)
	}
	if err := in.Close(ctx); err != nil {
		t.Errorf("Close after trap: %v", err)
	}
	// Other instances of the module are unaffected.
	wantUsable(t, newTestInstance(t))
}

func TestContextDone(t *testing.T) {
	in := newTestInstance(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := in.RecommendBytes(ctx, validRequest(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired context: %v, want context.DeadlineExceeded", err)
	}
	if _, err := in.LoadBundle(ctx, []byte{1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired context: %v, want context.DeadlineExceeded", err)
	}
	wantUsable(t, in) // refused before the guest ran
}

// TestCallTimeout stops a call that runs too long; that needs an
// interruptible module.
func TestCallTimeout(t *testing.T) {
	// Scanning 50k items takes far longer than 2 ms in an interruptible
	// instance (about 10 ms even without the interruption checks).
	in := newInterruptibleInstance(t, 2*time.Millisecond)
	if _, err := in.LoadBundle(context.Background(), bundletest.Encoded(50_000, 64, 1)); err != nil {
		t.Fatal(err)
	}
	req, err := api.EncodeRequest(&api.Request{K: 10})
	if err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		start := time.Now()
		_, err = in.RecommendBytes(context.Background(), req)
		t.Logf("stopped after %v: %v", time.Since(start), err)
		// On a loaded machine the 2 ms may pass before the guest is
		// entered: the call is refused with the bare deadline and the
		// instance stays usable (nothing ran). Ask again.
		if try == 4 || errors.Is(err, ErrTrap) || !errors.Is(err, context.DeadlineExceeded) || in.Broken() {
			break
		}
	}
	if !errors.Is(err, ErrTrap) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RecommendBytes: %v, want ErrTrap and context.DeadlineExceeded", err)
	}
	if !in.Broken() {
		t.Error("Broken() = false after a timeout")
	}

	// A short call finishes within the limit.
	in = newInterruptibleInstance(t, time.Minute)
	wantUsable(t, in)

	if _, err := Compile(context.Background(), testWasm, Options{CallTimeout: time.Second}); err == nil {
		t.Error("Compile accepted CallTimeout without Interruptible")
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	in := newTestInstance(t)
	if err := in.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := in.RecommendBytes(ctx, validRequest(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if in.MemoryBytes() != 0 {
		t.Error("MemoryBytes after Close is not 0")
	}
}

func TestModuleClose(t *testing.T) {
	ctx := context.Background()
	m, err := Compile(ctx, testWasm, Options{CacheDir: testCacheDir})
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := in.RecommendBytes(ctx, validRequest(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Module.Close: %v, want ErrClosed", err)
	}
}

func TestRequestBuffer(t *testing.T) {
	in := newTestInstance(t)
	ctx := context.Background()
	// Growing, shrinking and oversized requests all reach the guest intact:
	// each is one msgpack string, so the guest reports "malformed request"
	// only for its type, never for truncation.
	for _, n := range []int{10, 5000, 100, 70000, 3, 40000, 200000, 1} {
		req := append([]byte{0xdb, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, bytes.Repeat([]byte{'x'}, n)...)
		_, err := in.RecommendBytes(ctx, req)
		wantGuestError(t, err, abi.ExportRecommend, "malformed request")
		if strings.Contains(err.Error(), "exceeds") || strings.Contains(err.Error(), "trailing") {
			t.Errorf("n=%d: request damaged in transit: %v", n, err)
		}
		if in.outstanding != 0 {
			t.Fatalf("n=%d: %d buffers outstanding", n, in.outstanding)
		}
	}
	if in.reqCap != maxRequestBuffer {
		t.Errorf("kept request buffer is %d bytes, want %d", in.reqCap, maxRequestBuffer)
	}
	wantUsable(t, in)
}

func TestLoadModuleFile(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadModuleFile(filepath.Join(dir, "recommender.wasm"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "make build") {
		t.Errorf("missing file: %v, want fs.ErrNotExist and a hint to run make build", err)
	}
	p := filepath.Join(dir, "text.wasm")
	if err := os.WriteFile(p, []byte("hello, world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModuleFile(p); err == nil || !strings.Contains(err.Error(), "not a WebAssembly module") {
		t.Errorf("text file: %v, want not a WebAssembly module", err)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	if d := DefaultCacheDir(); d != "" && !strings.HasSuffix(d, filepath.Join("edgerec", "wazero")) {
		t.Errorf("DefaultCacheDir() = %q", d)
	}
}
