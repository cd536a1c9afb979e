#pragma once
// CaseEvents: the hub that tells live listeners that a case changed (the console's push
// channel, GET /api/v1/stream). CaseService publishes into it after each committed change
// (API, SLA timers, inbound mail); each open stream subscribes with a listener that queues
// a small message and wakes its connection.
//
// What a change says is deliberately little (which case, its version, what kind of event):
// listeners refetch what they show through the API, which applies the reader's permissions
// again. The hub itself knows nothing of transports.
//
// Several nodes: the hub is in-process. On PostgreSQL every change is NOTIFYed by the store
// in its own transaction, and a listener (adapters/pg_store/pg_case_notifier.hpp) publishes
// the changes it hears from the other nodes into this same hub, so streams need not know
// where a change was committed. When that listener lost its connection for a while it
// publishes a gap (CaseChanged::missed()): listeners refetch everything.
//
// Thread-safety: every method may be called from any thread. Listeners run on the
// publishing thread, under the hub's lock (so none runs after unsubscribe() returns): they
// must be quick, must not block, and must not call back into the hub.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/model.hpp"

namespace escala::services {

struct CaseChanged {
  int64_t case_id = 0;
  std::string number;   // e.g. "CMW-000123"
  std::string account;  // empty while the case's customer is unknown
  int64_t version = 0;  // the case's version after the change (its number of events)
  std::string kind;     // the type of the change's first event ("created", "reply", …)
  // The type of the change's first event that customers may see; empty when every event of
  // the change was internal (a note, an assignment): customers are not told of it at all.
  std::string public_kind;
  // True: changes may have been missed (the link to the other nodes was down); every
  // listener should refetch what it shows. The other members are empty.
  bool gap = false;

  static CaseChanged missed() {
    CaseChanged c;
    c.gap = true;
    return c;
  }
};

// The kinds of a change made of `events` (see CaseChanged::kind and public_kind).
struct ChangeKinds {
  std::string kind;
  std::string public_kind;
};
ChangeKinds kinds_of(const std::vector<core::Event>& events);

// Whether `reader` may be told of `change`: staff of every change; a customer only of a
// change to a case of their own account with something they can see. Everyone of a gap.
bool may_hear(const core::Actor& reader, const CaseChanged& change);

class CaseEvents {
 public:
  using Listener = std::function<void(const CaseChanged&)>;
  using Id = uint64_t;

  Id subscribe(Listener listener);
  void unsubscribe(Id id);
  void publish(const CaseChanged& change);

  size_t listeners() const;
  uint64_t published() const;

 private:
  mutable std::mutex mu_;
  std::map<Id, Listener> listeners_;  // GUARDED_BY(mu_)
  Id next_id_ = 1;                    // GUARDED_BY(mu_)
  uint64_t published_ = 0;            // GUARDED_BY(mu_)
};

// A subscription that ends with its owner.
class CaseEventsSubscription {
 public:
  CaseEventsSubscription(CaseEvents& hub, CaseEvents::Listener listener)
      : hub_(hub), id_(hub.subscribe(std::move(listener))) {}
  ~CaseEventsSubscription() { hub_.unsubscribe(id_); }
  CaseEventsSubscription(const CaseEventsSubscription&) = delete;
  CaseEventsSubscription& operator=(const CaseEventsSubscription&) = delete;

 private:
  CaseEvents& hub_;
  CaseEvents::Id id_;
};

}  // namespace escala::services
