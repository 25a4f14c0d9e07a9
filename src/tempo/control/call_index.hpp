#pragma once

// Internal to the control module: the call index, one `calls` row per finished call, read
// by the calls and usage API.

#include "tempo/base/metrics.hpp"
#include "tempo/base/result.hpp"
#include "tempo/db/database.hpp"
#include "tempo/runtime/call_record.hpp"

namespace tempo::control {

/// Where Index() put a call.
enum class IndexedIn { kOrganisation, kUnassigned };

class CallIndex {
 public:
  explicit CallIndex(db::Database& db);

  /// Records (or completes) the row of a finished call, with the keys of the artefacts the
  /// runtime stored. Blocking. The row belongs to the organisation that owns the call's agent
  /// and is keyed by (organisation, CallSid): indexing never changes another organisation's
  /// row. A call whose agent no organisation owns (an agent served from a file) is given to
  /// no organisation: it goes to `unassigned_calls`, which no tenant API reads, is counted in
  /// tempo_calls_unassigned_total and logged.
  Result<IndexedIn> Index(const runtime::CallRecord& record);

 private:
  db::Database& db_;
  metrics::Counter& unassigned_;
};

}  // namespace tempo::control
