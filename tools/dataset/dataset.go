// Package dataset holds interaction logs, catalogs and user tables in memory
// and loads them from the formats edgerec reads: its own CSV layout (what
// `edgerec synth` writes), the MovieLens releases and Last.fm HetRec 2011.
//
// # The edgerec format
//
// A dataset is a directory of three CSV files (RFC 4180 as read by
// encoding/csv: comma-separated, fields may be double-quoted, UTF-8). Each
// file starts with the header shown. List fields (categories, tags, regions)
// hold their elements separated by '|' inside the one field; empty elements
// and surrounding spaces are dropped. Empty numeric fields mean the default.
//
// items.csv (required) has the header
//
//	item_id,title,categories,tags,price,released,available,age_rating,regions
//
// and the fields:
//
//   - item_id: non-empty, unique.
//   - title: free text.
//   - categories, tags: '|'-separated lists.
//   - price: decimal, ≥ 0 (empty = 0, unknown).
//   - released: Unix seconds (empty = 0, unknown).
//   - available: true/false, also 1/0 (empty = true).
//   - age_rating: minimum age as an integer ≥ 0; 0 = all ages (empty = 0).
//   - regions: '|'-separated regions where the item is licensed; empty =
//     everywhere.
//
// users.csv (optional; a missing file gives an empty user table) has the
// header
//
//	user_id,age,gender,region,device
//
// and the fields:
//
//   - user_id: non-empty, unique; age: integer ≥ 0 (empty or 0 = unknown);
//     gender, region, device: free text (empty = unknown).
//
// interactions.csv (required) has the header
//
//	user_id,item_id,timestamp,value
//
// and the fields:
//
//   - user_id, item_id: non-empty; the item need not be in items.csv.
//   - timestamp: Unix seconds (integer).
//   - value: rating or event weight, a finite decimal (empty = 1). The whole
//     column is optional: a file whose header is user_id,item_id,timestamp
//     has three fields per row and every value is 1.
//
// Headers must match exactly (a UTF-8 byte-order mark is ignored); blank
// lines are skipped. Malformed input is reported as a *FormatError naming
// the file, the 1-based line and what was expected, for example
//
//	data/interactions.csv:17: timestamp "abc" is not an integer (expected Unix seconds)
//
// [WriteDir] writes this format. Loading what it wrote gives back the same
// Dataset (apart from Name) when the Dataset was normalized and uses nil, not
// empty, lists.
//
// # MovieLens
//
// [Load] also reads the GroupLens MovieLens releases (see [Formats]):
// ratings become Interactions (Value = rating), movies become Items
// (Categories = genres, none for "(no genres listed)" or 100K's "unknown";
// Released = 1 January UTC of the year at the end of the title, e.g.
// "Heat (1995)", or for 100K titles without one the year of the release
// date; Available = true; ISO-8859-1 titles of 100K and 1M are decoded), and
// the 100K and 1M user tables become Users (Gender lower-cased; Region =
// "zip" + the first character of the zip code; Device empty; 1M's Age is the
// release's age-group code 1, 18, 25, 35, 45, 50 or 56). "movielens-latest"
// has no user table.
//
// # Last.fm HetRec 2011
//
// "lastfm-hetrec" reads the user–artist tag assignments of Last.fm HetRec
// 2011: an Interaction (Value 1) for each user's first tag of an artist,
// dated at the first of that month (the source's dates are monthly); Items
// are the tagged artists, Title = name, Categories = the artist's
// [LastFMCategories] most used tags. There is no user table. The details
// are on loadLastFM in lastfm.go.
package dataset

import (
	"cmp"
	"slices"

	"github.com/edgerec/edgerec/core/api"
)

// Item is one catalog entry.
type Item struct {
	ID         string
	Title      string
	Categories []string // 1–3 for synthetic data; MovieLens genres
	Tags       []string
	Price      float64 // 0 when unknown
	Released   int64   // Unix seconds; 0 when unknown
	Available  bool
	AgeRating  int      // minimum age; 0 = all ages
	Regions    []string // regions where the item is licensed; empty = everywhere
}

// User is one row of the user table: an id and what is known about the
// user, the context a request of theirs carries (its Time is 0: the event
// time is the moment's). Empty strings and zeros mean unknown; Attrs holds
// further categorical attributes by name (MovieLens: "occupation"), which
// the query tower may embed.
type User struct {
	ID string
	api.Context
}

// Interaction is one implicit-feedback event.
type Interaction struct {
	User  string
	Item  string
	Time  int64   // Unix seconds
	Value float64 // rating or event weight; 1 when the source has none
}

// Dataset is an interaction log with its catalog and user table.
//
// Items lists every item that appears in Interactions (loaders add a bare
// entry for an interacted item missing from the catalog) plus catalog items
// never interacted with. Users may be empty when the source has no user
// table. Interactions are sorted by Time, ties by User then Item.
//
// Loaders and generators return Datasets that satisfy these conditions
// (see [Dataset.Normalize]); item and user IDs are unique, and Items and Users
// keep the order of their source, so the same input always gives the same
// Dataset.
type Dataset struct {
	Name         string
	Items        []Item
	Users        []User
	Interactions []Interaction
}

// Normalize establishes the post-conditions documented on [Dataset]: it sorts
// Interactions by Time, then User, then Item (then Value, so that the order is
// total), and appends a bare Item (ID only, Available true) for every
// interacted item missing from Items, in order of first interaction.
// Items and Users keep their order.
func (d *Dataset) Normalize() {
	slices.SortFunc(d.Interactions, compareInteractions)
	known := d.ItemIndex()
	for _, in := range d.Interactions {
		if _, ok := known[in.Item]; ok {
			continue
		}
		known[in.Item] = len(d.Items)
		d.Items = append(d.Items, Item{ID: in.Item, Available: true})
	}
}

func compareInteractions(a, b Interaction) int {
	if c := cmp.Compare(a.Time, b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.User, b.User); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Item, b.Item); c != 0 {
		return c
	}
	return cmp.Compare(a.Value, b.Value)
}

// ItemIndex maps each item ID to its position in d.Items. If an ID occurs
// twice (which loaders never produce) the last position wins.
func (d *Dataset) ItemIndex() map[string]int {
	m := make(map[string]int, len(d.Items))
	for i, it := range d.Items {
		m[it.ID] = i
	}
	return m
}

// UserIndex maps each user ID to its position in d.Users. If an ID occurs
// twice (which loaders never produce) the last position wins.
func (d *Dataset) UserIndex() map[string]int {
	m := make(map[string]int, len(d.Users))
	for i, u := range d.Users {
		m[u.ID] = i
	}
	return m
}

// ByUser groups the interactions by user. Each user's slice keeps the order
// of d.Interactions, which is time order when the Dataset is normalized.
// Users without interactions are absent.
func (d *Dataset) ByUser() map[string][]Interaction {
	m := make(map[string][]Interaction)
	for _, in := range d.Interactions {
		m[in.User] = append(m[in.User], in)
	}
	return m
}
