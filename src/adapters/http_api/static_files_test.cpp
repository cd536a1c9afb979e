#include "adapters/http_api/static_files.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace escala::adapters::http {
namespace {

namespace fs = std::filesystem;

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("escala-static-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "dist" / "assets");
    write("dist/index.html", "<!doctype html><title>Escala</title>");
    write("dist/assets/index-abc123.js", "console.log(1)");
    write("dist/assets/index-abc123.js.gz", "GZ");
    write("dist/favicon.svg", "<svg/>");
    write("secret.txt", "outside the root");
    fs::create_symlink(dir_ / "secret.txt", dir_ / "dist" / "link.txt");
    auto opened = StaticFiles::open((dir_ / "dist").string());
    ASSERT_TRUE(opened.ok());
    files_ = std::move(*opened);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ / rel, std::ios::binary) << text;
  }
  std::optional<Response> get(std::vector<std::string> segments, std::string accept = "*/*",
                              std::string encoding = "") {
    Request r;
    r.method = "GET";
    r.accept = std::move(accept);
    r.accept_encoding = std::move(encoding);
    return files_->serve(r, segments);
  }

  fs::path dir_;
  std::unique_ptr<StaticFiles> files_;
};

TEST_F(StaticFilesTest, ServesHashedAssetsWithLongCacheAndTheirType) {
  auto r = get({"assets", "index-abc123.js"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "console.log(1)");
  EXPECT_EQ(r->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(*r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(header(*r, "Content-Security-Policy"), "");
}

TEST_F(StaticFilesTest, ServesThePrecompressedCopyToGzipClients) {
  auto r = get({"assets", "index-abc123.js"}, "*/*", "gzip, deflate, br");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GZ");
  EXPECT_EQ(header(*r, "Content-Encoding"), "gzip");
  EXPECT_EQ(r->content_type, "text/javascript; charset=utf-8");
}

TEST_F(StaticFilesTest, BrowserNavigationsGetTheShellWithSecurityHeaders) {
  for (auto path : std::vector<std::vector<std::string>>{{}, {""}, {"cases", "CMW-000001"}, {"cases", ""}}) {
    auto r = get(path, "text/html,application/xhtml+xml,*/*;q=0.8");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(header(*r, "Cache-Control"), "no-cache");
    EXPECT_NE(header(*r, "Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos);
    EXPECT_NE(header(*r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  }
}

TEST_F(StaticFilesTest, PortalNavigationsGetThePortalShell) {
  write("dist/portal.html", "<!doctype html><title>Portal</title>");
  for (auto path : std::vector<std::vector<std::string>>{
           {"portal"}, {"portal", ""}, {"portal", "cases", "CMW-000001"}, {"portal", "new"}}) {
    auto r = get(path, "text/html,application/xhtml+xml,*/*;q=0.8");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "<!doctype html><title>Portal</title>");
    EXPECT_EQ(header(*r, "Cache-Control"), "no-cache");
    EXPECT_NE(header(*r, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  }
  // Only the first segment decides: a console route that mentions "portal" stays the console's.
  auto console = get({"cases", "portal"}, "text/html");
  ASSERT_TRUE(console);
  EXPECT_EQ(console->body, "<!doctype html><title>Escala</title>");
  // API clients asking under /portal keep their JSON 404.
  EXPECT_FALSE(get({"portal", "nope"}, "application/json"));
}

TEST_F(StaticFilesTest, WithoutAPortalBuildPortalNavigationsGetTheConsoleShell) {
  auto r = get({"portal"}, "text/html");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "<!doctype html><title>Escala</title>");
}

TEST_F(StaticFilesTest, ApiClientsKeepTheirJson404) {
  EXPECT_FALSE(get({}, "application/json"));
  EXPECT_FALSE(get({"nope"}, "application/json"));
  EXPECT_FALSE(get({"nope"}, ""));
}

TEST_F(StaticFilesTest, NeverAnswersTheDesksOwnPaths) {
  for (auto first : {"api", "healthz", "confirm"})
    EXPECT_FALSE(get({first, "x"}, "text/html"));
  EXPECT_FALSE(get({"api"}, "text/html"));
}

TEST_F(StaticFilesTest, MissingAssetsAre404NotTheShell) {
  EXPECT_FALSE(get({"assets", "index-old.js"}, "text/html"));
}

TEST_F(StaticFilesTest, RefusesTraversalAndEscapes) {
  for (auto path : std::vector<std::vector<std::string>>{
           {"..", "secret.txt"}, {"assets", "..", "..", "secret.txt"}, {".", "index.html"},
           {"a/../../secret.txt"}, {"..\\secret.txt"}, {std::string("index.html\0x", 12)},
           {".hidden"}, {"link.txt"}})
    EXPECT_FALSE(get(path, "application/json")) << path.back();
}

TEST_F(StaticFilesTest, OnlyGetAndHead) {
  Request r;
  r.method = "POST";
  r.accept = "text/html";
  EXPECT_FALSE(files_->serve(r, {"favicon.svg"}));
  r.method = "HEAD";
  auto head = files_->serve(r, {"favicon.svg"});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->content_type, "image/svg+xml");
}

TEST(StaticFilesOpen, ARootWithoutIndexIsAConfigurationError) {
  EXPECT_FALSE(StaticFiles::open("/nonexistent/escala-web").ok());
  EXPECT_FALSE(StaticFiles::open(fs::temp_directory_path().string()).ok());
}

}  // namespace
}  // namespace escala::adapters::http
