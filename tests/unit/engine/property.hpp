#pragma once
// RapidCheck properties inside GoogleTest tests, reproducible by default: unless RC_PARAMS is
// set, every run of a property uses the same seed (derived from the test's name) and the
// number of cases the test asks for, so CI never flakes on a lucky draw and a failure
// reproduces with the same command. Set RC_PARAMS (e.g. "seed=42 max_success=10000") to
// explore further or to replay what RapidCheck printed for a failure.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

namespace p2pchat::engine::harness {

inline std::uint64_t stable_hash(std::string_view s) {
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// Checks `property` (a callable taking generated arguments, using RC_ASSERT) as part of the
// running GoogleTest test; fails the test with RapidCheck's report, shrunk counterexample
// included.
template <class Testable>
void check_property(Testable&& property, int max_success = 100, int max_size = 100) {
    auto const* info = ::testing::UnitTest::GetInstance()->current_test_info();
    rc::detail::TestMetadata metadata;
    metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
    metadata.description = info->name();
    rc::detail::TestParams params = rc::detail::configuration().testParams;
    if (std::getenv("RC_PARAMS") == nullptr) {
        params.seed = stable_hash(metadata.id);
        params.maxSuccess = max_success;
        params.maxSize = max_size;
    }
    auto const result =
        rc::detail::checkTestable(std::forward<Testable>(property), metadata, params);
    if (!result.template is<rc::detail::SuccessResult>()) {
        std::ostringstream report;
        rc::detail::printResultMessage(result, report);
        FAIL() << report.str() << "\n(seed " << params.seed << ")";
    }
}

}  // namespace p2pchat::engine::harness
