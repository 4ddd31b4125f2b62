package server

import (
	"net/http"
	"path"
	"strings"
)

// static serves GET / from Config.WebDir through an os.Root, so that no
// name, symlink or ".." leads out of it. It serves regular files only:
// a directory serves its index.html or nothing (no listings), and any
// name starting with a dot (.env, .git/) is not found.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") {
			http.NotFound(w, r)
			return
		}
	}
	if name == "" {
		name = "."
	}
	fi, err := s.web.Stat(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			// Relative links in the directory's page resolve against the
			// URL with its slash.
			if _, err := s.web.Stat(path.Join(name, "index.html")); err == nil {
				http.Redirect(w, r, path.Base(r.URL.Path)+"/", http.StatusMovedPermanently)
				return
			}
			http.NotFound(w, r)
			return
		}
		name = path.Join(name, "index.html")
	}
	f, err := s.web.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
}
