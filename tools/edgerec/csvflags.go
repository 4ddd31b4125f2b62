package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/edgerec/edgerec/tools/dataset"
)

// csvFlags are the flags of the generic CSV/TSV loader (--format csv), for
// any command that loads a data set.
type csvFlags struct {
	userCol, itemCol, timeCol, valueCol, timeLayout, delimiter *string
	items, itemIDCol, itemTitleCol, itemCatsCol                *string
	users, userIDCol, userAgeCol, userGenderCol                *string
	userRegionCol, userDeviceCol, userAttrCols                 *string
}

// csvFlagNames lists the flags addCSVFlags defines.
var csvFlagNames = []string{
	"user-col", "item-col", "time-col", "value-col", "time-layout", "delimiter",
	"items", "item-id-col", "item-title-col", "item-cats-col",
	"users", "user-id-col", "user-age-col", "user-gender-col", "user-region-col", "user-device-col", "user-attr-cols",
}

// addCSVFlags adds the flags of --format csv to fs.
func addCSVFlags(fs *flag.FlagSet) *csvFlags {
	const only = " (--format csv)"
	return &csvFlags{
		userCol:    fs.String("user-col", "", "header name of the user ID column"+only),
		itemCol:    fs.String("item-col", "", "header name of the item ID column"+only),
		timeCol:    fs.String("time-col", "", "header name of the timestamp column"+only),
		valueCol:   fs.String("value-col", "", "header name of an optional rating or weight column"+only),
		timeLayout: fs.String("time-layout", "", "how timestamps are written: unix (seconds, the default), unixms, or a Go time layout such as 2006-01-02T15:04:05Z07:00"+only),
		delimiter:  fs.String("delimiter", "auto", `field delimiter of every file: ",", "tab", ";", "|" or auto (from each header line)`+only),

		items:        fs.String("items", "", "optional item table (CSV/TSV with a header)"+only),
		itemIDCol:    fs.String("item-id-col", "", "item table: ID column (default: --item-col)"),
		itemTitleCol: fs.String("item-title-col", "", "item table: title column"),
		itemCatsCol:  fs.String("item-cats-col", "", "item table: categories column, categories separated by '|'"),

		users:         fs.String("users", "", "optional user table (CSV/TSV with a header)"+only),
		userIDCol:     fs.String("user-id-col", "", "user table: ID column (default: --user-col)"),
		userAgeCol:    fs.String("user-age-col", "", "user table: age column (years)"),
		userGenderCol: fs.String("user-gender-col", "", "user table: gender column"),
		userRegionCol: fs.String("user-region-col", "", "user table: region column"),
		userDeviceCol: fs.String("user-device-col", "", "user table: device column"),
		userAttrCols:  fs.String("user-attr-cols", "", "user table: further categorical columns, comma-separated"),
	}
}

// options turns the flags into loader options; problems are usage errors.
func (c *csvFlags) options() (dataset.CSVOptions, error) {
	o := dataset.CSVOptions{
		UserCol: *c.userCol, ItemCol: *c.itemCol, TimeCol: *c.timeCol, ValueCol: *c.valueCol,
		TimeLayout: *c.timeLayout,
		ItemsPath:  *c.items, ItemIDCol: *c.itemIDCol, ItemTitleCol: *c.itemTitleCol, ItemCatsCol: *c.itemCatsCol,
		UsersPath: *c.users, UserIDCol: *c.userIDCol, UserAgeCol: *c.userAgeCol, UserGenderCol: *c.userGenderCol,
		UserRegionCol: *c.userRegionCol, UserDeviceCol: *c.userDeviceCol,
	}
	for _, f := range []struct{ name, v string }{{"user-col", o.UserCol}, {"item-col", o.ItemCol}, {"time-col", o.TimeCol}} {
		if f.v == "" {
			return o, usagef("--format csv needs --%s (the header name of that column)", f.name)
		}
	}
	switch d := *c.delimiter; d {
	case "", "auto":
	case ",", ";", "|":
		o.Delimiter = rune(d[0])
	case "tab", `\t`, "\t":
		o.Delimiter = '\t'
	default:
		return o, usagef(`--delimiter %q: use ",", "tab", ";", "|" or auto`, d)
	}
	for a := range strings.SplitSeq(*c.userAttrCols, ",") {
		if a = strings.TrimSpace(a); a != "" {
			o.UserAttrCols = append(o.UserAttrCols, a)
		}
	}
	return o, nil
}

// checkCSVFlags refuses CSV flags with another format.
func checkCSVFlags(fs *flag.FlagSet, format string) error {
	if format == dataset.FormatCSV {
		return nil
	}
	var err error
	fs.Visit(func(f *flag.Flag) {
		for _, n := range csvFlagNames {
			if f.Name == n && err == nil {
				err = usagef("--%s applies only to --format csv", n)
			}
		}
	})
	return err
}

// loadAnyData loads a data set in any format, csv included (path is then
// the interaction file), timing it on stderr.
func loadAnyData(path, format string, c *csvFlags, stderr io.Writer) (*dataset.Dataset, error) {
	if format != dataset.FormatCSV {
		return loadData(path, format, stderr)
	}
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("interaction file: %w", err)
	}
	start := time.Now()
	ds, err := dataset.LoadCSV(path, opts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "loaded %s (csv): %d users, %d items, %d interactions in %.1fs\n",
		path, len(ds.Users), len(ds.Items), len(ds.Interactions), time.Since(start).Seconds())
	return ds, nil
}
