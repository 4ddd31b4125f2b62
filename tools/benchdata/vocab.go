package benchdata

// Regions and Devices are the context vocabularies of the synthetic
// bundles (core/bundle/bundletest's and `edgerec bench`'s): the values a
// query tower's region and device fields know.
var (
	Regions = []string{"eu", "us", "asia"}
	Devices = []string{"mobile", "desktop"}
)
