package train

import (
	"fmt"
	"runtime"
)

// Config sets the model's shape and the training run.
type Config struct {
	IDDim       int     `json:"id_dim"`       // item-id embedding width, shared by both towers
	CategoryDim int     `json:"category_dim"` // category embedding width
	FieldDim    int     `json:"field_dim"`    // width of each user field's embedding
	Hidden      []int   `json:"hidden"`       // hidden layer widths of both MLPs (ReLU)
	Dim         int     `json:"dim"`          // output embedding width
	Temperature float32 `json:"temperature"`  // softmax temperature τ: logits are u·v/τ
	Batch       int     `json:"batch"`        // examples per batch; the in-batch negatives
	Epochs      int     `json:"epochs"`
	LR          float32 `json:"lr"` // Adam step size
	MaxHistory  int     `json:"max_history"`
	// MaxPerUser caps the training examples drawn from one user per epoch
	// (0 = no cap), so that very active users do not dominate the loss.
	MaxPerUser int   `json:"max_per_user"`
	Seed       int64 `json:"seed"`
	// LogQ subtracts log q(item) from every in-batch logit (log-Q correction).
	LogQ bool `json:"logq"`
	// Workers is the number of goroutines; 0 means GOMAXPROCS.
	Workers int `json:"-"`
}

// DefaultConfig returns the configuration `edgerec train` uses by default.
func DefaultConfig() Config {
	return Config{
		IDDim:       32,
		CategoryDim: 16,
		FieldDim:    8,
		Hidden:      []int{128},
		Dim:         64,
		Temperature: 0.05,
		Batch:       256,
		Epochs:      3,
		LR:          0.003,
		MaxHistory:  50,
		MaxPerUser:  0,
		Seed:        1,
		LogQ:        true,
	}
}

func (c *Config) validate() error {
	switch {
	case c.IDDim <= 0 || c.IDDim > 1024:
		return fmt.Errorf("id dim %d out of range [1, 1024]", c.IDDim)
	case c.CategoryDim <= 0 || c.CategoryDim > 1024:
		return fmt.Errorf("category dim %d out of range [1, 1024]", c.CategoryDim)
	case c.FieldDim <= 0 || c.FieldDim > 1024:
		return fmt.Errorf("field dim %d out of range [1, 1024]", c.FieldDim)
	case c.Dim <= 0 || c.Dim > 1024:
		return fmt.Errorf("dim %d out of range [1, 1024]", c.Dim)
	case !(c.Temperature > 0) || c.Temperature > 10:
		return fmt.Errorf("temperature %v out of range (0, 10]", c.Temperature)
	case c.Batch < 2 || c.Batch > 8192:
		return fmt.Errorf("batch %d out of range [2, 8192]", c.Batch)
	case c.Epochs <= 0 || c.Epochs > 1000:
		return fmt.Errorf("epochs %d out of range [1, 1000]", c.Epochs)
	case !(c.LR > 0) || c.LR > 1:
		return fmt.Errorf("learning rate %v out of range (0, 1]", c.LR)
	case c.MaxHistory <= 0 || c.MaxHistory > 4096:
		return fmt.Errorf("max history %d out of range [1, 4096]", c.MaxHistory)
	case c.MaxPerUser < 0:
		return fmt.Errorf("max per user %d is negative", c.MaxPerUser)
	case c.Workers < 0:
		return fmt.Errorf("workers %d is negative", c.Workers)
	}
	for _, h := range c.Hidden {
		if h <= 0 || h > 4096 {
			return fmt.Errorf("hidden width %d out of range [1, 4096]", h)
		}
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return nil
}
