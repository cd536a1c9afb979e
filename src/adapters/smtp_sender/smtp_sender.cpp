#include "adapters/smtp_sender/smtp_sender.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

// libcurl 7.69 to 8.1 spell the option with three Ls; 8.2 added the right spelling.
#if LIBCURL_VERSION_NUM < 0x080200
#define CURLOPT_MAIL_RCPT_ALLOWFAILS CURLOPT_MAIL_RCPT_ALLLOWFAILS
#endif

namespace escala::adapters::smtp {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool valid_address(std::string_view a) {
  if (a.size() > 512) return false;
  for (char c : a) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f || c == '<' || c == '>') return false;
  }
  return true;
}

int reply_code(std::string_view line) {
  if (line.size() < 3) return 0;
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    code = code * 10 + (line[i] - '0');
  }
  return code;
}

// The envelope address between the first < and the next >.
std::string bracketed(std::string_view s) {
  size_t lt = s.find('<');
  size_t gt = s.find('>', lt == std::string_view::npos ? 0 : lt);
  if (lt == std::string_view::npos || gt == std::string_view::npos) return {};
  return std::string(s.substr(lt + 1, gt - lt - 1));
}

}  // namespace

class SmtpSender::Impl {
 public:
  explicit Impl(SmtpRelay r) : relay(std::move(r)) {
    global_init();
    curl = curl_easy_init();
  }
  ~Impl() {
    if (curl) curl_easy_cleanup(curl);
  }

  // What the relay said, as libcurl saw it: its commands (HEADER_OUT) and the replies
  // (HEADER_IN), so the relay's own words reach the case and refused RCPTs are known.
  struct Transcript {
    std::string command;  // the verb of the last command sent
    std::string rcpt;     // the address of the last RCPT sent
    std::string reply;    // the last complete reply (final line)
    int code = 0;
    std::vector<RefusedRecipient> refused;
  };

  static int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
    auto* t = static_cast<Transcript*>(user);
    std::string_view text(data, size);
    if (type == CURLINFO_HEADER_OUT) {
      size_t sp = text.find_first_of(" \r\n");
      t->command.assign(text.substr(0, sp));
      std::transform(t->command.begin(), t->command.end(), t->command.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (t->command == "RCPT") t->rcpt = bracketed(text);
      return 0;
    }
    if (type != CURLINFO_HEADER_IN) return 0;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      int code = reply_code(line);
      if (code == 0 || (line.size() > 3 && line[3] == '-')) continue;  // not a final line
      if (t->command == "QUIT") continue;  // libcurl's goodbye after a failure says nothing
      t->code = code;
      t->reply.assign(line.substr(0, 512));
      if (t->command == "RCPT" && code >= 400)
        t->refused.push_back(RefusedRecipient{t->rcpt, code, t->reply});
    }
    return 0;
  }

  struct Upload {
    std::string_view data;
    size_t offset = 0;
  };

  static size_t on_read(char* buffer, size_t size, size_t nitems, void* user) {
    auto* u = static_cast<Upload*>(user);
    size_t n = std::min(size * nitems, u->data.size() - u->offset);
    std::memcpy(buffer, u->data.data() + u->offset, n);
    u->offset += n;
    return n;
  }

  SendResult send(const std::string& from, const std::vector<std::string>& recipients,
                  std::string_view message) {
    SendResult result;
    if (!curl) {
      result.detail = "libcurl could not create a handle";
      return result;  // kTemporary: memory, most likely
    }
    if (recipients.empty() || !valid_address(from) ||
        !std::all_of(recipients.begin(), recipients.end(),
                     [](const std::string& r) { return !r.empty() && valid_address(r); })) {
      result.outcome = SendOutcome::kPermanent;
      result.detail = "invalid envelope: a sender or recipient address is malformed or missing";
      return result;
    }
    SendResult r = perform(from, recipients, message, /*fresh=*/false);
    // A cached connection the relay has dropped while idle fails before any reply: try
    // once more on a new connection (the message cannot have been taken without a reply).
    if (r.outcome == SendOutcome::kTemporary && r.smtp_code == 0 && reused_ &&
        (last_error_ == CURLE_SEND_ERROR || last_error_ == CURLE_RECV_ERROR ||
         last_error_ == CURLE_GOT_NOTHING))
      r = perform(from, recipients, message, /*fresh=*/true);
    return r;
  }

  SendResult perform(const std::string& from, const std::vector<std::string>& recipients,
                     std::string_view message, bool fresh) {
    SendResult result;
    Transcript transcript;
    Upload upload{message, 0};
    char error[CURL_ERROR_SIZE] = {0};

    curl_slist* rcpt = nullptr;
    for (const auto& a : recipients) {
      curl_slist* next = curl_slist_append(rcpt, ("<" + a + ">").c_str());
      if (!next) {
        curl_slist_free_all(rcpt);
        result.detail = "out of memory";
        return result;
      }
      rcpt = next;
    }
    std::string url =
        "smtp://" + relay.host + ":" + std::to_string(relay.port) + "/" + relay.helo_name;
    const long timeout = static_cast<long>(std::max<int64_t>(1, relay.timeout.count()));
    std::string mail_from = "<" + from + ">";

    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  // feeds on_debug; nothing is printed
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, &Impl::on_debug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &transcript);
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     static_cast<long>(relay.starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, relay.verify_peer ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, relay.verify_peer ? 2L : 0L);
    if (!relay.username.empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, relay.username.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, relay.password.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, timeout);
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &Impl::on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));

    CURLcode rc = curl_easy_perform(curl);
    last_error_ = rc;
    long connects = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
    reused_ = connects == 0;
    long response = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response);

    // The handle outlives this call: leave no pointer to our stack behind.
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, nullptr);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, nullptr);
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, nullptr);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 0L);
    curl_easy_setopt(curl, CURLOPT_READDATA, nullptr);
    curl_slist_free_all(rcpt);

    result.smtp_code = transcript.code != 0 ? transcript.code : static_cast<int>(response);
    std::string curl_text = error[0] ? std::string(error) : curl_easy_strerror(rc);
    if (rc == CURLE_OK) {
      result.outcome = SendOutcome::kSent;
      result.detail = transcript.reply;
      result.refused = std::move(transcript.refused);
      if (!result.refused.empty()) {
        result.detail += "; refused:";
        for (const auto& f : result.refused) result.detail += " <" + f.address + "> " + f.reply;
      }
      return result;
    }
    // A refusal in the middle of the dialogue: the relay's code decides.
    if (rc != CURLE_OPERATION_TIMEDOUT && result.smtp_code >= 400) {
      bool all_refused =
          !transcript.refused.empty() && transcript.refused.size() == recipients.size();
      if (all_refused) {
        bool any_temporary =
            std::any_of(transcript.refused.begin(), transcript.refused.end(),
                        [](const RefusedRecipient& f) { return f.smtp_code < 500; });
        result.outcome = any_temporary ? SendOutcome::kTemporary : SendOutcome::kPermanent;
      } else {
        result.outcome =
            result.smtp_code >= 500 ? SendOutcome::kPermanent : SendOutcome::kTemporary;
      }
      result.detail = transcript.reply + " (" + curl_text + ")";
      result.refused = std::move(transcript.refused);
      return result;
    }
    // No usable reply: unreachable, timed out, TLS failed, connection dropped. Retrying
    // later is the only sensible answer.
    result.outcome = SendOutcome::kTemporary;
    if (result.smtp_code < 400) result.smtp_code = 0;
    result.detail = "relay " + relay.host + ":" + std::to_string(relay.port) + ": " + curl_text;
    if (!transcript.reply.empty()) result.detail += " (last reply: " + transcript.reply + ")";
    return result;
  }

  SmtpRelay relay;
  CURL* curl = nullptr;
  CURLcode last_error_ = CURLE_OK;
  bool reused_ = false;
};

SmtpSender::SmtpSender(SmtpRelay relay) : impl_(std::make_unique<Impl>(std::move(relay))) {}
SmtpSender::~SmtpSender() = default;

SendResult SmtpSender::send(const std::string& envelope_from,
                            const std::vector<std::string>& recipients,
                            std::string_view raw_message) {
  return impl_->send(envelope_from, recipients, raw_message);
}

}  // namespace escala::adapters::smtp
