// Package model reads and writes a model directory: the trained towers and
// the vocabularies they index, saved separately so that the item tower can
// run in a batch job (the bundle builder) and the query tower ships in the
// bundle.
//
// A model directory holds:
//
//	manifest.json        format, version, dimensions, training facts
//	query_tower.msgpack  tower.Query (core/tower), msgpack
//	item_tower.msgpack   tower.Item, msgpack
//	vocab.msgpack        Vocab, msgpack
//	ranker.msgpack       rank.Model (core/rank), msgpack; optional
package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgerec/edgerec/core/feature"
	"github.com/edgerec/edgerec/core/rank"
	"github.com/edgerec/edgerec/core/tower"
	"github.com/edgerec/edgerec/core/wire"
)

// Format and Version identify a model directory's manifest.
const (
	Format  = "edgerec-model"
	Version = 1
)

// File names inside a model directory.
const (
	ManifestFile = "manifest.json"
	QueryFile    = "query_tower.msgpack"
	ItemFile     = "item_tower.msgpack"
	VocabFile    = "vocab.msgpack"
	RankerFile   = "ranker.msgpack" // optional
)

// Manifest describes a model directory.
type Manifest struct {
	Format      string  `json:"format"`
	Version     int     `json:"version"`
	Name        string  `json:"name"`
	TrainedAt   int64   `json:"trained_at"` // Unix seconds; the last training interaction's time, for reproducibility
	Data        string  `json:"data"`       // dataset name
	Dim         int     `json:"dim"`
	HistoryDim  int     `json:"history_dim"`
	Temperature float32 `json:"temperature"`
	// PopPrior is the popularity prior a bundle of this model orders its
	// two-tower source with (bundle.Model.PopPrior; 0, none).
	PopPrior  float32 `json:"pop_prior,omitempty"`
	Items     int     `json:"items"`    // item vocabulary size (without the unknown row)
	Examples  int     `json:"examples"` // training examples per epoch
	Epochs    int     `json:"epochs"`
	FinalLoss float64 `json:"final_loss"`
	Config    any     `json:"config,omitempty"` // the trainer's configuration, for the record
	Tuned     string  `json:"tuned,omitempty"`  // how Config was chosen, when edgerec tune chose it
}

// Vocab maps item ids and categories to the item tower's row indices (the
// query tower's fields carry their own vocabularies).
type Vocab struct {
	// Items lists the item ids the model was trained on: item Items[i] is
	// row i+1 of the item tower's id table; row 0 is an unknown item.
	Items      feature.Vocab `msgpack:"items"`
	Categories feature.Vocab `msgpack:"categories"`
}

// Model is a trained two-tower model, with its ranker when one was trained.
type Model struct {
	Manifest Manifest
	Query    tower.Query
	Item     tower.Item
	Vocab    Vocab
	Ranker   *rank.Model // nil without a ranker
}

// Save writes m into dir, creating it.
func Save(dir string, m *Model) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	man, err := json.MarshalIndent(&m.Manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(man, '\n'), 0o644); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    any
	}{{QueryFile, &m.Query}, {ItemFile, &m.Item}, {VocabFile, &m.Vocab}, {RankerFile, m.Ranker}} {
		p := filepath.Join(dir, f.name)
		if f.name == RankerFile && m.Ranker == nil {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			continue
		}
		b, err := wire.Marshal(f.v)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", f.name, err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Load reads and validates a model directory.
func Load(dir string) (*Model, error) {
	m := &Model{}
	man, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is not a model directory (no %s); create one with `edgerec train`", dir, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(man, &m.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.Manifest.Format != Format || m.Manifest.Version != Version {
		return nil, fmt.Errorf("%s: format %q version %d, want %q version %d", filepath.Join(dir, ManifestFile),
			m.Manifest.Format, m.Manifest.Version, Format, Version)
	}
	for _, f := range []struct {
		name string
		v    any
	}{{QueryFile, &m.Query}, {ItemFile, &m.Item}, {VocabFile, &m.Vocab}} {
		p := filepath.Join(dir, f.name)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := wire.Unmarshal(b, f.v); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, RankerFile)); err == nil {
		m.Ranker = &rank.Model{}
		if err := wire.Unmarshal(b, m.Ranker); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, RankerFile), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return m, nil
}

// Validate checks that the towers fit each other and the vocabularies.
func (m *Model) Validate() error {
	if err := m.Query.Validate(); err != nil {
		return err
	}
	if err := m.Item.Validate(); err != nil {
		return err
	}
	v := &m.Vocab
	switch {
	case m.Item.IDs.Rows != v.Items.Size():
		return fmt.Errorf("item tower has %d id rows, vocabulary needs %d", m.Item.IDs.Rows, v.Items.Size())
	case m.Item.Categories.Rows != v.Categories.Size():
		return fmt.Errorf("item tower has %d category rows, vocabulary needs %d", m.Item.Categories.Rows, v.Categories.Size())
	case m.Query.HistoryDim != m.Item.IDs.Dim:
		return fmt.Errorf("query tower pools %d-dim history rows, item id table is %d-dim", m.Query.HistoryDim, m.Item.IDs.Dim)
	case m.Query.Dim() != m.Item.Dim():
		return fmt.Errorf("query tower gives %d dims, item tower %d", m.Query.Dim(), m.Item.Dim())
	}
	if m.Ranker != nil {
		return m.Ranker.Validate()
	}
	return nil
}
