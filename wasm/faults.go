//go:build wasip1 && edgerec_faults

package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/edgerec/edgerec/core/api"
)

// This file is built only with -tags edgerec_faults, into a test module
// that host/server's fault tests run: a request whose user_id names a
// fault makes the guest misbehave as a buggy or hostile module could.
//
//	fault:exit      the guest calls proc_exit: the call traps
//	fault:oom       the guest allocates until the Go runtime dies (out of memory)
//	fault:spin:MS   the guest computes for MS milliseconds before answering
//	fault:echo      the guest answers with the request's bytes as it received them

func init() { faultHook = fault }

// sink keeps the allocations and the loop of fault alive.
var sink [][]byte

func fault(raw []byte, req *api.Request) []byte {
	switch {
	case req.UserID == "fault:echo":
		return bytes.Clone(raw)
	case req.UserID == "fault:exit":
		os.Exit(3)
	case req.UserID == "fault:oom":
		for {
			sink = append(sink, make([]byte, 16<<20))
		}
	case strings.HasPrefix(req.UserID, "fault:spin:"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(req.UserID, "fault:spin:"))
		end := time.Now().Add(time.Duration(ms) * time.Millisecond)
		n := 0
		for time.Now().Before(end) {
			n++
		}
		sink = append(sink[:0], make([]byte, n&1))
	}
	return nil
}
