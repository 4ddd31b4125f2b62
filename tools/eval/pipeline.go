package eval

import (
	"fmt"

	"github.com/edgerec/edgerec/core/api"
	"github.com/edgerec/edgerec/core/pipeline"
	"github.com/edgerec/edgerec/tools/dataset"
)

// Request builds the request a client would send for a user with this
// history: the history items oldest first and the user's demographics.
func Request(history []string, user dataset.User, k int) *api.Request {
	req := &api.Request{
		UserID:  user.ID,
		K:       k,
		Context: user.Context,
	}
	for _, h := range history {
		req.History = append(req.History, api.Event{Item: h})
	}
	return req
}

// Pipeline ranks with a loaded bundle through the serving pipeline, as the
// module would; users supplies demographics (may be empty).
func Pipeline(rec *pipeline.Recommender, users []dataset.User) Ranker {
	byID := make(map[string]dataset.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	return func(u TestUser, k int) []string {
		usr := byID[u.ID]
		usr.ID = u.ID
		resp, err := rec.Recommend(Request(u.History, usr, k))
		if err != nil {
			// Requests built here are always valid: an error is a bug, and
			// must not pass for a weak model.
			panic(fmt.Sprintf("eval: the pipeline refused a request for user %s: %v", u.ID, err))
		}
		out := make([]string, len(resp.Items))
		for i, it := range resp.Items {
			out[i] = it.ID
		}
		return out
	}
}
