#include "ctl/time_spec.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace p2pchat::ctl {
namespace {

class TimeSpec : public ::testing::Test {
  protected:
    void SetUp() override {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
    // 2025-11-25 00:10:00 UTC: just after midnight.
    static constexpr std::int64_t now = 1764029400000;
    static constexpr std::int64_t midnight = 1764028800000;

    static std::optional<std::int64_t> at(std::string_view text, bound b = bound::since) {
        auto spec = parse_time_spec(text, now, b);
        if (!spec) return std::nullopt;
        if (auto const* t = std::get_if<point_in_time>(&*spec)) return t->unix_ms;
        return -std::get<event_number>(*spec).seq - 1;  // told apart from times by sign
    }
};

TEST_F(TimeSpec, EventNumbers) {
    EXPECT_EQ(at("0"), -1);
    EXPECT_EQ(at("42"), -43);
}

TEST_F(TimeSpec, AbsoluteTimesAndDates) {
    EXPECT_EQ(at("2025-11-25"), midnight);
    EXPECT_EQ(at("2025-11-24 23:59"), midnight - 60'000);
    EXPECT_EQ(at("2025-11-24T23:59:30"), midnight - 30'000);
    EXPECT_EQ(at("2025-11-24T23:59:30Z"), midnight - 30'000);
    EXPECT_EQ(at("@1764029400"), now);
    EXPECT_EQ(at("now"), now);
    EXPECT_EQ(at("today"), midnight);
    EXPECT_EQ(at("Yesterday"), midnight - 86'400'000);
    EXPECT_EQ(at("yesterday 12:00"), midnight - 43'200'000);
    EXPECT_EQ(at("tomorrow"), midnight + 86'400'000);
}

TEST_F(TimeSpec, ABareClockTimeSinceIsTheLastTimeTheClockShowedIt) {
    EXPECT_EQ(at("00:05"), midnight + 300'000);
    // 23:59 is still ahead today: --since means yesterday's, --until today's.
    EXPECT_EQ(at("23:59"), midnight - 60'000);
    EXPECT_EQ(at("23:59", bound::until), midnight + 86'400'000 - 60'000);
}

TEST_F(TimeSpec, RelativeTimesAsDockerAndJournalctlWriteThem) {
    EXPECT_EQ(at("10m"), now - 600'000);
    EXPECT_EQ(at("2h"), now - 7'200'000);
    EXPECT_EQ(at("1h30m"), now - 5'400'000);
    EXPECT_EQ(at("30s"), now - 30'000);
    EXPECT_EQ(at("3d"), now - 3 * 86'400'000LL);
    EXPECT_EQ(at("-10m"), now - 600'000);
    EXPECT_EQ(at("1 hour ago"), now - 3'600'000);
    EXPECT_EQ(at("10 min ago"), now - 600'000);
    EXPECT_EQ(at("2 days ago"), now - 2 * 86'400'000LL);
}

TEST_F(TimeSpec, NonsenseIsRefused) {
    for (auto bad :
         {"", " ", "-1", "1.5", "10x", "ago", "1 hour agoo", "25:00", "12:60", "2025-13-01",
          "2025-02-31", "2025-11-25 14", "yesterday at noon", "@", "@-5", "1e3", "10m ago ago"})
        EXPECT_EQ(at(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace p2pchat::ctl
