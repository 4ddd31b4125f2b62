package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgerec/edgerec/tools/dataset"
)

// evalData writes a small synthetic data set once per test and returns its
// directory.
func evalData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "synth")
	mustRun(t, "synth", "--out", dir, "--users", "300", "--items", "150", "--seed", "5", "--events-per-user", "30")
	return dir
}

func TestEvalCommand(t *testing.T) {
	data := evalData(t)
	plot := filepath.Join(t.TempDir(), "recall.svg")

	t.Run("json and plot", func(t *testing.T) {
		out := mustRun(t, "eval", "--data", data, "--models", "pop,itemknn,ease", "--ease-lambdas", "10,100", "--json", "--plot", plot)
		var doc struct {
			Split struct {
				T         int64   `json:"t"`
				TDate     string  `json:"t_date"`
				TestUsers int     `json:"test_users"`
				Mean      float64 `json:"mean_targets"`
			} `json:"split"`
			Order  []string                              `json:"order"`
			Models map[string]map[string]json.RawMessage `json:"models"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, out)
		}
		if doc.Split.TestUsers == 0 || doc.Split.Mean <= 0 || doc.Split.TDate != time.Unix(doc.Split.T, 0).UTC().Format(time.RFC3339) {
			t.Errorf("split %+v", doc.Split)
		}
		if strings.Join(doc.Order, ",") != "pop,itemknn,ease" {
			t.Errorf("order %v", doc.Order)
		}
		for _, name := range doc.Order {
			m := doc.Models[name]
			for _, k := range []string{"recall@10", "recall@20", "recall@50", "ndcg@10", "ndcg@20", "ndcg@50", "hr@10", "hr@20", "hr@50", "next-hr@10", "coverage@20", "fit_seconds"} {
				var v float64
				if err := json.Unmarshal(m[k], &v); err != nil || v < 0 || (v > 1 && k != "fit_seconds") {
					t.Errorf("%s %s = %s", name, k, m[k])
				}
			}
			for _, k := range []string{"ndcg@10", "recall@20"} {
				var ci [2]float64
				var v float64
				json.Unmarshal(m[k], &v)
				if err := json.Unmarshal(m[k+"_ci"], &ci); err != nil || !(ci[0] <= v && v <= ci[1]) {
					t.Errorf("%s %s = %v, interval %s", name, k, v, m[k+"_ci"])
				}
			}
		}
		var pop, ease float64
		json.Unmarshal(doc.Models["pop"]["recall@20"], &pop)
		json.Unmarshal(doc.Models["ease"]["recall@20"], &ease)
		if ease <= pop {
			t.Errorf("ease recall@20 %.4f not above popularity's %.4f on taste-driven synthetic data", ease, pop)
		}
		svg, err := os.ReadFile(plot)
		if err != nil || !strings.HasPrefix(string(svg), "<svg") {
			t.Errorf("plot: %v, starts %q", err, svg[:min(len(svg), 10)])
		}
	})

	t.Run("table and rolling", func(t *testing.T) {
		out := mustRun(t, "eval", "--data", data, "--models", "pop", "--rolling")
		for _, want := range []string{"split: global temporal at the 0.9 quantile, T = ", "recall@20 [95% bootstrap CI]", "\npop ", "rolling evaluation: 5 cuts", "0.8–0.825", "0.9–0.925", "mean over the cuts"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("csv", func(t *testing.T) {
		// The synthetic log as a TSV with other column names and dates.
		ds, err := dataset.Load(data, dataset.FormatEdgerec)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "log.tsv")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		w.Comma = '\t'
		w.Write([]string{"when", "who", "what"})
		for _, in := range ds.Interactions {
			w.Write([]string{time.Unix(in.Time, 0).UTC().Format(time.DateTime), in.User, in.Item})
		}
		w.Flush()
		f.Close()
		out := mustRun(t, "eval", "--data", path, "--format", "csv", "--user-col", "who", "--item-col", "what",
			"--time-col", "when", "--time-layout", time.DateTime, "--models", "pop", "--json")
		want := mustRun(t, "eval", "--data", data, "--models", "pop", "--json")
		// Same log, same split, same figures (the data block differs).
		var a, b map[string]json.RawMessage
		json.Unmarshal([]byte(out), &a)
		json.Unmarshal([]byte(want), &b)
		if string(a["split"]) != string(b["split"]) {
			t.Errorf("csv split %s, edgerec split %s", a["split"], b["split"])
		}
		var ma, mb map[string]map[string]any
		json.Unmarshal(a["models"], &ma)
		json.Unmarshal(b["models"], &mb)
		if ma["pop"]["recall@20"] != mb["pop"]["recall@20"] {
			t.Errorf("csv recall@20 %v, edgerec %v", ma["pop"]["recall@20"], mb["pop"]["recall@20"])
		}
		// No user table: the users are counted from the log, not as 0.
		var da, db map[string]any
		json.Unmarshal(a["data"], &da)
		json.Unmarshal(b["data"], &db)
		assert.Equal(t, db["users"], da["users"], "users of the log")
		assert.EqualValues(t, 0, da["user_table"])
		assert.NotZero(t, da["users"])
		// No item table, so no categories: ILD@10 is left out, not 0.
		assert.NotContains(t, ma["pop"], "ild@10")
		assert.Contains(t, mb["pop"], "ild@10")
		table := mustRun(t, "eval", "--data", path, "--format", "csv", "--user-col", "who", "--item-col", "what",
			"--time-col", "when", "--time-layout", time.DateTime, "--models", "pop")
		assert.Contains(t, table, "users (no user table)")
		assert.NotContains(t, table, " 0 users")
		assert.Regexp(t, `\npop .*  –  `, table, "ild@10 cell")
	})

	t.Run("json records the config", func(t *testing.T) {
		out := mustRun(t, "eval", "--data", data, "--models", "pop", "--no-logq", "--ease-lambdas", "7", "--json")
		var doc struct {
			Config struct {
				Args  []string       `json:"args"`
				Train map[string]any `json:"train"`
				EASE  map[string]any `json:"ease"`
			} `json:"config"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &doc))
		assert.Contains(t, doc.Config.Args, "--no-logq")
		assert.Equal(t, false, doc.Config.Train["logq"], "the --no-logq switch")
		assert.Equal(t, []any{7.0}, doc.Config.EASE["lambdas"])
		def := mustRun(t, "eval", "--data", data, "--models", "pop", "--json")
		require.NoError(t, json.Unmarshal([]byte(def), &doc))
		assert.Equal(t, true, doc.Config.Train["logq"])
	})

	errs := []struct {
		name string
		args []string
		want string
	}{
		{"unknown model", []string{"--data", data, "--models", "pop,svd"}, `unknown model "svd" (valid models: pop, itemknn, ease,`},
		{"missing data", []string{"--models", "pop"}, "--data is required"},
		{"empty models", []string{"--data", data, "--models", ","}, "--models is empty"},
		{"csv flag without csv", []string{"--data", data, "--user-col", "u"}, "--user-col applies only to --format csv"},
		{"csv without columns", []string{"--data", data, "--format", "csv", "--user-col", "u"}, "--format csv needs --item-col"},
		{"bad format", []string{"--data", data, "--format", "parquet"}, `--format "parquet"`},
		{"bad lambdas", []string{"--data", data, "--ease-lambdas", "10,-1"}, "--ease-lambdas"},
		{"bad ease cap", []string{"--data", data, "--ease-max-items", "-1"}, "--ease-max-items -1"},
		{"bad ease memory", []string{"--data", data, "--ease-memory", "0"}, "--ease-memory 0"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := edgerec(t, append([]string{"eval"}, tc.args...)...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tc.want)
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		code, _, errOut := edgerec(t, "eval", "--data", filepath.Join(t.TempDir(), "none"), "--models", "pop")
		if code != 1 || !strings.Contains(errOut, "data directory") {
			t.Errorf("exit %d, stderr %q; want 1 and a message about the data directory", code, errOut)
		}
	})
}
