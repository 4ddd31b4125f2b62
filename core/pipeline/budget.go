package pipeline

// The work budget of one request. The filters may reject nearly every row
// (an all-ones consumed filter, an allow-list of items nobody may see,
// contradictory allow and exclude lists), and a pipeline that fetched
// deeper until k items survived would then walk the catalog: a request of
// a few dozen bytes would cost as much as a thousand normal ones. Instead
// every row the sources, the filters and the back-fill look at is counted
// against a budget that does not depend on the catalog's size, and when
// it runs out the request is answered with what survived
// (api.WarnBudgetExhausted).
const (
	// MaxExamined is the number of rows one request may look at: every row
	// a source proposes and the filter checks, every row of an allow-list,
	// every row the popularity back-fill walks. A normal request looks at
	// a few hundred (about the sum of the sources' depths); one with k =
	// api.MaxK and a strict filter at most a few thousand.
	MaxExamined = 16384 // at most bundle.PopularOrderRows (TestBudgetFitsTheOrders)

	// BackfillReserve is the part of MaxExamined the sources leave to the
	// popularity back-fill, so that a request whose sources spent their
	// share still gets popular items that pass the filters.
	BackfillReserve = 4096

	// MaxFetch is the most hits one two-tower search fetches: the deepest a
	// strict filter makes it go. It stays well below an eighth of a
	// catalog large enough to have an index, so deepening never turns an
	// index search into a scan of the catalog.
	MaxFetch = 4096
)
