// p2pchat-sim: runs the deterministic simulator (docs/SIMULATION.md) for many seeds, one
// seed with its trace, or the scale experiments (docs/SCALING.md), and prints the figures.
// A failing run prints `seed S failed: <property>` and the command that replays it.
#include <algorithm>
#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "tests/sim/scale.hpp"
#include "tests/sim/scenario.hpp"

namespace po = boost::program_options;
using namespace p2pchat::sim;

namespace {

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    auto const i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

void print_run(run_result const& r) {
    std::printf("seed %llu: %s\n", static_cast<unsigned long long>(r.seed),
                r.ok() ? "ok" : r.failure.c_str());
    if (r.convergence_s)
        std::printf("  converged %.2f s after faults stopped (at %.1f s; bound %lld s)\n",
                    *r.convergence_s, r.faults_stop_s,
                    static_cast<long long>(convergence_bound.count() / 1'000'000));
    else
        std::printf("  did not converge within the bound after faults stopped (at %.1f s)\n",
                    r.faults_stop_s);
    std::printf("  groups of live members: %d\n", r.components);
    std::printf("  messages sent %llu; (message, node) deliveries expected %llu, lost %llu\n",
                static_cast<unsigned long long>(r.messages_sent),
                static_cast<unsigned long long>(r.deliveries.expected),
                static_cast<unsigned long long>(r.deliveries.lost));
    for (auto const& lost : r.deliveries.lost_examples) std::printf("  lost: %s\n", lost.c_str());
    std::printf(
        "  shown out of (Lamport, origin) order: %llu pairs; out of origin seq order: %llu\n",
        static_cast<unsigned long long>(r.deliveries.lamport_inversions),
        static_cast<unsigned long long>(r.deliveries.seq_inversions));
    for (double d : r.detection_s) std::printf("  crash removed everywhere after %.2f s\n", d);
    if (r.undetected) std::printf("  crashes never removed everywhere: %d\n", r.undetected);
    std::printf("  false removals: %llu\n", static_cast<unsigned long long>(r.false_removals));
    for (auto const& note : r.notes) std::printf("  note: %s\n", note.c_str());
    auto const& c = r.counts;
    std::printf(
        "  faults: %d resets, %d pauses, %d partitions (%d one-way), %d crashes, %d restarts, "
        "%d leaves, %d stops\n",
        c.resets, c.pauses, c.partitions, c.one_way, c.crashes, c.restarts, c.leaves, c.stops);
    std::printf("  traffic: %llu frames, %llu bytes; %llu frames lost in flight\n",
                static_cast<unsigned long long>(r.frames), static_cast<unsigned long long>(r.bytes),
                static_cast<unsigned long long>(r.frames_lost));
    std::printf("  %.1f virtual s, %llu events, trace %llu lines, hash %016llx\n", r.end_s,
                static_cast<unsigned long long>(r.events),
                static_cast<unsigned long long>(r.trace_lines),
                static_cast<unsigned long long>(r.trace_hash));
}

void print_aggregate(std::vector<run_result> const& runs, scenario_config const& base,
                     double wall_s, std::string_view program) {
    std::vector<double> convergence, detection;
    std::uint64_t sent = 0, expected = 0, lost = 0, lamport = 0, seq = 0, false_removals = 0;
    std::uint64_t bytes = 0, frames = 0, frames_lost = 0, events = 0;
    int failed = 0, lossy = 0, unordered = 0, seq_unordered = 0, falsely = 0, split = 0;
    int not_converged = 0, undetected = 0;
    fault_counts c;
    double virtual_s = 0;
    for (auto const& r : runs) {
        if (!r.ok()) {
            ++failed;
            std::printf("seed %llu failed: %s\n  replay: %s\n",
                        static_cast<unsigned long long>(r.seed), r.failure.c_str(),
                        replay_command(program, {r.seed, r.nodes, r.faults, nullptr}).c_str());
        }
        if (r.convergence_s)
            convergence.push_back(*r.convergence_s);
        else
            ++not_converged;
        detection.insert(detection.end(), r.detection_s.begin(), r.detection_s.end());
        undetected += r.undetected;
        sent += r.messages_sent;
        expected += r.deliveries.expected;
        lost += r.deliveries.lost;
        lossy += r.deliveries.lost > 0;
        lamport += r.deliveries.lamport_inversions;
        unordered += r.deliveries.lamport_inversions > 0;
        seq += r.deliveries.seq_inversions;
        seq_unordered += r.deliveries.seq_inversions > 0;
        false_removals += r.false_removals;
        falsely += r.false_removals > 0;
        split += r.components > 1;
        bytes += r.bytes;
        frames += r.frames;
        frames_lost += r.frames_lost;
        events += r.events;
        virtual_s += r.end_s;
        c.resets += r.counts.resets;
        c.pauses += r.counts.pauses;
        c.partitions += r.counts.partitions;
        c.one_way += r.counts.one_way;
        c.crashes += r.counts.crashes;
        c.restarts += r.counts.restarts;
        c.leaves += r.counts.leaves;
        c.stops += r.counts.stops;
    }
    // A few seeds of each measured effect, to replay with --seed S --trace.
    auto examples = [&](char const* what, auto has) {
        std::string seeds;
        int shown = 0;
        for (auto const& r : runs)
            if (has(r) && shown++ < 8) seeds += " " + std::to_string(r.seed);
        if (shown)
            std::printf("  seeds with %s:%s%s\n", what, seeds.c_str(), shown > 8 ? " ..." : "");
    };
    auto const n = static_cast<double>(runs.size());
    std::printf("%zu runs (%s faults, %d nodes), %d failed, %.1f s wall (%.1f ms per run)\n",
                runs.size(), std::string(to_string(base.faults)).c_str(), base.nodes, failed,
                wall_s, 1000 * wall_s / n);
    std::printf(
        "convergence after faults stop: p50 %.2f s, p99 %.2f s, max %.2f s (bound %lld s); "
        "not within the bound: %d runs\n",
        percentile(convergence, 0.5), percentile(convergence, 0.99),
        convergence.empty() ? 0.0 : *std::max_element(convergence.begin(), convergence.end()),
        static_cast<long long>(convergence_bound.count() / 1'000'000), not_converged);
    std::printf("halves not re-merged: %d runs\n", split);
    std::printf(
        "messages: %llu sent; %llu (message, node) deliveries expected, %llu lost (%.3f%%), in "
        "%d runs\n",
        static_cast<unsigned long long>(sent), static_cast<unsigned long long>(expected),
        static_cast<unsigned long long>(lost),
        expected ? 100.0 * static_cast<double>(lost) / static_cast<double>(expected) : 0.0, lossy);
    std::printf(
        "order: %llu pairs shown out of (Lamport, origin) order (%d runs); %llu shown out of "
        "their origin's seq order (%d runs)\n",
        static_cast<unsigned long long>(lamport), unordered, static_cast<unsigned long long>(seq),
        seq_unordered);
    std::printf(
        "failure detection, crash -> removed everywhere: %zu crashes, p50 %.2f s, p99 %.2f s, "
        "max %.2f s; never removed: %d\n",
        detection.size(), percentile(detection, 0.5), percentile(detection, 0.99),
        detection.empty() ? 0.0 : *std::max_element(detection.begin(), detection.end()),
        undetected);
    std::printf("false removals: %llu (in %d runs)\n",
                static_cast<unsigned long long>(false_removals), falsely);
    examples("messages lost", [](run_result const& r) { return r.deliveries.lost > 0; });
    examples("seq-order inversions",
             [](run_result const& r) { return r.deliveries.seq_inversions > 0; });
    examples("false removals", [](run_result const& r) { return r.false_removals > 0; });
    examples("halves not re-merged", [](run_result const& r) { return r.components > 1; });
    examples("no convergence within the bound",
             [](run_result const& r) { return !r.convergence_s; });
    std::printf(
        "faults: %d resets, %d pauses, %d partitions (%d one-way), %d crashes, %d restarts, %d "
        "leaves, %d stops\n",
        c.resets, c.pauses, c.partitions, c.one_way, c.crashes, c.restarts, c.leaves, c.stops);
    std::printf(
        "per run: %.0f frames, %.0f bytes, %.1f frames lost in flight, %.0f events, %.1f "
        "virtual s\n",
        static_cast<double>(frames) / n, static_cast<double>(bytes) / n,
        static_cast<double>(frames_lost) / n, static_cast<double>(events) / n, virtual_s / n);
}

int run_seeds(scenario_config const& base, std::uint64_t first, std::uint64_t count, int jobs,
              std::string_view program) {
    std::vector<run_result> runs(count);
    std::atomic<std::uint64_t> next{0};
    auto const started = std::chrono::steady_clock::now();
    auto worker = [&] {
        for (;;) {
            auto const i = next.fetch_add(1);
            if (i >= count) return;
            scenario_config config = base;
            config.seed = first + i;
            runs[i] = run_scenario(config);
        }
    };
    std::vector<std::thread> threads;
    for (int j = 1; j < jobs; ++j) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    double const wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    print_aggregate(runs, base, wall, program);
    return std::all_of(runs.begin(), runs.end(), [](auto const& r) { return r.ok(); }) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description options("Usage: p2pchat-sim [options]\n\nOptions");
    // clang-format off
    options.add_options()
        ("help,h", "show this help")
        ("seed", po::value<std::uint64_t>(), "run one seed and print its figures")
        ("seeds", po::value<std::uint64_t>(), "run this many seeds (from --first-seed) and print the aggregate")
        ("first-seed", po::value<std::uint64_t>()->default_value(1), "the first of --seeds")
        ("nodes", po::value<int>()->default_value(20), "nodes per run")
        ("faults", po::value<std::string>()->default_value("mixed"), "mixed, long or none")
        ("trace", "print every input and effect of the run (with --seed)")
        ("jobs,j", po::value<int>()->default_value(1), "runs in parallel (with --seeds)")
        ("scale", po::value<int>(), "N nodes join through random members: time, bytes, memory")
        ("join-interval", po::value<int>()->default_value(100), "ms between two starts (with --scale, --curve)")
        ("curve", po::value<std::string>(), "the full mesh's growth curve at these sizes, e.g. 50,100,200");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
    } catch (std::exception const& e) {
        std::fprintf(stderr, "p2pchat-sim: %s\n", e.what());
        return 64;
    }
    if (vm.count("help")) {
        std::cout << options << '\n';
        return 0;
    }
    std::string_view const program = argv[0];

    sim_time const interval = std::chrono::milliseconds(vm["join-interval"].as<int>());
    if (vm.count("scale")) {
        print_scale(run_scale(vm["scale"].as<int>(), interval));
        return 0;
    }
    if (vm.count("curve")) {
        std::vector<int> sizes;
        std::stringstream in(vm["curve"].as<std::string>());
        for (std::string item; std::getline(in, item, ',');) sizes.push_back(std::stoi(item));
        print_curve(sizes, interval);
        return 0;
    }

    scenario_config base;
    base.nodes = vm["nodes"].as<int>();
    auto const faults = vm["faults"].as<std::string>();
    if (faults == "mixed")
        base.faults = fault_class::mixed;
    else if (faults == "long")
        base.faults = fault_class::long_faults;
    else if (faults == "none")
        base.faults = fault_class::none;
    else {
        std::fprintf(stderr, "p2pchat-sim: --faults is mixed, long or none\n");
        return 64;
    }
    if (base.nodes < 2) {
        std::fprintf(stderr, "p2pchat-sim: --nodes is at least 2\n");
        return 64;
    }

    if (vm.count("seed")) {
        base.seed = vm["seed"].as<std::uint64_t>();
        if (vm.count("trace")) base.trace_out = &std::cout;
        auto const r = run_scenario(base);
        std::cout.flush();
        print_run(r);
        if (!r.ok()) {
            std::printf("seed %llu failed: %s\n  replay: %s\n",
                        static_cast<unsigned long long>(r.seed), r.failure.c_str(),
                        replay_command(program, base).c_str());
            return 1;
        }
        return 0;
    }
    auto const count = vm.count("seeds") ? vm["seeds"].as<std::uint64_t>() : 200;
    return run_seeds(base, vm["first-seed"].as<std::uint64_t>(), count,
                     std::max(1, vm["jobs"].as<int>()), program);
}
