#include "tests/sim/scenario.hpp"

#include <algorithm>

namespace p2pchat::sim {

namespace {

sim_time uniform(rng& r, sim_time lo, sim_time hi) {
    return sim_time(r.between(lo.count(), hi.count()));
}

sim_time exponential(rng& r, sim_time mean) {
    return sim_time(static_cast<std::int64_t>(r.exponential(static_cast<double>(mean.count()))));
}

constexpr sim_time check_every = 250ms;

}  // namespace

std::string_view to_string(fault_class c) {
    switch (c) {
        case fault_class::none:
            return "none";
        case fault_class::mixed:
            return "mixed";
        case fault_class::long_faults:
            return "long";
    }
    return "mixed";
}

simulation::simulation(world_config const& config) : world_(config) { monitor(check_every); }

void simulation::monitor(sim_time every) {
    world_.queue().after(every, [this, every] {
        world_.record().poll(world_.now());
        monitor(every);
    });
}

void simulation::run_until(sim_time t) { world_.queue().run_until(t); }

int simulation::random_node(bool members_only) {
    std::vector<int> candidates;
    if (members_only) {
        candidates = world_.live_members();
    } else {
        for (int i = 0; i < world_.size(); ++i)
            if (world_.node(i).up()) candidates.push_back(i);
    }
    return candidates.empty() ? -1 : world_.random().pick(candidates);
}

void simulation::start(int n, sim_time at, std::vector<int> contacts) {
    world_.queue().at(at, [this, n, contacts = std::move(contacts)] {
        std::string text = "start n" + std::to_string(n);
        for (std::size_t i = 0; i < contacts.size(); ++i)
            text += (i ? ", n" : " joining through n") + std::to_string(contacts[i]);
        world_.note(text);
        world_.node(n).boot(world_.node(n).spec().identity(), contacts, false);
    });
}

void simulation::chat(sim_time from, sim_time to, double rate) {
    auto const at = from + exponential(world_.random(), sim_time(std::int64_t(1e6 / rate)));
    if (at > to) return;
    world_.queue().at(at, [this, to, rate] {
        int const n = random_node(true);
        if (n >= 0) {
            // Texts of 1 to 200 bytes, like a chat's.
            auto const length = static_cast<std::size_t>(world_.random().between(1, 200));
            std::string text = "m" + std::to_string(world_.queue().executed()) + " ";
            text.resize(std::max(text.size(), length), 'x');
            world_.node(n).send(std::move(text));
        }
        chat(world_.now(), to, rate);
    });
}

void simulation::renames(sim_time from, sim_time to, double rate) {
    auto const at = from + exponential(world_.random(), sim_time(std::int64_t(1e6 / rate)));
    if (at > to) return;
    world_.queue().at(at, [this, to, rate] {
        int const n = random_node(true);
        if (n >= 0)
            world_.node(n).rename(world_.node(n).spec().name + "-" +
                                  std::to_string(world_.random().below(1000)));
        renames(world_.now(), to, rate);
    });
}

void simulation::crash(sim_time at, std::optional<sim_time> restart_after, int n) {
    world_.queue().at(at, [this, restart_after, n]() mutable {
        if (n < 0) n = random_node(false);
        if (n < 0 || !world_.node(n).up()) return;
        ++counts_.crashes;
        world_.note("fault: crash n" + std::to_string(n) +
                    (restart_after
                         ? ", restart in " + std::to_string(seconds(*restart_after)) + " s"
                         : ", for good"));
        world_.node(n).crash();
        if (restart_after)
            restart(n, world_.now() + *restart_after);
        else
            world_.record().watch_crash(n, world_.now());
    });
}

void simulation::restart(int n, sim_time at) {
    world_.queue().at(at, [this, n] {
        if (world_.node(n).up()) return;
        ++counts_.restarts;
        world_.note("restart n" + std::to_string(n));
        world_.node(n).boot(world_.node(n).spec().identity(), {}, true);
    });
}

void simulation::pause(sim_time at, sim_time duration, int n) {
    world_.queue().at(at, [this, duration, n]() mutable {
        if (n < 0) n = random_node(false);
        if (n < 0 || world_.node(n).paused()) return;
        ++counts_.pauses;
        world_.note("fault: pause n" + std::to_string(n) + " for " +
                    std::to_string(seconds(duration)) + " s");
        world_.node(n).pause();
        auto const generation = world_.node(n).generation();
        world_.queue().after(duration, [this, n, generation] {
            if (world_.node(n).generation() != generation) return;
            world_.note("resume n" + std::to_string(n));
            world_.node(n).resume();
        });
    });
}

void simulation::cut(sim_time at, sim_time duration, partition p) {
    world_.queue().at(at, [this, duration, p = std::move(p)]() mutable {
        ++counts_.partitions;
        if (p.one_way) ++counts_.one_way;
        std::string text = "fault: partition (";
        text += p.mode == cut_mode::drop ? "drop" : "reject";
        text += p.one_way ? ", one-way " + std::to_string(p.from_group) + "->" +
                                std::to_string(p.to_group)
                          : "";
        text += ") for " + std::to_string(seconds(duration)) + " s, groups";
        for (std::size_t i = 0; i < p.group.size(); ++i) text += " " + std::to_string(p.group[i]);
        world_.note(text);
        world_.net().cut(std::move(p));
        world_.queue().after(duration, [this] {
            world_.note("heal");
            world_.net().heal();
        });
    });
}

void simulation::reset(sim_time at, bool whole_node) {
    world_.queue().at(at, [this, whole_node] {
        auto const open = world_.net().open_connections();
        if (open.empty()) return;
        if (!whole_node) {
            auto const c = world_.random().pick(open);
            ++counts_.resets;
            world_.note("fault: reset c" + std::to_string(c));
            world_.net().reset(c);
            return;
        }
        int const n = random_node(false);
        if (n < 0) return;
        world_.note("fault: reset every connection of n" + std::to_string(n));
        for (auto const c : open)
            if (world_.net().node_at(c, 0) == n || world_.net().node_at(c, 1) == n) {
                ++counts_.resets;
                world_.net().reset(c);
            }
    });
}

void simulation::leave(sim_time at, bool stop, std::optional<sim_time> back_after, int n) {
    world_.queue().at(at, [this, stop, back_after, n]() mutable {
        if (n < 0) {
            // Not a node that somebody is joining through right now: its join frame would
            // reach a node that left, which takes it as a new network of two (as documented).
            std::vector<int> candidates;
            for (int m : world_.live_members()) {
                bool contact = false;
                for (int j = 0; j < world_.size(); ++j)
                    contact = contact || world_.node(j).join_contact() == m;
                if (!contact) candidates.push_back(m);
            }
            if (candidates.empty()) return;
            n = world_.random().pick(candidates);
        }
        if (!world_.node(n).member()) return;
        world_.note(std::string(stop ? "stop n" : "leave n") + std::to_string(n));
        if (stop) {
            ++counts_.stops;
            world_.node(n).terminate();
            if (back_after) restart(n, world_.now() + *back_after);
            return;
        }
        ++counts_.leaves;
        world_.node(n).leave();
        if (back_after)
            world_.queue().after(*back_after, [this, n] {
                world_.note("rejoin n" + std::to_string(n));
                world_.node(n).rejoin();
            });
    });
}

std::optional<sim_time> simulation::converge(sim_time faults_stop) {
    std::optional<sim_time> since;
    sim_time const end = faults_stop + convergence_bound + convergence_hold;
    for (sim_time t = faults_stop; t <= end; t += check_every) {
        run_until(t);
        if (membership_difference(world_).empty()) {
            if (!since) since = t;
        } else {
            since.reset();
        }
    }
    if (since && *since <= faults_stop + convergence_bound) return since;
    return std::nullopt;
}

partition random_partition(rng& random, int nodes) {
    partition p;
    p.group.assign(static_cast<std::size_t>(nodes), 0);
    if (random.chance(0.3)) {
        p.group[random.below(static_cast<std::uint64_t>(nodes))] = 1;  // one node cut off
    } else {
        int const groups = random.chance(0.7) ? 2 : 3;
        for (auto& g : p.group)
            g = static_cast<int>(random.below(static_cast<std::uint64_t>(groups)));
    }
    p.mode = random.chance(0.6) ? cut_mode::drop : cut_mode::reject;
    if (random.chance(0.3)) {
        p.one_way = true;
        p.from_group = random.chance(0.5) ? 0 : 1;
        p.to_group = 1 - p.from_group;
    }
    return p;
}

run_result run_scenario(scenario_config const& config) {
    world_config wc;
    wc.seed = config.seed;
    wc.nodes = config.nodes;
    wc.trace_out = config.trace_out;
    simulation sim(wc);
    rng& r = sim.w().random();

    // Formation: node 0 founds the network; each next node starts a moment later (a quarter
    // of them at the same instant as the one before) and joins through one or two random
    // earlier nodes, which may still be joining themselves.
    sim_time t{0};
    sim.start(0, t, {});
    for (int k = 1; k < config.nodes; ++k) {
        if (!r.chance(0.25)) t += exponential(r, 500ms);
        std::vector<int> contacts{static_cast<int>(r.below(static_cast<std::uint64_t>(k)))};
        if (k > 1 && r.chance(0.3)) {
            int const second = static_cast<int>(r.below(static_cast<std::uint64_t>(k)));
            if (second != contacts[0]) contacts.push_back(second);
        }
        sim.start(k, t, std::move(contacts));
    }
    sim_time const formed = t + 10s;
    sim_time faults_stop = formed;

    switch (config.faults) {
        case fault_class::none:
            faults_stop = formed + 20s;
            break;
        case fault_class::mixed: {
            sim_time const from = formed;
            faults_stop = from + 60s;
            sim.renames(5s, faults_stop, 0.05);
            for (auto n = r.below(3); n > 0; --n) {
                bool const stop = r.chance(0.5);
                std::optional<sim_time> back;
                if (r.chance(0.7)) back = uniform(r, 3s, 20s);
                sim.leave(uniform(r, from, faults_stop - 25s), stop, back);
            }
            for (auto n = r.below(6); n > 0; --n)
                sim.reset(uniform(r, from, faults_stop), r.chance(0.2));
            // Partitions and pauses, one per 20 s slot at most, 10 s at most each: a link
            // they break is back within 10 s of the heal (5 s connect timeout + 5 s backoff),
            // so none stays down near the 30 s peer timeout.
            for (int slot = 0; slot < 3; ++slot) {
                if (!r.chance(0.8)) continue;
                sim_time const at = from + slot * 20s + uniform(r, 0s, 5s);
                if (r.chance(0.6))
                    sim.cut(at, uniform(r, 1s, 10s), random_partition(r, config.nodes));
                else
                    sim.pause(at, uniform(r, 200ms, 8s));
            }
            for (auto n = r.below(3); n > 0; --n) {
                sim_time const at = uniform(r, from, faults_stop - 1s);
                std::optional<sim_time> restart;
                if (r.chance(0.75)) restart = std::min(uniform(r, 500ms, 40s), faults_stop - at);
                sim.crash(at, restart);
            }
            break;
        }
        case fault_class::long_faults: {
            sim_time const from = formed;
            sim_time length{0};
            if (r.chance(0.6)) {
                // Up to twice the redial window (120 s): the longer half heals only through
                // the reconnect (docs/STORAGE.md, "Reconnecting").
                length = uniform(r, 35s, 240s);
                sim.cut(from, length, random_partition(r, config.nodes));
            } else {
                length = uniform(r, 35s, 60s);
                sim.pause(from, length);
            }
            for (auto n = r.below(4); n > 0; --n) sim.reset(uniform(r, from, from + length), false);
            faults_stop = from + length + 1s;
            break;
        }
    }
    sim.chat(1s, faults_stop + 10s, 1.0);

    auto const converged = sim.converge(faults_stop);
    world& w = sim.w();

    run_result out;
    out.seed = config.seed;
    out.nodes = config.nodes;
    out.faults = config.faults;
    out.faults_stop_s = seconds(faults_stop);
    out.end_s = seconds(w.now());
    if (converged) out.convergence_s = seconds(*converged - faults_stop);
    out.components = membership_components(w);
    out.messages_sent = w.record().messages().size();
    out.deliveries = measure_deliveries(w);
    out.false_removals = w.record().false_removals();
    out.notes = w.record().notes();
    for (auto const& c : w.record().crashes()) {
        if (c.removed_everywhere)
            out.detection_s.push_back(seconds(*c.removed_everywhere - c.at));
        else if (!w.node(c.node).up())
            ++out.undetected;
    }
    for (int n = 0; n < w.size(); ++n) {
        out.bytes += w.node(n).sent().bytes;
        out.frames += w.node(n).sent().frames;
    }
    out.frames_lost = w.net().frames_lost();
    out.events = w.queue().executed();
    out.counts = sim.counts();
    out.trace_hash = w.log().hash();
    out.trace_lines = w.log().lines();

    if (!w.record().failures().empty()) {
        out.failure = w.record().failures().front();
    } else if (out.deliveries.lost > 0) {
        // Every live member holds every message sent since it first joined: sync repairs
        // whatever the faults cut, and the store keeps it over restarts.
        out.failure = "lost: " + std::to_string(out.deliveries.lost) + " (message, node) pairs; " +
                      out.deliveries.lost_examples.front();
    } else if (!converged) {
        auto why = membership_difference(w);
        out.failure = "convergence: membership did not converge within " +
                      std::to_string(convergence_bound.count() / 1'000'000) +
                      " s after faults stopped (at " + std::to_string(out.faults_stop_s) + " s)" +
                      (why.empty() ? std::string(": it flapped") : ": " + why);
    }
    return out;
}

std::string replay_command(std::string_view program, scenario_config const& config) {
    return std::string(program) + " --seed " + std::to_string(config.seed) + " --nodes " +
           std::to_string(config.nodes) + " --faults " + std::string(to_string(config.faults)) +
           " --trace";
}

}  // namespace p2pchat::sim
