package synth

// Vocabularies. Each latent topic is a theme with its own categories, title
// words and tags, so that item text and metadata carry the topic.

// categories is the category list items draw from.
var categories = []string{
	"action", "adventure", "animation", "comedy", "crime", "documentary",
	"drama", "family", "fantasy", "history", "horror", "music", "mystery",
	"romance", "sci-fi", "thriller",
}

// regions are the user regions; a region-licensed item lists a subset.
var regions = []string{"eu-west", "eu-north", "us-east", "us-west", "apac", "latam"}

// genders and devices are the values of User.Gender and User.Device.
var (
	genders = []string{"f", "m", "x"}
	devices = []string{"mobile", "desktop", "tv", "tablet"}
)

// ageRatings are the values of Item.AgeRating.
var ageRatings = []int{0, 7, 13, 16, 18}

type theme struct {
	name  string
	cats  []string   // first is the theme's primary category
	words []string   // title words
	tags  []string   // theme-specific tags
	rated [5]float64 // distribution over ageRatings; zero = defaultRated
}

var defaultRated = [5]float64{0.40, 0.10, 0.30, 0.12, 0.08}

var themes = []theme{
	{name: "space", cats: []string{"sci-fi", "adventure", "action"},
		words: []string{"star", "galaxy", "orbit", "planet", "nova", "rocket", "android", "nebula", "cosmos", "station", "quantum", "signal"},
		tags:  []string{"space", "future", "aliens"}},
	{name: "crime", cats: []string{"crime", "thriller", "mystery"},
		words: []string{"heist", "alibi", "detective", "verdict", "witness", "cartel", "motive", "badge", "ransom", "street", "case", "undercover"},
		tags:  []string{"noir", "gritty", "whodunit"}},
	{name: "romance", cats: []string{"romance", "drama", "comedy"},
		words: []string{"love", "wedding", "heart", "summer", "letters", "promise", "kiss", "paris", "forever", "bride", "dance", "moonlight"},
		tags:  []string{"romantic", "heartwarming", "date-night"}},
	{name: "horror", cats: []string{"horror", "thriller", "mystery"},
		words: []string{"haunting", "curse", "blood", "ritual", "midnight", "grave", "demon", "cabin", "whisper", "possession", "fog", "hollow"},
		tags:  []string{"scary", "gore", "supernatural"},
		rated: [5]float64{0, 0, 0.2, 0.4, 0.4}},
	{name: "family", cats: []string{"animation", "family", "comedy"},
		words: []string{"puppy", "toy", "bunny", "kingdom", "balloon", "jungle", "picnic", "giggle", "treehouse", "rainbow", "buddy", "penguin"},
		tags:  []string{"kids", "cartoon", "family-friendly"},
		rated: [5]float64{0.7, 0.3, 0, 0, 0}},
	{name: "fantasy", cats: []string{"fantasy", "adventure", "action"},
		words: []string{"sword", "wizard", "realm", "throne", "dragon", "prophecy", "quest", "elven", "crown", "sorcery", "rune", "legend"},
		tags:  []string{"magic", "epic", "mythology"}},
	{name: "history", cats: []string{"history", "drama", "action"},
		words: []string{"empire", "battle", "general", "war", "revolution", "dynasty", "siege", "frontier", "republic", "soldier", "chronicle", "1944"},
		tags:  []string{"period-piece", "war", "biopic"}},
	{name: "nature", cats: []string{"documentary", "family", "adventure"},
		words: []string{"ocean", "wild", "earth", "climate", "species", "river", "arctic", "forest", "safari", "coral", "migration", "volcano"},
		tags:  []string{"nature", "educational", "wildlife"}},
	{name: "music", cats: []string{"music", "drama", "documentary"},
		words: []string{"rhythm", "song", "stage", "band", "tour", "jazz", "melody", "encore", "guitar", "concert", "chorus", "vinyl"},
		tags:  []string{"musical", "live", "soundtrack"}},
	{name: "action", cats: []string{"action", "thriller", "crime"},
		words: []string{"fury", "strike", "mission", "protocol", "vengeance", "bullet", "agent", "extraction", "rogue", "target", "impact", "blackout"},
		tags:  []string{"explosions", "martial-arts", "spy"}},
	{name: "comedy", cats: []string{"comedy", "romance", "family"},
		words: []string{"roommates", "vacation", "awkward", "party", "neighbors", "roadtrip", "dad", "prank", "office", "weekend", "bachelor", "reunion"},
		tags:  []string{"funny", "satire", "sitcom"}},
	{name: "sports", cats: []string{"drama", "documentary", "action"},
		words: []string{"champion", "team", "coach", "match", "season", "goal", "underdog", "racing", "ring", "marathon", "trophy", "league"},
		tags:  []string{"sports", "inspiring", "true-story"}},
}

// genericWords fill titles independently of topic.
var genericWords = []string{"the", "last", "lost", "final", "secret", "return", "first", "dark", "golden", "hidden", "broken", "silent", "city", "road", "night", "day"}

// genericTags are drawn independently of topic.
var genericTags = []string{"award-winning", "based-on-book", "classic", "indie", "cult", "feel-good", "slow-burn", "twist-ending", "subtitled", "4k", "short", "series"}

// Demographic priors on topics: a user in a region, or an age band, is
// favoredWeight times as likely to pick each listed topic (indices are
// taken modulo Config.Topics).
const favoredWeight = 3

var (
	regionTopics = [][]int{ // by index in regions
		{6, 8}, {7, 1}, {9, 11}, {0, 10}, {5, 4}, {2, 11},
	}
	ageBands  = []int{18, 30, 50} // bands: <18, 18–29, 30–49, ≥50
	ageTopics = [][]int{
		{4, 5, 10}, {9, 3, 0}, {1, 2, 11}, {6, 7, 8},
	}
)
