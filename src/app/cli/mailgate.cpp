#include "app/cli/mailgate.hpp"

#include <curl/curl.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

namespace escala::app {
namespace {

constexpr int kTempFail = 75, kDataErr = 65, kNoPerm = 77;

int say(int code, const std::string& message) {
  std::cerr << "escala mailgate: " << message << "\n";
  return code;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string escape(CURL* curl, const std::string& s) {
  char* e = curl_easy_escape(curl, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

}  // namespace

int mailgate(const MailgateOptions& o) {
  std::string url = o.url;
  if (url.empty()) {
    auto ports = nlohmann::json::parse(read_file(o.data_dir + "/ports.json"), nullptr, false);
    if (!ports.is_object() || !ports.contains("http"))
      return say(kTempFail, "cannot read " + o.data_dir + "/ports.json: is escala serve running?");
    url = "http://127.0.0.1:" + std::to_string(ports["http"].get<int>());
  }
  const std::string token =
      trim(read_file(o.token_file.empty() ? o.data_dir + "/mailgate.token" : o.token_file));
  if (token.empty()) return say(kTempFail, "no mailgate secret (DATA_DIR/mailgate.token)");

  std::string message;
  {
    std::istreambuf_iterator<char> begin(std::cin), end;
    message.assign(begin, end);
  }
  if (message.empty()) return say(kDataErr, "no message on stdin");
  if (static_cast<long long>(message.size()) > o.max_bytes)
    return say(kDataErr, "the message is larger than " + std::to_string(o.max_bytes) + " bytes");

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  if (!curl) return say(kTempFail, "cannot initialise libcurl");
  std::string target = url + "/api/v1/mail/inbound?source=mailgate";
  if (!o.recipient.empty()) target += "&recipient=" + escape(curl, o.recipient);
  if (!o.sender.empty()) target += "&sender=" + escape(curl, o.sender);
  std::string answer;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Authorization: Mailgate " + token).c_str());
  headers = curl_slist_append(headers, "Content-Type: message/rfc822");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, target.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, message.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(o.timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return say(kTempFail, std::string("the desk is unreachable: ") + curl_easy_strerror(rc));
  if (status == 200) {
    auto j = nlohmann::json::parse(answer, nullptr, false);
    if (j.is_object())
      std::cout << j.value("disposition", "") << " "
                << (j["case"].is_string() ? j["case"].get<std::string>() : std::string("-")) << "\n";
    return 0;
  }
  std::string why = answer;
  auto j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_object() && j.contains("error")) why = j["error"].value("message", answer);
  if (status == 401 || status == 403) return say(kNoPerm, why);
  if (status >= 500 || status == 429 || status == 408) return say(kTempFail, why);
  if (status >= 400) return say(kDataErr, why);
  return say(kTempFail, "unexpected answer " + std::to_string(status));
}

}  // namespace escala::app
