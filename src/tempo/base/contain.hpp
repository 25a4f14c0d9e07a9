#pragma once

#include <exception>
#include <string_view>

namespace tempo {

/// Runs `work`; if it throws, calls `on_throw(what)` instead of letting the exception go on.
/// For the edges of per-call work (a call's callbacks, timers and jobs), where an exception
/// must end that call, never the thread or the process. `on_throw` must not throw.
template <class Work, class OnThrow>
void Contain(Work&& work, OnThrow&& on_throw) noexcept {
  try {
    work();
  } catch (const std::exception& e) {
    on_throw(std::string_view(e.what()));
  } catch (...) {
    on_throw(std::string_view("unknown exception"));
  }
}

}  // namespace tempo
