#pragma once

// Internal to the control module: the call index, one `calls` row per finished call, read
// by the calls and usage API.

#include "tempo/base/result.hpp"
#include "tempo/db/database.hpp"
#include "tempo/runtime/call_record.hpp"
#include "tempo/storage/object_store.hpp"

namespace tempo::control {

class CallIndex {
 public:
  CallIndex(db::Database& db, storage::ObjectStore& store) : db_(db), store_(store) {}

  /// Records (or completes) the row of a finished call, with the keys of the artefacts the
  /// runtime stored. Blocking. Calls of agents unknown to the database (file agents) are
  /// recorded in the first organisation.
  Result<void> Index(const runtime::CallRecord& record);

 private:
  db::Database& db_;
  storage::ObjectStore& store_;
};

}  // namespace tempo::control
