#include "tempo/base/clock.hpp"

namespace tempo {

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

}  // namespace tempo
