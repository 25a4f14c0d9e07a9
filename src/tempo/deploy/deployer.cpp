#include "tempo/deploy/deployer.hpp"

namespace tempo::deploy {

std::string_view ToString(StepState state) {
  switch (state) {
    case StepState::kPending:
      return "pending";
    case StepState::kRunning:
      return "running";
    case StepState::kDone:
      return "done";
    case StepState::kFailed:
      return "failed";
  }
  return "pending";
}

}  // namespace tempo::deploy
