#pragma once
// The web console's files (a Vite build, `web/dist`) served next to the API. Hashed assets
// under /assets/ are cached for a year; the HTML shells are revalidated on every load and
// answer a browser's navigation to any client-side route, so deep links work: portal.html
// (the customer portal) under /portal/…, index.html (the agent console) everywhere else.
// Paths that belong to the desk (/api/…, /healthz, /confirm/…) are never answered here.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http_api/http_types.hpp"
#include "core/result.hpp"

namespace escala::adapters::http {

class StaticFiles {
 public:
  // `root` must be a directory holding index.html; anything else is a configuration error.
  static Result<std::unique_ptr<StaticFiles>> open(const std::string& root);

  // For a GET or HEAD with the request target's decoded path `segments`: the file under the
  // root, or the shell when a browser navigates (Accept: text/html) to a path without a
  // file: portal.html under /portal (index.html when the build has no portal), else
  // index.html. Nothing (the caller answers its JSON 404) for other methods, for the desk's own
  // paths, for unsafe paths (empty, dot or dot-dot segments, separators, NUL; symlinks out
  // of the root) and for API clients asking for a page that is not a file.
  // Thread-safe: reads files on each call and keeps no state.
  std::optional<Response> serve(const Request& request,
                                const std::vector<std::string>& segments) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  explicit StaticFiles(std::filesystem::path root) : root_(std::move(root)) {}
  std::optional<Response> file_response(const Request& request, const std::filesystem::path& file,
                                        bool hashed_asset) const;

  std::filesystem::path root_;  // canonical
};

}  // namespace escala::adapters::http
