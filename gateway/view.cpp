// Per-role views; see view.h.
#include "gateway/view.h"

#include "common/confine.h"

namespace kp::gateway {

namespace {

Result<Area> make_area(std::string name, const std::string& dir,
                       std::optional<policy::Scope> scope) {
  Area a;
  a.name = std::move(name);
  a.scope = scope;
  KP_TRY(Fd fd, confine::open_dir(dir));
  a.dir = std::move(fd);
  return a;
}

// /keys: DATA/public, read-only -- the public keys, the replaced ones in
// their grace period and the signed rotation announcements
// (keys/keystore.h), so that a holder of an old key can fetch and check
// the statement that names the new one.
Result<Area> public_keys_area(const DataDir& d) {
  KP_GUARD(ensure_dir(d.public_keys()));
  KP_TRY(Area a, make_area("keys", d.public_keys(), std::nullopt));
  a.can_read = true;
  return a;
}

}  // namespace

Result<View> View::open(const DataDir& d, const Principal& p) {
  View v;
  switch (p.role) {
    case Role::person: {
      KP_GUARD(ensure_box(d, p.municipality));
      std::string box = d.box(p.municipality);
      KP_TRY(Area inbox, make_area("inbox", box + "/inbox", policy::Scope::upload));
      inbox.can_create = true;
      KP_TRY(Fd partial, confine::open_dir(box + "/partial"));
      inbox.partial = std::move(partial);
      KP_TRY(Area outbox, make_area("outbox", box + "/outbox", policy::Scope::download));
      outbox.can_read = true;
      outbox.can_acknowledge = true;
      KP_TRY(Fd archive, confine::open_dir(box + "/archive"));
      outbox.archive = std::move(archive);
      v.areas_.push_back(std::move(inbox));
      v.areas_.push_back(std::move(outbox));
      KP_TRY(Area published, public_keys_area(d));
      v.areas_.push_back(std::move(published));
      break;
    }
    case Role::staff: {
      KP_TRY(Area queue, make_area("queue", d.queue(), std::nullopt));
      queue.can_read = true;
      queue.descending = true;  // names start with the zero-padded rank
      KP_GUARD(ensure_dir(d.queue_payloads()));
      KP_TRY(Fd payloads, confine::open_dir(d.queue_payloads()));
      queue.payloads = std::move(payloads);
      queue.cases = Area::Cases::open;
      KP_TRY(Area decided, make_area("decided", d.queue(), std::nullopt));
      decided.can_read = true;
      decided.descending = true;
      decided.cases = Area::Cases::decided;
      KP_TRY(Fd decided_payloads, confine::open_dir(d.queue_payloads()));
      decided.payloads = std::move(decided_payloads);
      KP_TRY(Area outgoing, make_area("outgoing", d.outgoing(), std::nullopt));
      outgoing.can_read = true;  // staff read their receipts here
      outgoing.can_create = true;
      KP_GUARD(ensure_dir(d.outgoing_partial()));
      KP_TRY(Fd partial, confine::open_dir(d.outgoing_partial()));
      outgoing.partial = std::move(partial);
      v.areas_.push_back(std::move(queue));
      v.areas_.push_back(std::move(decided));
      v.areas_.push_back(std::move(outgoing));
      break;
    }
    case Role::auditor: {
      KP_TRY(Area audit, make_area("audit", d.audit(), std::nullopt));
      audit.can_read = true;
      v.areas_.push_back(std::move(audit));
      KP_TRY(Area published, public_keys_area(d));
      v.areas_.push_back(std::move(published));
      break;
    }
  }
  return v;
}

Area* View::upload_area() {
  for (auto& a : areas_)
    if (a.can_create) return &a;
  return nullptr;
}

Area* View::find(std::string_view name) {
  for (auto& a : areas_)
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace kp::gateway
