package api

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/edgerec/edgerec/core/wire"
)

func sampleRequest() *Request {
	return &Request{
		UserID:      "u1",
		Context:     Context{Time: 1767225600, Region: "eu-west", Device: "mobile", Gender: "f", Age: 31, Attrs: map[string]string{"occupation": "nurse", "b": "x"}},
		History:     []Event{{Item: "i1", Time: 1767000000}, {Item: "i2", Time: 1767100000}},
		Seed:        "i3",
		Consumed:    []byte{1, 2, 3},
		Impressions: []Impression{{Item: "i9", Count: 2, Last: 1767200000}},
		K:           20,
		Filters:     &Filters{Exclude: []string{"i4"}},
		Sources:     map[string]float32{"twotower": 1, "popular": 0.5},
		Debug:       true,
		RequestID:   "0a1b2c3d-1",
	}
}

func TestRequestRoundTrip(t *testing.T) {
	want := sampleRequest()
	b, err := EncodeRequest(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	again, err := EncodeRequest(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Error("encode → decode → encode changed the bytes")
	}
	if got.Context.Region != want.Context.Region || got.Context.Age != want.Context.Age || got.Context.Attrs["occupation"] != "nurse" || got.Seed != want.Seed || len(got.History) != 2 || got.Sources["popular"] != 0.5 {
		t.Errorf("got %+v", got)
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	big := bytes.Repeat([]byte{0xc0}, MaxRequestBytes+1)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"oversized", big, "more than the limit"},
		{"empty", nil, "end of input"},
		{"not a map", []byte{0x01}, "malformed"},
		// A map {"history": array32 of 2³¹ elements} in 15 bytes: the
		// declared length must be refused before anything is allocated.
		{"hostile length", append([]byte{0x81, 0xa7}, append([]byte("history"), 0xdd, 0x80, 0, 0, 0)...), "more than the limit"},
		{"history list too long", mustEncode(t, &Request{History: make([]Event, MaxListLen+1)}), "more than the limit"},
		{"k too large", mustEncode(t, &Request{K: MaxK + 1}), "out of range"},
		{"negative k", mustEncode(t, &Request{K: -1}), "out of range"},
		{"age", mustEncode(t, &Request{Context: Context{Age: 999}}), "age"},
		{"trailing", append(mustEncode(t, &Request{}), 0), "trailing"},
		{"request id with space", mustEncode(t, &Request{RequestID: "a b"}), "request_id"},
		{"request id too long", mustEncode(t, &Request{RequestID: strings.Repeat("r", MaxRequestIDLen+1)}), "request_id"},
		{"request id control", mustEncode(t, &Request{RequestID: "a\x00"}), "request_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeRequest: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestValidRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"": false, "a": true, "0a1b-2c3d_42:x/y": true, strings.Repeat("r", MaxRequestIDLen): true,
		strings.Repeat("r", MaxRequestIDLen+1): false, "a b": false, "a\tb": false, "é": false, "a\x7f": false,
	} {
		if got := ValidRequestID(id); got != want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", id, got, want)
		}
	}
	r, err := DecodeRequest(mustEncode(t, &Request{RequestID: "req-7"}))
	if err != nil || r.RequestID != "req-7" {
		t.Fatalf("DecodeRequest: %v, %+v", err, r)
	}
}

func mustEncode(t *testing.T, r *Request) []byte {
	t.Helper()
	b, err := EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNormalize(t *testing.T) {
	r := &Request{}
	for i := 0; i < MaxHistory+7; i++ {
		r.History = append(r.History, Event{Item: "x", Time: int64(i)})
	}
	r.Impressions = make([]Impression, MaxImpressions+3)
	if got := r.Normalize(); got != 10 {
		t.Errorf("Normalize dropped %d, want 10", got)
	}
	if r.K != DefaultK || len(r.History) != MaxHistory || r.History[0].Time != 7 || len(r.Impressions) != MaxImpressions {
		t.Errorf("after Normalize: k=%d history=%d (first t=%d) impressions=%d", r.K, len(r.History), r.History[0].Time, len(r.Impressions))
	}
}

func TestWireError(t *testing.T) {
	_, err := DecodeRequest([]byte{0xc1})
	var we *wire.Error
	if !errors.As(err, &we) {
		t.Fatalf("got %v, want a *wire.Error", err)
	}
}

// FuzzDecodeRequest: arbitrary bytes give a request or an error, never a
// panic, and an accepted request re-encodes to bytes that decode again.
func FuzzDecodeRequest(f *testing.F) {
	good, err := EncodeRequest(sampleRequest())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x80})
	f.Add([]byte{0x81, 0xa7, 'h', 'i', 's', 't', 'o', 'r', 'y', 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeRequest(data)
		if err != nil {
			return
		}
		r.Normalize()
		b, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("accepted request does not re-encode: %v", err)
		}
		if _, err := DecodeRequest(b); err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
	})
}
