#include "adapters/http_api/static_files.hpp"

#include <fstream>
#include <iterator>
#include <string_view>

namespace escala::adapters::http {
namespace {

namespace fs = std::filesystem;

// Files larger than this are not part of a console build; refusing them bounds memory.
constexpr std::uintmax_t kMaxFileBytes = 16u << 20;

// The HTML shell runs only the console's own scripts and styles, and no other site may frame it.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'";

std::string content_type_for(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".webmanifest") return "application/manifest+json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".woff") return "font/woff";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// A segment that names a file or directory inside the root, literally.
bool safe_segment(const std::string& s) {
  if (s.empty() || s == "." || s == ".." || s.front() == '.') return false;
  for (char c : s)
    if (c == '/' || c == '\\' || c == '\0') return false;
  return true;
}

bool header_has(std::string_view header, std::string_view token) {
  return header.find(token) != std::string_view::npos;
}

std::optional<std::string> read_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxFileBytes) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// True when `file` resolves (through any symlinks) to a place under `root`.
bool inside(const fs::path& root, const fs::path& file) {
  std::error_code ec;
  const fs::path real = fs::canonical(file, ec);
  if (ec) return false;
  auto r = root.begin();
  auto f = real.begin();
  for (; r != root.end(); ++r, ++f)
    if (f == real.end() || *r != *f) return false;
  return true;
}

}  // namespace

Result<std::unique_ptr<StaticFiles>> StaticFiles::open(const std::string& root) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(root, ec);
  if (ec || !fs::is_directory(canonical, ec))
    return make_error(ErrorCode::kInvalidArgument,
                      "--web-root " + root + " is not a directory (build the console: make build)");
  if (!fs::is_regular_file(canonical / "index.html", ec))
    return make_error(ErrorCode::kInvalidArgument,
                      "--web-root " + root + " has no index.html (build the console: make build)");
  return std::unique_ptr<StaticFiles>(new StaticFiles(canonical));
}

std::optional<Response> StaticFiles::serve(const Request& request,
                                           const std::vector<std::string>& segments) const {
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  // Paths with a trailing slash have an empty last segment: "/" is {""}.
  std::vector<std::string> path = segments;
  if (!path.empty() && path.back().empty()) path.pop_back();
  if (!path.empty() && (path[0] == "api" || path[0] == "healthz" || path[0] == "confirm"))
    return std::nullopt;
  for (const auto& s : path)
    if (!safe_segment(s)) return std::nullopt;

  if (!path.empty()) {
    fs::path file = root_;
    for (const auto& s : path) file /= s;
    const bool hashed = path.size() >= 2 && path[0] == "assets";
    if (auto r = file_response(request, file, hashed)) return r;
    // A missing file under /assets/ (an old hashed name, a typo) is a plain 404, never the
    // shell: a script tag must not receive HTML.
    if (path[0] == "assets") return std::nullopt;
  }
  // The shell for a browser's navigation to "/" or a client-side route: the customer
  // portal's (portal.html) under /portal, the console's (index.html) elsewhere. API clients
  // (no text/html in Accept) keep getting the JSON 404 for unknown paths.
  if (!header_has(request.accept, "text/html")) return std::nullopt;
  if (!path.empty() && path[0] == "portal")
    if (auto r = file_response(request, root_ / "portal.html", false)) return r;
  return file_response(request, root_ / "index.html", false);
}

std::optional<Response> StaticFiles::file_response(const Request& request, const fs::path& file,
                                                   bool hashed_asset) const {
  if (!inside(root_, file)) return std::nullopt;
  std::optional<std::string> body;
  bool gzipped = false;
  // Precompressed copies (file.gz, written by the web build) when the client takes gzip.
  if (header_has(request.accept_encoding, "gzip")) {
    fs::path gz = file;
    gz += ".gz";
    if (inside(root_, gz)) body = read_file(gz);
    gzipped = body.has_value();
  }
  if (!body) body = read_file(file);
  if (!body) return std::nullopt;

  Response r;
  r.status = 200;
  r.content_type = content_type_for(file);
  r.body = request.method == "HEAD" ? std::string() : std::move(*body);
  if (gzipped) r.headers.emplace_back("Content-Encoding", "gzip");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  // Vite puts a content hash in every asset's name: a changed file is a new URL.
  r.headers.emplace_back("Cache-Control",
                         hashed_asset ? "public, max-age=31536000, immutable" : "no-cache");
  if (file.extension() == ".html") {
    r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  return r;
}

}  // namespace escala::adapters::http
