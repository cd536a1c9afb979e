#pragma once
// Live updates across nodes on PostgreSQL: LISTEN/NOTIFY.
//
// Speaking: PgStore NOTIFYs every committed case change on `kCaseChannel` from inside the
// change's own transaction (PgOptions::node_id), so PostgreSQL delivers the notice exactly
// when the change commits — a rolled-back change, or a COMMIT that failed, is never
// announced, and no committed change goes unannounced because a node died between its
// commit and a separate NOTIFY.
//
// Hearing: a PgCaseListener per node holds one dedicated connection (never a pooled one:
// LISTEN belongs to the session), waits on its socket with poll(), and hands every notice
// from *another* node to `on_notice` (this node's own changes were published locally
// already). When the connection breaks (the database restarted, the backend was
// terminated) it reconnects with backoff (0.1 s doubling to 5 s); notices sent meanwhile are
// lost, so after every reconnection it calls `on_gap` (live listeners refetch everything).
//
// The payload is a tiny JSON object, {"n": node, "c": case id, "v": version, "k": kind,
// "p": kind customers may see, "a": account}: at most ~150 bytes (account codes have at most
// 32 characters; PostgreSQL's limit is 8000 bytes). The account and the public kind travel
// because the stream's privacy filter (services::may_hear) needs them; the case number is
// formatted by the receiver (it knows the desk's prefix).
//
// Thread-safety: start() and stop() from one thread; the callbacks run on the listener's
// thread, one at a time, and must be quick (they publish into the in-process hub).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/model.hpp"

namespace escala::adapters {

// The channel every node of a desk LISTENs on (one desk per database).
inline constexpr const char* kCaseChannel = "escala_case_changes";

struct CaseNotice {
  std::string node;  // who committed the change (PgOptions::node_id)
  int64_t case_id = 0;
  int64_t version = 0;
  std::string kind;         // the type of the change's first event
  std::string public_kind;  // the type of its first event customers see; empty: none
  std::string account;
};

// The notice of a change that appended `events` and left the case as `after` (the same
// kinds as services::kinds_of).
CaseNotice notice_of(const std::string& node, const core::Case& after,
                     const std::vector<core::Event>& events);
std::string to_payload(const CaseNotice& notice);
// Nothing when the payload is not a notice (another program on the channel).
std::optional<CaseNotice> parse_payload(std::string_view payload);

struct PgListenerOptions {
  std::string url;      // the desk's postgresql:// URL (or libpq key=value pairs)
  std::string node_id;  // this node: its own notices are ignored
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
};

class PgCaseListener {
 public:
  using OnNotice = std::function<void(const CaseNotice&)>;
  using OnGap = std::function<void()>;
  PgCaseListener(PgListenerOptions options, OnNotice on_notice, OnGap on_gap);
  ~PgCaseListener();  // stops
  PgCaseListener(const PgCaseListener&) = delete;
  PgCaseListener& operator=(const PgCaseListener&) = delete;

  // Starts the thread (it connects in the background: a database that is down at start is
  // retried like one that went down later).
  void start();
  // Wakes the thread and joins it; the connection closes. Idempotent.
  void stop();

  // Whether the LISTEN is in place now, and how many times it was set up (1 + reconnects).
  bool listening() const { return listening_.load(); }
  uint64_t connections() const { return connections_.load(); }

 private:
  void run();
  // Waits up to `d` or until stop(); false when stopping.
  bool pause(std::chrono::milliseconds d);

  PgListenerOptions options_;
  std::string conninfo_;
  OnNotice on_notice_;
  OnGap on_gap_;
  int wake_[2] = {-1, -1};  // a pipe: stop() writes, the thread's poll() wakes
  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::atomic<uint64_t> connections_{0};
  std::thread thread_;
};

}  // namespace escala::adapters
