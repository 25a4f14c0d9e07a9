#include "tempo/base/metrics.hpp"

#include "tempo/base/check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tempo::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {
  TEMPO_CHECK(std::is_sorted(bounds_.begin(), bounds_.end()), "histogram bounds must ascend");
}

void Histogram::Observe(double v) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t k = 0; k <= i && k <= bounds_.size(); ++k) {
    total += buckets_[k].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,     2.5,   5,    10};
}

namespace {
enum Type { kCounter, kGauge, kHistogram };
constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (const char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string RenderLabels(const Labels& labels, std::string_view extra_key = {},
                         std::string_view extra_value = {}) {
  if (labels.empty() && extra_key.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += fmt::format("{}=\"{}\"", k, EscapeLabelValue(v));
  }
  if (!extra_key.empty()) {
    if (!first) out += ',';
    out += fmt::format("{}=\"{}\"", extra_key, extra_value);
  }
  out += '}';
  return out;
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return fmt::format("{}", v);
}
}  // namespace

struct Registry::Series {
  Labels labels;
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<double()> read;
};

struct Registry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<std::unique_ptr<Series>> series;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Series& Registry::FindOrAdd(std::string_view name, std::string_view help, int type,
                                      const Labels& labels,
                                      const std::function<void(Series&)>& make) {
  std::lock_guard lock(mutex_);
  auto fam = std::find_if(families_.begin(), families_.end(),
                          [&](const auto& f) { return f->name == name; });
  if (fam == families_.end()) {
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = type;
    families_.push_back(std::move(f));
    fam = families_.end() - 1;
  }
  TEMPO_CHECK((*fam)->type == type, "metric registered twice with different types");
  for (auto& s : (*fam)->series) {
    if (s->labels == labels) return *s;
  }
  auto s = std::make_unique<Series>();
  s->labels = labels;
  make(*s);
  (*fam)->series.push_back(std::move(s));
  return *(*fam)->series.back();
}

Counter& Registry::AddCounter(std::string_view name, std::string_view help, const Labels& labels) {
  return *FindOrAdd(name, help, kCounter, labels, [](Series& s) {
            s.counter = std::make_unique<Counter>();
          }).counter;
}

Gauge& Registry::AddGauge(std::string_view name, std::string_view help, const Labels& labels) {
  auto& series =
      FindOrAdd(name, help, kGauge, labels, [](Series& s) { s.gauge = std::make_unique<Gauge>(); });
  TEMPO_CHECK(series.gauge != nullptr, "gauge already registered as a callback gauge");
  return *series.gauge;
}

Histogram& Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds, const Labels& labels) {
  return *FindOrAdd(name, help, kHistogram, labels, [&](Series& s) {
            s.histogram = std::make_unique<Histogram>(std::move(bounds));
          }).histogram;
}

void Registry::AddCallbackGauge(std::string_view name, std::string_view help,
                                std::function<double()> read, const Labels& labels) {
  auto& s = FindOrAdd(name, help, kGauge, labels, [](Series&) {});
  std::lock_guard lock(mutex_);
  s.read = std::move(read);
}

std::string Registry::RenderPrometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(families_.size() * 160);
  for (const auto& f : families_) {
    out +=
        fmt::format("# HELP {} {}\n# TYPE {} {}\n", f->name, f->help, f->name, kTypeNames[f->type]);
    for (const auto& s : f->series) {
      switch (f->type) {
        case kCounter:
          out += fmt::format("{}{} {}\n", f->name, RenderLabels(s->labels), s->counter->Value());
          break;
        case kGauge: {
          const double v = s->read ? s->read() : (s->gauge ? s->gauge->Value() : 0.0);
          out += fmt::format("{}{} {}\n", f->name, RenderLabels(s->labels), FormatValue(v));
          break;
        }
        case kHistogram: {
          const auto& h = *s->histogram;
          for (size_t i = 0; i <= h.bounds().size(); ++i) {
            const std::string le = i < h.bounds().size() ? FormatValue(h.bounds()[i]) : "+Inf";
            out += fmt::format("{}_bucket{} {}\n", f->name, RenderLabels(s->labels, "le", le),
                               h.CumulativeCount(i));
          }
          out +=
              fmt::format("{}_sum{} {}\n", f->name, RenderLabels(s->labels), FormatValue(h.Sum()));
          out += fmt::format("{}_count{} {}\n", f->name, RenderLabels(s->labels), h.Count());
          break;
        }
      }
    }
  }
  return out;
}

Registry& Registry::Global() {
  static Registry registry;
  return registry;
}

}  // namespace tempo::metrics
