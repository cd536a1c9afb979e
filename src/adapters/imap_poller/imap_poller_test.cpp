// ImapPoller against a real IMAP server: a throw-away Dovecot 2.3 (Debian dovecot-imapd)
// started by each test from a minimal configuration in a temporary folder, listening on a
// free loopback port, with one user "desk" whose Maildir lives in that folder. The system
// Dovecot is never touched; ours is stopped by its PID. Dovecot must start as root (it
// drops to the "dovecot" and "dovenull" users); without root or the binary the tests skip.
//
// Messages reach the mailbox by IMAP APPEND (libcurl; UIDs in append order) or by writing
// files into Maildir/new (exact bytes on disk). A second, independent IMAP session (a
// fresh libcurl handle) checks flags and folders afterwards.

#include "adapters/imap_poller/imap_poller.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "adapters/imap_poller/imap_wire.hpp"

extern char** environ;

namespace escala::adapters::imap {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDovecot = "/usr/sbin/dovecot";
constexpr const char* kUser = "desk";
constexpr const char* kPassword = "s3cret pass";

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool can_connect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// One Dovecot master process (and its children) in a temporary folder.
class Dovecot {
 public:
  // `extra` lines go at the end of dovecot.conf (e.g. imap_capability overrides).
  explicit Dovecot(std::string extra = {}) : extra_(std::move(extra)), port_(free_port()) {
    const passwd* pw = ::getpwnam("dovecot");
    if (::geteuid() != 0 || !pw || ::access(kDovecot, X_OK) != 0) return;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    char tmpl[] = "/tmp/escala-imap-XXXXXX";
    if (!::mkdtemp(tmpl)) return;
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);  // the mail processes (user dovecot) walk into home/
    for (const char* d : {"run", "state", "home"}) fs::create_directory(dir_ + "/" + d);
    maildir_ = dir_ + "/home/" + kUser + "/Maildir";
    for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(maildir_ + "/" + d);
    chown_tree(dir_ + "/home");
    write_file(dir_ + "/passwd", std::string(kUser) + ":{PLAIN}" + kPassword + "\n");
    write_file(dir_ + "/dovecot.conf", config());
    available_ = true;
    start();
  }
  ~Dovecot() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::string config() const {
    std::string d = dir_;
    return "# A throw-away Dovecot for imap_poller_test.\n"
           "base_dir = " + d + "/run\n"
           "state_dir = " + d + "/state\n"
           "log_path = " + d + "/dovecot.log\n"
           "listen = 127.0.0.1\n"
           "protocols = imap\n"
           "ssl = no\n"
           "disable_plaintext_auth = no\n"
           "auth_mechanisms = plain login\n"
           "default_internal_user = dovecot\n"
           "default_login_user = dovenull\n"
           "first_valid_uid = " + std::to_string(uid_) + "\n"
           "mail_location = maildir:~/Maildir\n"
           "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
           "passdb {\n  driver = passwd-file\n"
           "  args = scheme=PLAIN username_format=%u " + d + "/passwd\n}\n"
           "userdb {\n  driver = static\n"
           "  args = uid=" + std::to_string(uid_) + " gid=" + std::to_string(gid_) +
           " home=" + d + "/home/%u\n}\n"
           "service imap-login {\n"
           "  inet_listener imap {\n    address = 127.0.0.1\n    port = " +
           std::to_string(port_) + "\n  }\n"
           "  inet_listener imaps {\n    port = 0\n  }\n}\n" + extra_ + "\n";
  }

  void start() {
    if (!available_ || pid_ > 0) return;
    std::string conf = dir_ + "/dovecot.conf";
    std::vector<std::string> args = {kDovecot, "-F", "-c", conf};
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string out = dir_ + "/dovecot.stdout";
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (::posix_spawn(&pid_, kDovecot, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (pid_ > 0 && !can_connect(port_) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ready_ = pid_ > 0 && can_connect(port_);
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);  // the master stops its children before it exits
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ready_ = false;
  }

  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }
  const std::string& maildir() const { return maildir_; }
  std::string log() const { return read_file(dir_ + "/dovecot.log"); }
  std::string url(const std::string& mailbox = "INBOX") const {
    return "imap://127.0.0.1:" + std::to_string(port_) + "/" + mailbox;
  }

  ImapAccount account() const {
    ImapAccount a;
    a.url = url();
    a.username = kUser;
    a.password = kPassword;
    a.mailbox_address = "sosporte24@callmyway.com";
    a.timeout = std::chrono::seconds(10);
    return a;
  }

  // A file in Maildir/new, exactly these bytes (Dovecot gives it a UID when it next looks).
  void deliver_file(std::string_view bytes) {
    std::string name = maildir_ + "/new/" + std::to_string(++files_) + ".M" +
                       std::to_string(::getpid()) + ".escala-test";
    write_file(name, bytes);
    if (::chown(name.c_str(), uid_, gid_) != 0) ADD_FAILURE() << "chown " << name;
  }

  // IMAP APPEND through a fresh session: UIDs follow the order of the calls. libcurl's
  // APPEND always sends the (\Seen) flag, so it is taken off again (APPENDUID tells which).
  bool append(std::string_view message, const std::string& mailbox = "INBOX") {
    std::string stream;
    auto on_header = +[](char* data, size_t size, size_t n, void* user) -> size_t {
      static_cast<std::string*>(user)->append(data, size * n);
      return size * n;
    };
    CURL* c = curl_easy_init();
    struct Upload {
      std::string_view data;
      size_t offset = 0;
    } up{message, 0};
    auto reader = +[](char* buf, size_t size, size_t n, void* user) -> size_t {
      auto* u = static_cast<Upload*>(user);
      size_t k = std::min(size * n, u->data.size() - u->offset);
      std::memcpy(buf, u->data.data() + u->offset, k);
      u->offset += k;
      return k;
    };
    std::string u = url(mailbox);
    curl_easy_setopt(c, CURLOPT_URL, u.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, kUser);
    curl_easy_setopt(c, CURLOPT_PASSWORD, kPassword);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, reader);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &stream);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    size_t at = stream.find("[APPENDUID ");
    if (rc != CURLE_OK || at == std::string::npos) return false;
    at = stream.find(' ', at + 11);
    std::string uid = stream.substr(at + 1, stream.find(']', at) - at - 1);
    session("UID STORE " + uid + " -FLAGS.SILENT (\\Seen)", mailbox);
    return true;
  }

  // One command in a fresh session: every response line libcurl read, parsed.
  std::vector<ImapResponse> session(const std::string& command,
                                    const std::string& mailbox = "INBOX") const {
    CURL* c = curl_easy_init();
    std::string stream;
    auto on_header = +[](char* data, size_t size, size_t n, void* user) -> size_t {
      static_cast<std::string*>(user)->append(data, size * n);
      return size * n;
    };
    auto discard = +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; };
    std::string u = url(mailbox);
    curl_easy_setopt(c, CURLOPT_URL, u.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, kUser);
    curl_easy_setopt(c, CURLOPT_PASSWORD, kPassword);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, command.c_str());
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &stream);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    EXPECT_EQ(rc, CURLE_OK) << command << "\n" << stream;
    auto parsed = parse_responses(stream, 1 << 30);
    return parsed.ok() ? parsed.value() : std::vector<ImapResponse>{};
  }

  std::vector<uint32_t> search(const std::string& criteria,
                               const std::string& mailbox = "INBOX") const {
    auto uids = search_results(session("UID SEARCH " + criteria, mailbox));
    std::sort(uids.begin(), uids.end());
    return uids;
  }

  // UID -> flags, for every message of `mailbox`.
  std::map<uint32_t, std::string> flags(const std::string& mailbox = "INBOX") const {
    std::map<uint32_t, std::string> out;
    for (const auto& f : fetch_responses(session("UID FETCH 1:* (UID FLAGS)", mailbox)))
      if (f.uid() && f.attributes.count("FLAGS")) out[*f.uid()] = f.attributes.at("FLAGS").data;
    return out;
  }

 private:
  void chown_tree(const std::string& root) {
    if (::chown(root.c_str(), uid_, gid_) != 0) ADD_FAILURE() << "chown " << root;
    for (const auto& e : fs::recursive_directory_iterator(root))
      if (::chown(e.path().c_str(), uid_, gid_) != 0) ADD_FAILURE() << "chown " << e.path();
  }

  std::string extra_;
  std::string dir_, maildir_;
  uint16_t port_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
  bool available_ = false;
  bool ready_ = false;
  int files_ = 0;
};

#define REQUIRE_DOVECOT(server)                                                         \
  do {                                                                                  \
    if (::geteuid() != 0 || ::access(kDovecot, X_OK) != 0)                              \
      GTEST_SKIP() << "needs root and " << kDovecot << " (Debian dovecot-imapd)";       \
    ASSERT_TRUE((server).ready()) << (server).log();                                    \
  } while (0)

std::string message(int n, std::string_view extra_body = {}) {
  return "From: Ana <ana@example.com>\r\n"
         "To: sosporte24@callmyway.com\r\n"
         "Message-ID: <m" + std::to_string(n) + "@example.com>\r\n"
         "Subject: message " + std::to_string(n) + "\r\n"
         "\r\n"
         "body " + std::to_string(n) + "\r\n" + std::string(extra_body);
}

std::string subject_of(std::string_view raw) {
  size_t at = raw.find("Subject: ");
  if (at == std::string_view::npos) return {};
  size_t end = raw.find("\r\n", at);
  return std::string(raw.substr(at + 9, end - at - 9));
}

// The desk as the poller sees it: a ledger keyed by Message-ID that answers "duplicate".
struct FakeDesk {
  std::vector<std::string> received;        // every call, in order
  std::map<std::string, std::string> kept;  // Message-ID (or the bytes) -> bytes
  std::vector<std::string> addresses;
  ErrorCode fail_with = ErrorCode::kInternal;
  int failures_left = 0;

  ImapIngest ingest() {
    return [this](std::string_view raw, const std::string& address) -> Result<std::string> {
      received.emplace_back(raw);
      addresses.push_back(address);
      if (failures_left > 0) {
        --failures_left;
        return make_error(fail_with, "the test desk says no");
      }
      std::string key(raw);
      if (size_t at = raw.find("Message-ID: "); at != std::string_view::npos)
        key = std::string(raw.substr(at, raw.find("\r\n", at) - at));
      if (kept.count(key)) return make_error(ErrorCode::kAlreadyExists, "duplicate Message-ID");
      kept[key] = std::string(raw);
      return std::string("case 42");
    };
  }
};

struct LogLines {
  std::vector<std::string> lines;
  ImapLog sink() {
    return [this](ImapLogLevel, const std::string& m) { lines.push_back(m); };
  }
  int count(std::string_view needle) const {
    return static_cast<int>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(needle) != std::string::npos;
    }));
  }
};

TEST(ImapPoller, FetchesUnseenOldestFirstIngestsAndMarksSeen) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(server.append(message(i)));
  server.session("UID STORE 2 +FLAGS (\\Seen)");  // read by a human: not ours to take

  FakeDesk desk;
  ImapPoller poller(server.account(), desk.ingest());
  auto n = poller.poll_once();
  ASSERT_TRUE(n.ok()) << n.error().message << "\n" << server.log();
  EXPECT_EQ(n.value(), 2);
  ASSERT_EQ(desk.received.size(), 2u);
  EXPECT_EQ(subject_of(desk.received[0]), "message 1");
  EXPECT_EQ(subject_of(desk.received[1]), "message 3");
  EXPECT_EQ(desk.received[0], message(1));
  EXPECT_EQ(desk.addresses[0], "sosporte24@callmyway.com");

  EXPECT_TRUE(server.search("UNSEEN").empty());
  auto flags = server.flags();
  ASSERT_EQ(flags.size(), 3u);
  for (const auto& [uid, f] : flags) EXPECT_NE(f.find("\\Seen"), std::string::npos) << uid;

  auto again = poller.poll_once();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again.value(), 0);
  EXPECT_EQ(desk.received.size(), 2u);

  auto st = poller.status();
  EXPECT_EQ(st.polls, 2);
  EXPECT_EQ(st.stored, 2);
  EXPECT_EQ(st.duplicates, 0);
  EXPECT_TRUE(st.last_error.empty());
  EXPECT_TRUE(st.last_poll && st.last_success);
  EXPECT_NE(st.uidvalidity, 0u);
}

TEST(ImapPoller, IngestFailureLeavesTheMessageUnseenAndItIsRetried) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  ASSERT_TRUE(server.append(message(1)));
  ASSERT_TRUE(server.append(message(2)));

  FakeDesk desk;
  desk.fail_with = ErrorCode::kUnavailable;
  desk.failures_left = 1;
  LogLines log;
  ImapPoller poller(server.account(), desk.ingest(), log.sink());
  auto first = poller.poll_once();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(first.error().message.find("left unseen"), std::string::npos) << first.error().message;
  EXPECT_EQ(desk.received.size(), 1u);  // the poll stopped at the first failure
  // BODY.PEEK did not set \Seen, and nothing was marked.
  EXPECT_EQ(server.search("UNSEEN"), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(poller.status().ingest_failures, 1);
  EXPECT_EQ(poller.status().consecutive_errors, 1);
  EXPECT_FALSE(poller.status().last_error.empty());

  auto second = poller.poll_once();
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second.value(), 2);
  EXPECT_EQ(subject_of(desk.received[1]), "message 1");
  EXPECT_EQ(desk.kept.size(), 2u);
  EXPECT_TRUE(server.search("UNSEEN").empty());
  EXPECT_TRUE(poller.status().last_error.empty());
  EXPECT_EQ(poller.status().consecutive_errors, 0);
}

TEST(ImapPoller, MessagesTheDeskRefusesForGoodAreSkippedNotBlocking) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  ASSERT_TRUE(server.append(message(1)));
  ASSERT_TRUE(server.append(message(2)));
  FakeDesk desk;
  desk.fail_with = ErrorCode::kInvalidArgument;
  desk.failures_left = 1;
  LogLines log;
  ImapPoller poller(server.account(), desk.ingest(), log.sink());
  auto n = poller.poll_once();
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n.value(), 1);
  EXPECT_EQ(server.search("UNSEEN"), (std::vector<uint32_t>{1}));  // left for a human
  EXPECT_EQ(log.count("refused UID 1"), 1);
  EXPECT_EQ(poller.poll_once().value(), 0);  // not offered again by this process
  EXPECT_EQ(desk.received.size(), 2u);
  EXPECT_EQ(poller.status().refused, 1);
}

TEST(ImapPoller, CrashBetweenStoreAndMarkOffersItAgainAndTheDuplicateIsMarked) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  ASSERT_TRUE(server.append(message(1)));
  ASSERT_TRUE(server.append(message(2)));
  FakeDesk desk;  // outlives the "process": it is the desk's database
  {
    ImapPoller dying(server.account(), desk.ingest());
    dying.set_hooks({[](uint32_t uid) -> Status {
      if (uid == 2) return make_error(ErrorCode::kUnavailable, "killed before marking");
      return ok_status();
    }});
    auto r = dying.poll_once();
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("killed before marking"), std::string::npos);
  }
  EXPECT_EQ(desk.kept.size(), 2u);                                 // both stored
  EXPECT_EQ(server.search("UNSEEN"), (std::vector<uint32_t>{2}));  // one marked

  ImapPoller restarted(server.account(), desk.ingest());
  auto r = restarted.poll_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), 1);
  ASSERT_EQ(desk.received.size(), 3u);
  EXPECT_EQ(subject_of(desk.received[2]), "message 2");  // offered again
  EXPECT_EQ(desk.kept.size(), 2u);                        // and answered duplicate
  EXPECT_EQ(restarted.status().duplicates, 1);
  EXPECT_EQ(restarted.status().stored, 0);
  EXPECT_TRUE(server.search("UNSEEN").empty());
}

TEST(ImapPoller, DuplicateAnswerAsValueIsSuccessToo) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  ASSERT_TRUE(server.append(message(1)));
  ImapPoller poller(server.account(), [](std::string_view, const std::string&) {
    return Result<std::string>(std::string("duplicate"));
  });
  auto r = poller.poll_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), 1);
  EXPECT_EQ(poller.status().duplicates, 1);
  EXPECT_TRUE(server.search("UNSEEN").empty());
}

TEST(ImapPoller, MovesToAFolderCreatedIfMissing) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  ASSERT_TRUE(server.append(message(1)));
  ASSERT_TRUE(server.append(message(2)));
  ImapAccount account = server.account();
  account.after_store = "Escala/Processed";
  FakeDesk desk;
  LogLines log;
  {
    ImapPoller poller(account, desk.ingest(), log.sink());
    auto r = poller.poll_once();
    ASSERT_TRUE(r.ok()) << r.error().message << "\n" << server.log();
    EXPECT_EQ(r.value(), 2);
  }
  EXPECT_EQ(log.count("created folder Escala/Processed"), 1);
  EXPECT_TRUE(server.search("ALL").empty());  // moved away: INBOX is empty
  auto moved = server.flags("Escala/Processed");
  ASSERT_EQ(moved.size(), 2u);
  for (const auto& [uid, f] : moved) EXPECT_NE(f.find("\\Seen"), std::string::npos);

  // A new poller finds the folder there ([ALREADYEXISTS]) and goes on.
  ASSERT_TRUE(server.append(message(3)));
  ImapPoller again(account, desk.ingest(), log.sink());
  auto r = again.poll_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), 1);
  EXPECT_EQ(log.count("created folder"), 1);
  EXPECT_EQ(server.flags("Escala/Processed").size(), 3u);
  EXPECT_TRUE(server.search("ALL").empty());
  EXPECT_EQ(desk.kept.size(), 3u);
}

// Servers without MOVE (RFC 6851): UID COPY, \Deleted, then UID EXPUNGE (UIDPLUS) or a
// plain EXPUNGE. Dovecot is told to advertise less than it has.
TEST(ImapPoller, MoveFallsBackToCopyAndExpungeWithoutMoveCapability) {
  for (std::string caps : {"IMAP4rev1 LITERAL+ UIDPLUS", "IMAP4rev1 LITERAL+"}) {
    SCOPED_TRACE(caps);
    Dovecot server("imap_capability = " + caps + "\n");
    REQUIRE_DOVECOT(server);
    ASSERT_TRUE(server.append(message(1)));
    ASSERT_TRUE(server.append(message(2)));
    ImapAccount account = server.account();
    account.after_store = "Processed";
    FakeDesk desk;
    ImapPoller poller(account, desk.ingest());
    std::vector<std::string> commands;
    poller.set_hooks({{}, [&](std::string_view c, std::string_view) {
                        commands.push_back(std::string(c.substr(0, c.find(' ', 4))));
                      }});
    auto r = poller.poll_once();
    ASSERT_TRUE(r.ok()) << r.error().message << "\n" << server.log();
    EXPECT_EQ(r.value(), 2);
    EXPECT_TRUE(server.search("ALL").empty());
    EXPECT_EQ(server.flags("Processed").size(), 2u);
    auto used = [&](const std::string& c) {
      return std::count(commands.begin(), commands.end(), c);
    };
    EXPECT_EQ(used("UID MOVE"), 0);
    EXPECT_EQ(used("UID COPY"), 2);
    bool uidplus = caps.find("UIDPLUS") != std::string::npos;
    EXPECT_EQ(used("UID EXPUNGE"), uidplus ? 2 : 0);
    EXPECT_EQ(used("EXPUNGE"), uidplus ? 0 : 2);
  }
}

TEST(ImapPoller, WrongPasswordIsAClearErrorAndNothingIsLost) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  ASSERT_TRUE(server.append(message(1)));
  ImapAccount account = server.account();
  account.password = "wrong";
  FakeDesk desk;
  ImapPoller poller(account, desk.ingest());
  auto r = poller.poll_once();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  std::printf("wrong password: %s\n", r.error().message.c_str());
  EXPECT_NE(r.error().message.find("refused the login of desk"), std::string::npos);
  EXPECT_NE(r.error().message.find("AUTHENTICATIONFAILED"), std::string::npos);
  EXPECT_EQ(r.error().message.find("wrong"), std::string::npos);  // no password in logs
  EXPECT_TRUE(desk.received.empty());
  EXPECT_EQ(server.search("UNSEEN"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(poller.status().last_error, r.error().message);
}

TEST(ImapPoller, ServerDownIsUnavailable) {
  ImapAccount account;
  account.url = "imap://127.0.0.1:" + std::to_string(free_port()) + "/INBOX";
  account.username = "desk";
  account.timeout = std::chrono::seconds(5);
  FakeDesk desk;
  ImapPoller poller(account, desk.ingest());
  auto r = poller.poll_once();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  std::printf("server down: %s\n", r.error().message.c_str());
}

TEST(ImapPoller, ValidateRefusesBadAccounts) {
  ImapAccount a;
  a.url = "imap://mail.example.com/INBOX";
  a.username = "desk";
  EXPECT_TRUE(ImapPoller::validate(a).ok());
  a.url = "imaps://mail.example.com:993";
  EXPECT_TRUE(ImapPoller::validate(a).ok());
  auto bad = a;
  bad.url = "pop3://mail.example.com/";
  EXPECT_EQ(ImapPoller::validate(bad).error().field, "url");
  bad = a;
  bad.url = "imap://desk:pw@mail.example.com/INBOX";
  EXPECT_EQ(ImapPoller::validate(bad).error().field, "url");
  bad = a;
  bad.batch = 0;
  EXPECT_EQ(ImapPoller::validate(bad).error().field, "batch");
  bad = a;
  bad.after_store = "Procesados\r\nA1 LOGOUT";
  EXPECT_EQ(ImapPoller::validate(bad).error().field, "after_store");
  bad = a;
  bad.username.clear();
  EXPECT_EQ(ImapPoller::validate(bad).error().field, "username");
}

// Bytes written to Maildir/new come back exactly when they already use CRLF; a file with
// bare LF comes back with CRLF (Dovecot serves RFC 5322 line endings), everything else
// untouched. Pieces of 64 KiB are joined exactly, also where a line spans two pieces.
TEST(ImapPoller, EightBitCrlfAndLargeMessagesSurviveByteExact) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  std::string eight_bit =
      "From: =?UTF-8?Q?Mar=C3=ADa?= <maria@example.com>\r\n"
      "Message-ID: <8bit@example.com>\r\n"
      "Subject: impresora sin tóner\r\n"
      "Content-Type: text/plain; charset=ISO-8859-1\r\n"
      "Content-Transfer-Encoding: 8bit\r\n"
      "\r\n"
      "Se\xf1or, la impresora \xe1\xe9\xed\xf3\xfa no imprime.\r\n"
      "* OK this line looks like a response\r\n"
      "A001 OK and this like a completion\r\n"
      ")\r\n"
      "a fake literal marker {5}\r\n"
      "\x01\x7f\x80\xff\r\n"
      ".\r\n"
      "\r\n";
  server.deliver_file(eight_bit);
  std::string lf_only = "Message-ID: <lf@example.com>\nSubject: lf\n\nline one\nline two\n";
  server.deliver_file(lf_only);
  // 1 MiB: a 300 KB line without any break, then ordinary lines.
  std::string big = "Message-ID: <big@example.com>\r\nSubject: big\r\n\r\n" +
                    std::string(300000, 'x') + "\r\n";
  while (big.size() < (1u << 20)) big += "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n";
  server.deliver_file(big);
  // Exactly three pieces long: a fourth, empty piece ends it.
  std::string exact = "Message-ID: <exact@example.com>\r\nSubject: exact\r\n\r\n";
  exact += std::string(3 * 64 * 1024 - exact.size() - 2, 'z') + "\r\n";
  server.deliver_file(exact);

  FakeDesk desk;
  ImapPoller poller(server.account(), desk.ingest());
  auto r = poller.poll_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r.value(), 4);
  std::map<std::string, std::string> by_subject;
  for (const auto& m : desk.received) {
    size_t at = m.find("Subject: ");
    by_subject[m.substr(at + 9, m.find_first_of("\r\n", at) - at - 9)] = m;
  }
  EXPECT_EQ(by_subject["impresora sin tóner"], eight_bit);
  std::string crlf;
  for (char c : lf_only) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(by_subject["lf"], crlf);
  EXPECT_EQ(by_subject["big"].size(), big.size());
  EXPECT_TRUE(by_subject["big"] == big);
  EXPECT_TRUE(by_subject["exact"] == exact);
  EXPECT_TRUE(server.search("UNSEEN").empty());
}

TEST(ImapPoller, MessagesOverTheLimitAreSkippedAndLoggedOnce) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  ASSERT_TRUE(server.append(message(1, std::string(100000, 'x') + "\r\n")));
  ASSERT_TRUE(server.append(message(2)));
  ImapAccount account = server.account();
  account.max_message_bytes = 64 * 1024;
  FakeDesk desk;
  LogLines log;
  ImapPoller poller(account, desk.ingest(), log.sink());
  auto r = poller.poll_once();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), 1);
  ASSERT_EQ(desk.received.size(), 1u);
  EXPECT_EQ(subject_of(desk.received[0]), "message 2");
  EXPECT_EQ(log.count("skipping UID 1"), 1);
  EXPECT_EQ(server.search("UNSEEN"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(poller.poll_once().value(), 0);
  EXPECT_EQ(log.count("skipping UID 1"), 1);  // once per process
  EXPECT_EQ(poller.status().skipped_too_large, 1);
}

TEST(ImapPoller, TwoHundredMessagesExactlyOnceInBatchesOfFifty) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  for (int i = 1; i <= 200; ++i) ASSERT_TRUE(server.append(message(i)));
  FakeDesk desk;
  ImapAccount account = server.account();
  account.batch = 50;
  ImapPoller poller(account, desk.ingest());
  int connections = 0;
  poller.set_hooks({{}, [&](std::string_view, std::string_view r) {
                      if (r.find("Dovecot (Debian) ready") != std::string_view::npos) ++connections;
                    }});
  auto start = std::chrono::steady_clock::now();
  std::vector<int> per_poll;
  for (int round = 0; round < 6; ++round) {
    auto r = poller.poll_once();
    ASSERT_TRUE(r.ok()) << r.error().message;
    per_poll.push_back(r.value());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("200 messages ingested in %.2f s\n", seconds);
  EXPECT_EQ(per_poll, (std::vector<int>{50, 50, 50, 50, 0, 0}));
  ASSERT_EQ(desk.received.size(), 200u);  // each offered exactly once
  EXPECT_EQ(desk.kept.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(subject_of(desk.received[i]), "message " + std::to_string(i + 1));
  EXPECT_TRUE(server.search("UNSEEN").empty());
  EXPECT_EQ(poller.status().stored, 200);
  EXPECT_EQ(connections, 1);  // one connection, logged in and selected once, for all
}

TEST(ImapPoller, RunDrainsEveryBatchThenWaitsForAPoke) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  for (int i = 1; i <= 12; ++i) ASSERT_TRUE(server.append(message(i)));
  ImapAccount account = server.account();
  account.batch = 5;
  account.interval = std::chrono::hours(1);
  FakeDesk desk;
  std::mutex mu;
  auto ingest = desk.ingest();
  ImapPoller poller(account, [&](std::string_view raw, const std::string& a) {
    std::lock_guard lock(mu);
    return ingest(raw, a);
  });
  std::thread loop([&] { poller.run(); });
  auto wait_for = [&](int64_t n) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (poller.status().stored < n && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return poller.status().stored;
  };
  EXPECT_EQ(wait_for(12), 12);  // three batches without waiting an hour
  ASSERT_TRUE(server.append(message(13)));
  poller.poke();
  EXPECT_EQ(wait_for(13), 13);
  poller.stop();
  loop.join();
  std::lock_guard lock(mu);
  EXPECT_EQ(desk.received.size(), 13u);
}

// The polled mailbox (here not INBOX) is deleted and created again while the poller is
// connected: new UIDVALIDITY, UIDs start over, and a message it already stored comes back
// unseen. The poller reconnects, notices, searches afresh; the desk answers duplicate.
TEST(ImapPoller, UidValidityChangeIsNoticedAndTheDeskDedupes) {
  Dovecot server;
  REQUIRE_DOVECOT(server);
  server.session("CREATE Desk");
  ASSERT_TRUE(server.append(message(1), "Desk"));
  ASSERT_TRUE(server.append(message(2), "Desk"));
  FakeDesk desk;
  LogLines log;
  ImapAccount account = server.account();
  account.url = server.url("Desk");
  ImapPoller poller(account, desk.ingest(), log.sink());
  ASSERT_EQ(poller.poll_once().value(), 2);
  uint32_t before = poller.status().uidvalidity;
  ASSERT_NE(before, 0u);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // UIDVALIDITY is time based
  server.session("DELETE Desk", "INBOX");
  server.session("CREATE Desk", "INBOX");
  ASSERT_TRUE(server.append(message(1), "Desk"));
  ASSERT_TRUE(server.append(message(2), "Desk"));
  ASSERT_TRUE(server.append(message(3), "Desk"));
  server.session("UID STORE 1 +FLAGS (\\Seen)", "Desk");

  auto r = poller.poll_once();  // Dovecot ends the old session: the poller reconnects
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), 2);
  EXPECT_NE(poller.status().uidvalidity, before);
  EXPECT_EQ(log.count("UIDVALIDITY changed"), 1);
  EXPECT_EQ(desk.kept.size(), 3u);
  EXPECT_EQ(poller.status().duplicates, 1);  // message 2 again: the desk said duplicate
  EXPECT_EQ(poller.status().stored, 3);
  EXPECT_TRUE(server.search("UNSEEN", "Desk").empty());
}

}  // namespace
}  // namespace escala::adapters::imap
