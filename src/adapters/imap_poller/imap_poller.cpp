#include "adapters/imap_poller/imap_poller.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

#include "adapters/imap_poller/imap_wire.hpp"

namespace escala::adapters::imap {
namespace {

// A body is fetched in pieces of this size: libcurl 7.88 delivers a custom command's
// response through the header callback and fails the transfer ("Too large response
// headers: N > 307200") once its header byte count passes 300 KB. That count is not
// always reset between transfers on a reused connection (measured with Dovecot: one
// 200,000-byte piece passes, a 196,608-byte piece right after another fails at once;
// 98,304- and 131,072-byte pieces pass in long runs), so pieces stay well below and a
// piece that still trips it is fetched again once on a fresh connection.
constexpr uint64_t kPieceBytes = 64 * 1024;
// libcurl's line buffer (default 16 KiB): a response line longer than half of it is
// silently clipped to 40 bytes, so it must hold a whole piece on one line (a body without
// line breaks) and a long SEARCH answer.
constexpr long kBufferBytes = 512 * 1024;
// What one transfer may hand to the header callback (libcurl's own cap is 300 KB).
constexpr size_t kMaxStreamBytes = 1 << 20;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// libcurl URL-decodes CURLOPT_CUSTOMREQUEST for IMAP ("%41" is sent as "A"): a literal '%'
// must travel as "%25".
std::string escape_percent(std::string_view command) {
  std::string out;
  out.reserve(command.size());
  for (char c : command) {
    if (c == '%')
      out += "%25";
    else
      out += c;
  }
  return out;
}

// Everything after "scheme://" up to the path; empty when the URL has no authority.
std::string_view authority(std::string_view url) {
  size_t s = url.find("://");
  if (s == std::string_view::npos) return {};
  std::string_view rest = url.substr(s + 3);
  return rest.substr(0, rest.find('/'));
}

std::string with_mailbox(const std::string& url) {
  size_t s = url.find("://");
  size_t slash = url.find('/', s == std::string::npos ? 0 : s + 3);
  if (slash == std::string::npos) return url + "/INBOX";
  if (slash + 1 == url.size()) return url + "INBOX";
  return url;
}

bool retry_later(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kInternal;
}

}  // namespace

class ImapPoller::Impl {
 public:
  Impl(ImapAccount a, ImapIngest i, ImapLog l, std::function<Instant()> n)
      : account(std::move(a)), ingest(std::move(i)), log(std::move(l)), now(std::move(n)) {
    global_init();
    url = with_mailbox(account.url);
    host = std::string(authority(account.url));
    if (!now)
      now = [] { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); };
  }
  ~Impl() {
    if (curl) curl_easy_cleanup(curl);
  }

  // One command's exchange: every response libcurl read during the transfer (a new
  // connection's greeting, login and SELECT included) and the command's completion.
  struct Exchange {
    std::vector<ImapResponse> responses;
    ImapCompletion done;
    bool reconnected = false;
    bool bye = false;  // the server said BYE: this connection is finished
  };

  static size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (self->stream.size() + size * n > kMaxStreamBytes) return 0;  // aborts the transfer
    self->stream.append(data, size * n);
    return size * n;
  }
  // The commands libcurl sent (CURLINFO_HEADER_OUT), to find our command's tag.
  static int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
    if (type != CURLINFO_HEADER_OUT) return 0;
    auto* self = static_cast<Impl*>(user);
    if (self->sent.size() < 64 * 1024) self->sent.append(data, size);
    return 0;
  }
  // The tag libcurl gave `request` ("A004 UID SEARCH UNSEEN" -> "A004").
  std::string tag_of(std::string_view request) const {
    std::string_view s = sent;
    while (!s.empty()) {
      size_t nl = s.find('\n');
      std::string_view line = s.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      size_t sp = line.find(' ');
      if (sp != std::string_view::npos && line.substr(sp + 1) == request)
        return std::string(line.substr(0, sp));
      s = nl == std::string_view::npos ? std::string_view{} : s.substr(nl + 1);
    }
    return {};
  }
  // The body callback gets the untagged lines (and lines of a literal that start with
  // "* "): the header callback already has them all, in order.
  static size_t on_body(char*, size_t size, size_t n, void*) { return size * n; }

  void reset_connection() {
    if (curl) curl_easy_cleanup(curl);
    curl = nullptr;
    caps_known = false;
  }

  // kPinned adds ;UIDVALIDITY=n to the URL: should libcurl have to reconnect and select
  // the mailbox again, it fails the command when the mailbox's UIDVALIDITY changed, so a
  // UID from before never touches a different message.
  enum class Pin { kNone, kPinned };

  Result<Exchange> command(const std::string& text, Pin pin = Pin::kPinned) {
    if (!curl) curl = curl_easy_init();
    if (!curl) return make_error(ErrorCode::kUnavailable, "libcurl could not create a handle");
    stream.clear();
    sent.clear();
    char error[CURL_ERROR_SIZE] = {0};
    std::string target = pin == Pin::kPinned && uidvalidity_known ? url + ";UIDVALIDITY=" + std::to_string(uv) : url;
    std::string request = escape_percent(text);
    const long timeout = static_cast<long>(std::max<int64_t>(1, account.timeout.count()));

    curl_easy_setopt(curl, CURLOPT_URL, target.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Impl::on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Impl::on_body);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);  // feeds on_debug; nothing is printed
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, &Impl::on_debug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, this);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, kBufferBytes);
    curl_easy_setopt(curl, CURLOPT_USERNAME, account.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, account.password.c_str());
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     static_cast<long>(account.starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, account.verify_peer ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, account.verify_peer ? 2L : 0L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, timeout);

    CURLcode rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);  // leave no pointer to our stack
    long connects = 0;
    curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);

    if (hooks.on_exchange) hooks.on_exchange(text, stream);
    Exchange ex;
    ex.reconnected = connects > 0;
    if (ex.reconnected) caps_known = false;
    std::string curl_text = error[0] ? std::string(error) : curl_easy_strerror(rc);
    auto parsed = parse_responses(stream, account.max_message_bytes + kPieceBytes);
    if (parsed.ok()) {
      ex.responses = std::move(parsed.value());
      // Our command's completion, found by its tag: after a NO or BAD libcurl closes the
      // connection and its LOGOUT's "OK" comes last.
      std::string tag = tag_of(text);
      for (const auto& r : ex.responses) {
        if (r.tag != tag || tag.empty()) continue;
        if (auto c = last_completion({r})) ex.done = *c;
      }
      if (ex.done.status.empty() && tag.empty())
        if (auto c = last_completion(ex.responses)) ex.done = *c;
      for (const auto& r : ex.responses)
        if (r.tag == "*" && r.text.front().size() >= 5 &&
            (r.text.front().compare(2, 3, "BYE") == 0 || r.text.front().compare(2, 3, "bye") == 0))
          ex.bye = true;
    }
    const std::string where = "IMAP " + host;
    switch (rc) {
      case CURLE_OK:
      case CURLE_QUOTE_ERROR:  // the server answered NO or BAD: the caller decides
        if (!parsed.ok()) {
          // A literal shorter than announced: libcurl ended the command early (a line in
          // the literal looked like its tag). The connection's state is unknown: drop it.
          reset_connection();
          return make_error(ErrorCode::kUnavailable,
                            where + ": " + text + ": " + parsed.error().message);
        }
        if (ex.done.status.empty()) ex.done.status = rc == CURLE_OK ? "OK" : "NO";
        if (ex.bye) reset_connection();  // e.g. "* BYE Mailbox deleted" before our answer
        return ex;
      case CURLE_LOGIN_DENIED:
        return make_error(ErrorCode::kUnauthenticated,
                          where + " refused the login of " + account.username + ": " +
                              (ex.done.text.empty() ? curl_text : ex.done.text));
      case CURLE_REMOTE_FILE_NOT_FOUND:
        if (curl_text.find("UIDVALIDITY") != std::string::npos) {
          // The mailbox was recreated under us: forget the connection and the UIDs; the
          // next poll searches again and learns the new UIDVALIDITY from its SELECT.
          reset_connection();
          uidvalidity_known = false;
          return make_error(ErrorCode::kUnavailable, where + ": " + curl_text);
        }
        return make_error(ErrorCode::kUnavailable,
                          where + ": cannot select " + url.substr(url.rfind('/') + 1) + ": " +
                              (ex.done.text.empty() ? curl_text : ex.done.text));
      default:
        reset_connection();
        return make_error(ErrorCode::kUnavailable, where + ": " + text.substr(0, 40) + ": " +
                                                       curl_text);
    }
  }

  // A command that must answer OK.
  Result<Exchange> command_ok(const std::string& text, Pin pin = Pin::kPinned) {
    auto ex = command(text, pin);
    if (!ex.ok()) return ex.error();
    if (ex->done.status != "OK")
      return make_error(ErrorCode::kUnavailable,
                        "IMAP " + host + " answered " + ex->done.status + " to " + text + ": " +
                            ex->done.text);
    return ex;
  }

  // The whole message, piece by piece; nullopt when it vanished (expunged meanwhile).
  Result<std::optional<std::string>> fetch_body(uint32_t uid, uint64_t expected) {
    std::string body;
    body.reserve(static_cast<size_t>(std::min<uint64_t>(expected, account.max_message_bytes)));
    for (uint64_t offset = 0;; offset += kPieceBytes) {
      std::string cmd = "UID FETCH " + std::to_string(uid) + " BODY.PEEK[]<" +
                        std::to_string(offset) + "." + std::to_string(kPieceBytes) + ">";
      auto ex = command_ok(cmd);
      if (!ex.ok() && ex.error().message.find("Too large response headers") !=
                          std::string::npos) {
        reset_connection();
        ex = command_ok(cmd);
      }
      if (!ex.ok()) return ex.error();
      const FetchValue* piece = nullptr;
      std::vector<FetchResponse> fetched = fetch_responses(ex->responses);
      for (const auto& f : fetched) {
        if (f.uid() != uid) continue;
        for (const auto& [name, value] : f.attributes)
          if (name.rfind("BODY[]", 0) == 0) piece = &value;
      }
      if (!piece || piece->kind == FetchValue::Kind::kNil) {
        if (offset == 0) return std::optional<std::string>{};
        return make_error(ErrorCode::kUnavailable, "IMAP " + host + ": message UID " +
                                                       std::to_string(uid) +
                                                       " vanished while it was fetched");
      }
      if (piece->kind != FetchValue::Kind::kString || piece->data.size() > kPieceBytes) {
        reset_connection();
        return make_error(ErrorCode::kUnavailable,
                          "IMAP " + host + ": unexpected answer to " + cmd);
      }
      body += piece->data;
      if (body.size() > account.max_message_bytes)
        return make_error(ErrorCode::kPayloadTooLarge,
                          "message UID " + std::to_string(uid) + " is larger than " +
                              std::to_string(account.max_message_bytes) + " bytes");
      if (piece->data.size() < kPieceBytes) break;
    }
    return std::optional<std::string>(std::move(body));
  }

  Status ensure_capabilities() {
    if (caps_known) return ok_status();
    auto ex = command_ok("CAPABILITY");
    if (!ex.ok()) return ex.error();
    server_caps = capabilities(ex->responses);
    caps_known = true;
    return ok_status();
  }

  Status ensure_folder(const std::string& folder) {
    if (folder_ready) return ok_status();
    auto ex = command("CREATE " + folder);
    if (!ex.ok()) return ex.error();
    if (ex->done.status != "OK" && !has_code(ex->done.text, "ALREADYEXISTS"))
      return make_error(ErrorCode::kUnavailable, "IMAP " + host + ": cannot create folder " +
                                                     account.after_store + ": " +
                                                     ex->done.text);
    if (ex->done.status == "OK") {
      say(ImapLogLevel::kInfo, "created folder " + account.after_store + " on " + host);
      (void)command("SUBSCRIBE " + folder);  // so mail clients show it; optional
    }
    folder_ready = true;
    return ok_status();
  }

  // \Seen first: from then on the message is done as far as polling goes; moving it is
  // housekeeping, so a failed move leaves a stored, seen message in the mailbox.
  Status mark(uint32_t uid) {
    std::string id = std::to_string(uid);
    auto seen = command_ok("UID STORE " + id + " +FLAGS.SILENT (\\Seen)");
    if (!seen.ok()) return seen.error();
    if (account.after_store == "seen") return ok_status();

    auto folder = quote_mailbox(account.after_store);
    if (!folder.ok()) return folder.error();
    ESCALA_TRY(ensure_folder(*folder));
    ESCALA_TRY(ensure_capabilities());
    if (server_caps.count("MOVE")) {
      auto moved = command("UID MOVE " + id + " " + *folder);
      if (!moved.ok()) return moved.error();
      if (moved->done.status == "OK") return ok_status();
      if (!has_code(moved->done.text, "TRYCREATE"))
        return make_error(ErrorCode::kUnavailable, "IMAP " + host + ": cannot move UID " + id +
                                                       " to " + account.after_store + ": " +
                                                       moved->done.text);
      folder_ready = false;  // deleted since we created it: once more
      ESCALA_TRY(ensure_folder(*folder));
      auto again = command_ok("UID MOVE " + id + " " + *folder);
      if (!again.ok()) return again.error();
      return ok_status();
    }
    // RFC 6851's fallback: copy, flag the original deleted, expunge it (only it when the
    // server has UIDPLUS; plain EXPUNGE also removes other \Deleted messages).
    auto copied = command("UID COPY " + id + " " + *folder);
    if (!copied.ok()) return copied.error();
    if (copied->done.status != "OK") {
      if (!has_code(copied->done.text, "TRYCREATE"))
        return make_error(ErrorCode::kUnavailable, "IMAP " + host + ": cannot copy UID " + id +
                                                       " to " + account.after_store + ": " +
                                                       copied->done.text);
      folder_ready = false;
      ESCALA_TRY(ensure_folder(*folder));
      auto again = command_ok("UID COPY " + id + " " + *folder);
      if (!again.ok()) return again.error();
    }
    auto deleted = command_ok("UID STORE " + id + " +FLAGS.SILENT (\\Deleted)");
    if (!deleted.ok()) return deleted.error();
    auto expunged =
        command_ok(server_caps.count("UIDPLUS") ? "UID EXPUNGE " + id : std::string("EXPUNGE"));
    if (!expunged.ok()) return expunged.error();
    return ok_status();
  }

  void say(ImapLogLevel level, const std::string& message) {
    if (log) log(level, message);
  }

  template <typename F>
  void update(F&& f) {
    std::lock_guard lock(status_mu);
    f(status);
  }

  Result<int> poll() {
    // NOOP first: Dovecot runs a command on the mailbox view as it was when the command
    // started and syncs after it, so on a reused connection a SEARCH alone misses mail
    // that arrived since the previous command. Both unpinned: this is where a new
    // UIDVALIDITY is learnt (from the SELECT libcurl sends on a new connection). A reused
    // connection may have died while we slept, or the server may end it now ("* BYE IMAP
    // session state is inconsistent" after the mailbox was deleted and created again):
    // one more try on a fresh connection.
    Result<Exchange> search = make_error(ErrorCode::kInternal, "not searched");
    std::optional<uint32_t> v;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt > 0) reset_connection();
      auto noop = command_ok("NOOP", Pin::kNone);
      if (noop.ok() && !noop->bye) {
        search = command_ok("UID SEARCH UNSEEN", Pin::kNone);
        if (search.ok() && !search->bye) {
          v = uidvalidity(search->responses);
          if (!v) v = uidvalidity(noop->responses);
          break;
        }
      } else {
        search = noop;
      }
      if (!search.ok() && search.error().code != ErrorCode::kUnavailable) break;
    }
    if (!search.ok()) return search.error();
    if (search->bye) return make_error(ErrorCode::kUnavailable, "IMAP " + host + " ended the session");
    if (v) {
      if (uidvalidity_known && *v != uv) {
        say(ImapLogLevel::kWarning, "IMAP " + host + ": UIDVALIDITY changed from " +
                                        std::to_string(uv) + " to " + std::to_string(*v) +
                                        "; searching afresh (the desk dedupes)");
        skipped.clear();
      }
      uv = *v;
      uidvalidity_known = true;
      update([&](ImapPollerStatus& s) { s.uidvalidity = uv; });
    }
    std::vector<uint32_t> uids = search_results(search->responses);
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    update([&](ImapPollerStatus& s) { s.unseen = static_cast<int64_t>(uids.size()); });

    std::vector<uint32_t> todo;
    for (uint32_t u : uids)
      if (!skipped.count(u)) todo.push_back(u);
    more_pending = todo.size() > static_cast<size_t>(account.batch);
    if (more_pending) todo.resize(static_cast<size_t>(account.batch));
    if (todo.empty()) return 0;

    // Sizes first: a message over the limit is never downloaded.
    auto sizes = command_ok("UID FETCH " + uid_set(todo) + " (UID RFC822.SIZE)");
    if (!sizes.ok()) return sizes.error();
    std::map<uint32_t, uint64_t> size_of;
    for (const auto& f : fetch_responses(sizes->responses)) {
      auto uid = f.uid();
      auto it = f.attributes.find("RFC822.SIZE");
      if (!uid || it == f.attributes.end()) continue;
      size_of[*uid] = std::strtoull(it->second.data.c_str(), nullptr, 10);
    }

    int accepted = 0;
    for (uint32_t uid : todo) {
      auto size = size_of.find(uid);
      if (size == size_of.end()) continue;  // expunged since the search
      std::string id = "UID " + std::to_string(uid);
      if (size->second > account.max_message_bytes) {
        skipped.insert(uid);
        update([](ImapPollerStatus& s) { ++s.skipped_too_large; });
        say(ImapLogLevel::kWarning,
            "IMAP " + host + ": skipping " + id + " of " + std::to_string(size->second) +
                " bytes (limit " + std::to_string(account.max_message_bytes) +
                "); it stays unseen in the mailbox");
        continue;
      }
      auto body = fetch_body(uid, size->second);
      if (!body.ok()) {
        if (body.error().code != ErrorCode::kPayloadTooLarge) return body.error();
        skipped.insert(uid);
        update([](ImapPollerStatus& s) { ++s.skipped_too_large; });
        say(ImapLogLevel::kWarning, "IMAP " + host + ": skipping: " + body.error().message);
        continue;
      }
      if (!body->has_value()) continue;  // expunged since the search

      auto stored = ingest(**body, account.mailbox_address);
      bool duplicate = false;
      if (stored.ok()) {
        duplicate = stored.value() == "duplicate";
      } else if (stored.error().code == ErrorCode::kAlreadyExists) {
        duplicate = true;
      } else if (retry_later(stored.error().code)) {
        update([](ImapPollerStatus& s) { ++s.ingest_failures; });
        return make_error(stored.error().code, "the desk could not store " + id + " from " +
                                                   host + " (left unseen, retried): " +
                                                   stored.error().message);
      } else {
        skipped.insert(uid);
        update([](ImapPollerStatus& s) { ++s.refused; });
        say(ImapLogLevel::kWarning, "IMAP " + host + ": the desk refused " + id + " (" +
                                        error_code_name(stored.error().code) + ": " +
                                        stored.error().message + "); it stays unseen");
        continue;
      }
      if (hooks.before_mark) ESCALA_TRY(hooks.before_mark(uid));
      ESCALA_TRY(mark(uid));
      update([&](ImapPollerStatus& s) { ++(duplicate ? s.duplicates : s.stored); });
      ++accepted;
    }
    return accepted;
  }

  ImapAccount account;
  ImapIngest ingest;
  ImapLog log;
  std::function<Instant()> now;
  ImapPollerHooks hooks;
  std::string url, host;

  CURL* curl = nullptr;
  std::string stream;  // what the header callback received during the current transfer
  std::string sent;    // what libcurl sent during it
  bool caps_known = false;
  std::set<std::string> server_caps;
  bool folder_ready = false;
  bool uidvalidity_known = false;
  uint32_t uv = 0;
  std::set<uint32_t> skipped;  // too large or refused, under the current UIDVALIDITY
  bool more_pending = false;

  mutable std::mutex status_mu;
  ImapPollerStatus status;  // GUARDED_BY(status_mu)
};

ImapPoller::ImapPoller(ImapAccount account, ImapIngest ingest, ImapLog log,
                       std::function<Instant()> now)
    : impl_(std::make_unique<Impl>(std::move(account), std::move(ingest), std::move(log),
                                   std::move(now))) {}
ImapPoller::~ImapPoller() = default;

Status ImapPoller::validate(const ImapAccount& a) {
  std::string_view url = a.url;
  if (url.rfind("imap://", 0) != 0 && url.rfind("imaps://", 0) != 0)
    return make_error(ErrorCode::kInvalidArgument, "the URL must start with imap:// or imaps://",
                      "url");
  std::string_view auth = authority(url);
  if (auth.empty())
    return make_error(ErrorCode::kInvalidArgument, "the URL names no host", "url");
  if (auth.find('@') != std::string_view::npos)
    return make_error(ErrorCode::kInvalidArgument,
                      "put the credentials in username/password, not in the URL", "url");
  if (url.find_first_of(" \r\n\t") != std::string_view::npos)
    return make_error(ErrorCode::kInvalidArgument, "the URL contains white space", "url");
  if (a.username.empty())
    return make_error(ErrorCode::kInvalidArgument, "a username is required", "username");
  if (a.batch < 1)
    return make_error(ErrorCode::kInvalidArgument, "batch must be at least 1", "batch");
  if (a.interval.count() < 1)
    return make_error(ErrorCode::kInvalidArgument, "interval must be at least 1 s", "interval");
  if (a.max_message_bytes < 1024)
    return make_error(ErrorCode::kInvalidArgument, "max_message_bytes is too small",
                      "max_message_bytes");
  if (a.after_store != "seen") {
    auto q = quote_mailbox(a.after_store);
    if (!q.ok()) return q.error();
  }
  return ok_status();
}

Result<int> ImapPoller::poll_once() {
  Impl& m = *impl_;
  Instant started = m.now();
  m.update([&](ImapPollerStatus& s) {
    s.last_poll = started;
    ++s.polls;
  });
  m.more_pending = false;
  Result<int> r = [&]() -> Result<int> {
    ESCALA_TRY(validate(m.account));
    if (!m.ingest) return make_error(ErrorCode::kInvalidArgument, "no ingest callback");
    return m.poll();
  }();
  Instant ended = m.now();
  m.update([&](ImapPollerStatus& s) {
    if (r.ok()) {
      s.last_success = ended;
      s.last_error.clear();
      s.consecutive_errors = 0;
    } else {
      s.last_error = r.error().message;
      ++s.consecutive_errors;
    }
  });
  return r;
}

void ImapPoller::run() {
  for (;;) {
    int seen_pokes;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      seen_pokes = pokes_;
    }
    if (is_leader_ && !is_leader_()) {
      // Another node polls this mailbox; ask again soon, in case it dies.
      const auto follower_wait = std::min<std::chrono::milliseconds>(
          impl_->account.interval, std::chrono::seconds(5));
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, follower_wait, [&] { return stopped_; });
      continue;
    }
    auto n = poll_once();
    if (!n.ok()) impl_->say(ImapLogLevel::kError, n.error().message);
    // More were waiting than one batch takes, and this one made progress: go on at once.
    if (n.ok() && n.value() > 0 && impl_->more_pending) continue;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, impl_->account.interval,
                 [&] { return stopped_ || pokes_ != seen_pokes; });
  }
}

void ImapPoller::poke() {
  {
    std::lock_guard lock(mu_);
    ++pokes_;
  }
  cv_.notify_all();
}

void ImapPoller::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

ImapPollerStatus ImapPoller::status() const {
  std::lock_guard lock(impl_->status_mu);
  return impl_->status;
}

void ImapPoller::set_hooks(ImapPollerHooks hooks) { impl_->hooks = std::move(hooks); }

}  // namespace escala::adapters::imap
