#include "tempo/base/metrics.hpp"

#include <gtest/gtest.h>

namespace tempo::metrics {
namespace {

TEST(Metrics, CounterGaugeAndHistogramRenderAsPrometheusText) {
  Registry r;
  r.AddCounter("tempo_frames_total", "Frames", {{"direction", "in"}}).Inc(3);
  r.AddCounter("tempo_frames_total", "Frames", {{"direction", "out"}}).Inc();
  r.AddGauge("tempo_calls_active", "Active calls").Set(2);
  auto& h = r.AddHistogram("tempo_latency_ms", "Latency", {1, 10});
  h.Observe(0.5);
  h.Observe(5);
  h.Observe(50);
  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE tempo_frames_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_frames_total{direction=\"in\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_frames_total{direction=\"out\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_calls_active 2\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_latency_ms_bucket{le=\"1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_latency_ms_bucket{le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_latency_ms_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_latency_ms_sum 55.5\n"), std::string::npos);
  EXPECT_NE(text.find("tempo_latency_ms_count 3\n"), std::string::npos);
  // HELP/TYPE appear once per family.
  EXPECT_EQ(text.find("# TYPE tempo_frames_total"), text.rfind("# TYPE tempo_frames_total"));
}

TEST(Metrics, RegistrationIsIdempotent) {
  Registry r;
  auto& a = r.AddCounter("tempo_x_total", "x");
  auto& b = r.AddCounter("tempo_x_total", "x");
  EXPECT_EQ(&a, &b);
  a.Inc();
  EXPECT_EQ(b.Value(), 1u);
}

TEST(Metrics, CallbackGaugeIsReadAtRenderTime) {
  Registry r;
  double v = 1;
  r.AddCallbackGauge("tempo_v", "v", [&] { return v; });
  EXPECT_NE(r.RenderPrometheus().find("tempo_v 1\n"), std::string::npos);
  v = 4.5;
  EXPECT_NE(r.RenderPrometheus().find("tempo_v 4.5\n"), std::string::npos);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Registry r;
  r.AddCounter("tempo_e_total", "e", {{"route", "a\"b\\c"}}).Inc();
  EXPECT_NE(r.RenderPrometheus().find(R"(tempo_e_total{route="a\"b\\c"} 1)"), std::string::npos);
}

}  // namespace
}  // namespace tempo::metrics
