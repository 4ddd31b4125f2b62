// Command testreport runs the phases of `make test` and reports on them: a
// line per package as it finishes, a line when a phase goes quiet for a
// while, the output of failed tests, and at the end every skipped test
// with its reason and the command that enables it, and one closing line
// "tests: N passed, N failed, N skipped" (one word and a colon before the
// counts, as plain test logs close).
//
// Usage:
//
//	testreport go    -phase NAME -state DIR [-show REGEXP] -- go test -json ARGS...
//	testreport tap   -phase NAME -state DIR [-seconds S] FILE   (a node --test TAP report)
//	testreport begin -state DIR                       (empties DIR's phase records)
//	testreport summary -state DIR [-since UNIXTIME]
//
// go runs the command (which must print `go test -json` events) and exits
// with its status; tests whose name matches -show have their output
// printed as they run (the quality figures). Each phase leaves a record in
// DIR that summary reads.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// quiet is how long a phase may print nothing before a line says what is
// still running.
const quiet = 30 * time.Second

// module is stripped from package paths in the report.
const module = "github.com/edgerec/edgerec/"

// record is what one phase leaves for the summary.
type record struct {
	Phase   string  `json:"phase"`
	Seconds float64 `json:"seconds"`
	// CPU is the user and system time of the phase's processes: on a
	// machine shared with other work, wall time grows and CPU time does
	// not, and on an idle one wall time is at least CPU over the cores.
	CPU     float64 `json:"cpu_seconds"`
	Passed  int     `json:"passed"`
	Failed  int     `json:"failed"`
	Skipped int     `json:"skipped"`
	Skips   []skip  `json:"skips"`
	Status  int     `json:"status"`
}

// skip is one skipped test.
type skip struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	Reason  string `json:"reason"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testreport go|tap|begin|summary ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("testreport "+os.Args[1], flag.ExitOnError)
	phase := fs.String("phase", "", "phase name")
	state := fs.String("state", "out/test", "directory of the phase records")
	show := fs.String("show", "", "print the output of tests matching this regexp")
	seconds := fs.Int("seconds", 0, "tap: the phase's wall time (else the report's duration)")
	since := fs.Int64("since", 0, "summary: Unix time make test started, for the total")
	fs.Parse(os.Args[2:])
	var err error
	status := 0
	switch os.Args[1] {
	case "go":
		status, err = runGo(*phase, *state, *show, fs.Args())
	case "tap":
		if fs.NArg() != 1 {
			err = errors.New("tap wants one TAP file")
			break
		}
		err = readTAP(*phase, *state, fs.Arg(0), *seconds)
	case "begin":
		os.RemoveAll(*state)
		err = os.MkdirAll(*state, 0o755)
	case "summary":
		status, err = summary(os.Stdout, *state, *since)
	default:
		err = fmt.Errorf("unknown action %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	os.Exit(status)
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// pkgState is what is known of a package while it runs.
type pkgState struct {
	start            time.Time
	passed, failed   int
	skipped          int
	out              map[string][]string // output by test ("" the package)
	failedTests      []string
	printedBuildFail bool
}

// runGo runs args, reading `go test -json` from its standard output.
func runGo(phase, state, show string, args []string) (int, error) {
	if len(args) == 0 {
		return 0, errors.New("go wants a command after --")
	}
	var showRE *regexp.Regexp
	if show != "" {
		var err error
		if showRE, err = regexp.Compile(show); err != nil {
			return 0, err
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}

	var mu sync.Mutex
	last := time.Now()
	running := map[string]*pkgState{}
	printf := func(format string, a ...any) {
		fmt.Printf(format, a...)
		last = time.Now()
	}
	done := make(chan struct{})
	go func() { // a line when nothing was printed for a while
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				mu.Lock()
				if time.Since(last) >= quiet && len(running) > 0 {
					var names []string
					for p, s := range running {
						names = append(names, fmt.Sprintf("%s (%ds)", short(p), int(time.Since(s.start).Seconds())))
					}
					sort.Strings(names)
					printf("   … still running: %s\n", strings.Join(names, ", "))
				}
				mu.Unlock()
			}
		}
	}()

	rec := record{Phase: phase}
	pkgs := map[string]*pkgState{}
	get := func(p string) *pkgState {
		s := pkgs[p]
		if s == nil {
			s = &pkgState{start: time.Now(), out: map[string][]string{}}
			pkgs[p] = s
			running[p] = s
		}
		return s
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			mu.Lock()
			printf("%s\n", line) // not an event: a build error, say
			mu.Unlock()
			continue
		}
		mu.Lock()
		switch {
		case e.Action == "build-output":
			printf("%s", e.Output)
		case e.Package == "":
		case e.Test == "" && e.Action == "start":
			get(e.Package)
		case e.Test == "" && (e.Action == "pass" || e.Action == "fail" || e.Action == "skip"):
			s := get(e.Package)
			delete(running, e.Package)
			rec.Passed += s.passed
			rec.Failed += s.failed
			rec.Skipped += s.skipped
			counts := fmt.Sprintf("%d passed", s.passed)
			if s.skipped > 0 {
				counts += fmt.Sprintf(", %d skipped", s.skipped)
			}
			switch {
			case e.Action == "skip" || s.passed+s.failed+s.skipped == 0 && e.Action == "pass":
				// no test files, or none that ran: not worth a line
			case e.Action == "pass":
				printf("   ok    %-32s %6.1fs  %s\n", short(e.Package), e.Elapsed, counts)
			default:
				for _, t := range s.failedTests {
					printf("%s", strings.Join(s.out[t], ""))
				}
				if len(s.failedTests) == 0 { // a build failure or a panic outside a test
					printf("%s", strings.Join(s.out[""], ""))
				}
				what := fmt.Sprintf("%d failed: %s", s.failed, strings.Join(s.failedTests, ", "))
				if len(s.failedTests) == 0 {
					what = "failed outside its tests (a build error, a panic, a timeout: the lines above)"
				}
				printf("   FAIL  %-32s %6.1fs  %s\n", short(e.Package), e.Elapsed, what)
				if s.failed == 0 {
					rec.Failed++ // the package failed as a whole
				}
			}
		case e.Action == "output":
			s := get(e.Package)
			s.out[e.Test] = append(s.out[e.Test], e.Output)
			if e.Test != "" && showRE != nil && showRE.MatchString(e.Test) {
				printf("%s", e.Output)
			}
		case e.Test != "" && e.Action == "pass" && !strings.Contains(e.Test, "/"):
			get(e.Package).passed++
		case e.Test != "" && e.Action == "fail":
			s := get(e.Package)
			if !strings.Contains(e.Test, "/") {
				s.failed++
			}
			s.failedTests = append(s.failedTests, e.Test)
		case e.Test != "" && e.Action == "skip":
			s := get(e.Package)
			if !strings.Contains(e.Test, "/") {
				s.skipped++
			}
			rec.Skips = append(rec.Skips, skip{Package: short(e.Package), Test: e.Test, Reason: reason(s.out[e.Test])})
		}
		mu.Unlock()
	}
	err = cmd.Wait()
	close(done)
	rec.Seconds = time.Since(start).Seconds()
	if ps := cmd.ProcessState; ps != nil {
		rec.CPU = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return 0, err
		}
		rec.Status = ee.ExitCode()
		if rec.Failed == 0 {
			rec.Failed = 1 // failed before any test: a build error
		}
	}
	return rec.Status, save(state, rec)
}

// reason is a skipped test's own output, less the lines test2json frames
// it with.
func reason(out []string) string {
	var b []string
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") || strings.Trim(t, "*") == "" {
			continue
		}
		t = strings.TrimSpace(strings.TrimPrefix(t, "*"))
		// "file_test.go:12: message" → "message"
		if i := strings.Index(t, ": "); i > 0 && strings.Contains(t[:i], "_test.go:") {
			t = t[i+2:]
		}
		b = append(b, t)
	}
	return strings.Join(b, " ")
}

// readTAP records the counts and the skipped tests of a node --test TAP
// report.
func readTAP(phase, state, file string, seconds int) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	rec := record{Phase: phase}
	skipRE := regexp.MustCompile(`^\s*ok \d+ - (.*?) # SKIP\s*(.*)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if m := skipRE.FindStringSubmatch(l); m != nil {
			rec.Skips = append(rec.Skips, skip{Package: "web-demo", Test: m[1], Reason: m[2]})
			continue
		}
		// The totals are the report's last, unindented, lines.
		for _, c := range []struct {
			prefix string
			n      *int
		}{{"# pass ", &rec.Passed}, {"# fail ", &rec.Failed}, {"# skipped ", &rec.Skipped}, {"# duration_ms ", nil}} {
			if v, ok := strings.CutPrefix(l, c.prefix); ok {
				x, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if c.n != nil {
					*c.n = int(x)
				} else {
					rec.Seconds = x / 1000
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if seconds > 0 {
		rec.Seconds = float64(seconds)
	}
	return save(state, rec)
}

func save(state string, rec record) error {
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	name := strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(rec.Phase))
	return os.WriteFile(filepath.Join(state, name+".json"), b, 0o644)
}

// summary prints the phases' times, the skipped tests and the closing
// line; its status is 1 when a phase failed.
func summary(w io.Writer, state string, since int64) (int, error) {
	paths, err := filepath.Glob(filepath.Join(state, "*.json"))
	if err != nil {
		return 0, err
	}
	var recs []record
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Phase < recs[j].Phase })
	var total record
	fmt.Fprintln(w, "\n== make test: summary ==")
	for _, r := range recs {
		cpu := ""
		if r.CPU > 0 {
			cpu = fmt.Sprintf(" (CPU %.0fs)", r.CPU)
		}
		fmt.Fprintf(w, "   %-28s %6.0fs%s  %d passed, %d failed, %d skipped\n", r.Phase, r.Seconds, cpu, r.Passed, r.Failed, r.Skipped)
		total.Passed += r.Passed
		total.Failed += r.Failed
		total.Skipped += r.Skipped
		total.Skips = append(total.Skips, r.Skips...)
	}
	if since > 0 {
		fmt.Fprintf(w, "   %-28s %6ds (2 beside 1, then 3 beside the end of 2)\n", "total", time.Now().Unix()-since)
	}
	if len(total.Skips) > 0 {
		fmt.Fprintf(w, "\nSkipped (%d):\n", len(total.Skips))
		for _, s := range total.Skips {
			fmt.Fprintf(w, "   %s %s\n      why:    %s\n      enable: %s\n", s.Package, s.Test, s.Reason, enable(s))
		}
	}
	status := 0
	if total.Failed > 0 {
		status = 1
	}
	fmt.Fprintf(w, "\ntests: %d passed, %d failed, %d skipped\n", total.Passed, total.Failed, total.Skipped)
	return status, nil
}

// enable is the command that runs a skipped test, from what its reason
// says is missing.
func enable(s skip) string {
	r := strings.ToLower(s.Reason)
	run := fmt.Sprintf("go test -count=1 -run '^%s$' ./%s", strings.SplitN(s.Test, "/", 2)[0], s.Package)
	switch {
	case s.Package == "web-demo" && strings.Contains(r, "chromium"):
		return "apt-get install chromium (make web-deps does it as root), then make web-test"
	case s.Package == "web-demo":
		return "make web-test, once what the reason names is there"
	case strings.Contains(r, "torch"):
		return "apt-get install python3-torch python3-numpy libopenblas0-pthread (.ci/run does), then " + run
	case strings.Contains(r, "shared/data") || strings.Contains(r, "outside the repository") || strings.Contains(r, "not redistributed"):
		return "the MovieLens and Last.fm data sets in ../shared/data beside the repository (README, Data), then " + run
	case strings.Contains(r, "edgerec_soak"):
		return "make soak (EDGEREC_SOAK=2m " + run + " -v -timeout 0)"
	case strings.Contains(r, "-args"):
		args, _, _ := strings.Cut(s.Reason[strings.Index(s.Reason, "-args"):], " runs")
		return run + " -v " + args
	case strings.Contains(r, "big-endian") || strings.Contains(r, "linux only"):
		return "runs only on the platform the reason names"
	}
	return run + " -v (it skips by itself: the reason says when it runs)"
}

// short is a package path without the module's prefix.
func short(p string) string {
	if s := strings.TrimPrefix(p, module); s != p {
		return s
	}
	if p == strings.TrimSuffix(module, "/") {
		return "."
	}
	return p
}
