#pragma once
// The IMAP poller: brings mail from a hosted mailbox (Gmail, Office 365, any IMAP4rev1
// server) into the desk. Start at ImapPoller::poll_once.
//
// Exactly once, as far as the desk can see: a message is fetched without touching its
// flags (BODY.PEEK), handed to the ingest callback, and marked (\Seen, or moved to a
// folder) only after the callback said it is stored. A process that dies between the
// store and the mark leaves the message unseen; the next poll offers it again and the
// desk's ledger (Message-ID / content hash) answers "duplicate", after which it is marked.
// UIDVALIDITY changes need nothing special for the same reason: the poller keeps no UIDs
// between polls, it searches UNSEEN each time; the desk dedupes.
//
// Transport: libcurl's IMAP support with one easy handle per poller, so the logged-in,
// selected connection is reused between polls. libcurl 7.88 (Debian 12) only reads a
// FETCH literal by size for its own "UID FETCH n BODY[]", which sets \Seen; a custom
// "UID FETCH n BODY.PEEK[]" reaches the program only through the header callback, line by
// line, and that path is capped at about 300 KB per transfer (CURLE_RECV_ERROR "Too large
// response headers"). So bodies are fetched in partial pieces, BODY.PEEK[]<offset.64K>,
// and parsed here (imap_wire.hpp) with every literal length checked.
//
// Thread-safety: poll_once() and run() are used by one thread (run() calls poll_once());
// poke(), stop() and status() may be called from any thread. Construction does no I/O and
// cannot fail; validate() says whether an account is usable (the composition root calls it
// at start and refuses a bad configuration).
//
// Failure: nothing throws. poll_once() returns an error when the server cannot be reached,
// refuses the login (kUnauthenticated), or the desk is unavailable; what was not marked is
// offered again by the next poll. Messages larger than max_message_bytes, and messages
// the desk refuses for good (an error other than kUnavailable/kInternal/kAlreadyExists),
// are left in the mailbox unseen, logged once, and skipped by later polls of this process.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace escala::adapters::imap {

struct ImapAccount {
  // imap://host:port/INBOX (STARTTLS per `starttls`) or imaps://host:port/INBOX (TLS from
  // the first byte). The path is the mailbox to poll, URL-encoded (%20 for a space);
  // empty means INBOX.
  std::string url;
  std::string username, password;
  // The desk mailbox this account receives for (e.g. sosporte24@callmyway.com); passed to
  // the ingest callback with every message.
  std::string mailbox_address;
  // "seen": set \Seen after a message is stored. Anything else is a folder to MOVE the
  // message to (after setting \Seen), created if missing, e.g. "Escala/Processed" — in the
  // server's own hierarchy separator ("/" on Gmail, Office 365 and most Dovecots).
  std::string after_store = "seen";
  bool starttls = false;    // require STARTTLS on imap:// (fail when the server lacks it)
  bool verify_peer = true;  // check the server's certificate and name
  std::chrono::seconds interval{30};
  int batch = 50;  // messages fetched per poll at most; run() polls again at once when more wait
  uint64_t max_message_bytes = 64ull << 20;  // larger messages are skipped and logged
  std::chrono::seconds timeout{60};  // to connect and for each server reply
};

// Hands one message (the exact bytes the server returned for BODY[], CRLF line endings) to
// the desk. ok means stored durably; ok with the value "duplicate", or an error with code
// kAlreadyExists, means the desk already had it. kUnavailable / kInternal mean "try again
// later" (the poll stops); any other error means the desk refuses this message for good.
using ImapIngest =
    std::function<Result<std::string>(std::string_view raw, const std::string& mailbox_address)>;

enum class ImapLogLevel { kInfo, kWarning, kError };
using ImapLog = std::function<void(ImapLogLevel, const std::string& message)>;

// For health checks. Counters are totals since construction.
struct ImapPollerStatus {
  std::optional<Instant> last_poll;     // when the last poll started
  std::optional<Instant> last_success;  // when the last poll ended without error
  std::string last_error;               // the last poll's error; empty after a clean poll
  int consecutive_errors = 0;
  int64_t polls = 0;
  int64_t stored = 0;             // messages the desk stored and we marked
  int64_t duplicates = 0;         // messages the desk already had (then marked)
  int64_t refused = 0;            // messages the desk refused for good (left unseen)
  int64_t ingest_failures = 0;    // temporary ingest failures (left unseen, retried)
  int64_t skipped_too_large = 0;  // messages over max_message_bytes (left unseen)
  int64_t unseen = 0;             // unseen messages found by the last search
  uint32_t uidvalidity = 0;       // of the polled mailbox, 0 before the first poll
};

// Seams for tests. before_mark is called after the desk stored a message and before it is
// marked; an error stops the poll there, as if the process had died (the message stays
// unseen).
struct ImapPollerHooks {
  std::function<Status(uint32_t uid)> before_mark;
  // Sees each command sent and everything libcurl read while it ran (for tracing).
  std::function<void(std::string_view command, std::string_view responses)> on_exchange;
};

class ImapPoller {
 public:
  // `now` stamps the status; the composition root passes its Clock (default: system clock).
  ImapPoller(ImapAccount account, ImapIngest ingest, ImapLog log = {},
             std::function<Instant()> now = {});
  ~ImapPoller();
  ImapPoller(const ImapPoller&) = delete;
  ImapPoller& operator=(const ImapPoller&) = delete;

  // Whether `account` can be used: URL scheme, batch, interval, folder name, credentials.
  static Status validate(const ImapAccount& account);

  // One round: UID SEARCH UNSEEN; for up to `batch` of them, oldest (lowest UID) first:
  // RFC822.SIZE, BODY.PEEK[] (in pieces), ingest, and only after the desk said stored,
  // UID STORE +FLAGS (\Seen) and, in folder mode, UID MOVE (or COPY, STORE \Deleted and
  // UID EXPUNGE / EXPUNGE when the server lacks MOVE). Returns how many messages the desk
  // accepted (stored or duplicate) and were marked.
  Result<int> poll_once();

  // Loops until stop(): poll_once(), then waits `interval` or until poke(). Errors go to
  // the log callback and the next round retries.
  void run();
  // Leader-only polling (several nodes on one desk): before each round run() asks
  // `is_leader` and polls only when it answers true; otherwise it asks again after
  // min(interval, 5 s), so a node takes over within that time of the leader's death.
  // Set before run().
  void set_leader_check(std::function<bool()> is_leader) { is_leader_ = std::move(is_leader); }
  void poke();
  void stop();

  ImapPollerStatus status() const;
  void set_hooks(ImapPollerHooks hooks);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::function<bool()> is_leader_;
  std::mutex mu_;
  std::condition_variable cv_;
  int pokes_ = 0;         // GUARDED_BY(mu_)
  bool stopped_ = false;  // GUARDED_BY(mu_)
};

}  // namespace escala::adapters::imap
